"""The pieces of a generated training script, each the plain-PyTorch code of one mnistlab setting.

Each function returns Python source for the one choice a config made (its init, loss, schedule, subset draw…),
so the script holds only the code its run uses. They mirror `models.torch_mlp`, `train.losses`,
`train.schedule` and `data.split`; tests/test_export.py checks that the script trains the same network.
"""

from __future__ import annotations

from textwrap import dedent, indent

from mnistlab.models.spec import MLPSpec
from mnistlab.train.config import TrainConfig
from mnistlab.train.schedule import ONECYCLE_DIV, ONECYCLE_FINAL_DIV, ONECYCLE_WARMUP

ACTIVATIONS = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "gelu": "nn.GELU()"}
NORMS = {"layer": "nn.LayerNorm", "batch": "nn.BatchNorm1d"}
INITS = {  # MLPSpec.init → (what it is, the weight initialiser), as `models.torch_mlp._initialise` does it
    "glorot_uniform": ("Glorot-uniform weights and zero biases (Keras's default)", "nn.init.xavier_uniform_(m.weight)"),
    "he_normal": ("He-normal weights (for ReLU) and zero biases",
                  'nn.init.kaiming_normal_(m.weight, nonlinearity="relu")'),
    "he_uniform": ("He-uniform weights (for ReLU) and zero biases",
                   'nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")'),
}
OUTPUT_CODE = {"none": "logits", "sigmoid": "torch.sigmoid(logits)", "softmax": "torch.softmax(logits, dim=1)"}


def code(text: str) -> str:
    """Dedented source without its first and last blank lines."""
    return dedent(text).strip("\n")


def layers(spec: MLPSpec) -> list[str]:
    """The `nn.Sequential` lines, in `MLP`'s order (so the state dict's names are mnistlab's)."""
    lines = [f"nn.Dropout({spec.input_dropout!r}),  # on the input pixels"] if spec.input_dropout > 0 else []
    sizes = spec.sizes
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1])):
        lines.append(f"nn.Linear({fan_in}, {fan_out}),  # hidden layer {i + 1}")
        norm = f"{NORMS[spec.norm]}({fan_out})," if spec.norm in NORMS else ""
        if norm and spec.norm_where == "before":
            lines.append(norm)
        activation = f"nn.LeakyReLU({spec.leaky_slope!r})" if spec.activation == "leaky_relu" else ACTIVATIONS[spec.activation]
        lines.append(activation + ",")
        if norm and spec.norm_where == "after":
            lines.append(norm + "  # after the activation")
        if spec.dropout > 0 and (spec.dropout_where == "all" or i == 0):
            lines.append(f"nn.Dropout({spec.dropout!r}),")
    lines.append(f"nn.Linear({sizes[-2]}, {sizes[-1]}),  # the output layer: one unit per class")
    return lines


def model(spec: MLPSpec) -> str:
    """The `Net` class (and its init function when it is not PyTorch's default)."""
    arrow = " → ".join(map(str, spec.sizes))
    applied = f" (loss_fn applies the {spec.output} output)" if spec.output != "none" else ""
    body = ["super().__init__()"]
    if spec.scales_inputs:
        why = ("The training pixels' mean and std (set in main): inputs are standardised inside the model."
               if spec.input_scale == "standardize" else "Scale 1/255 (set in main): the net sees raw pixels 0 to 255.")
        body += [f"# {why}",
                 'self.register_buffer("pixel_mean", torch.tensor(0.0))',
                 'self.register_buffer("pixel_std", torch.tensor(1.0))']
    body += ["self.layers = nn.Sequential(", *("    " + line for line in layers(spec)), ")"]
    if spec.init != "torch":
        body.append("init_weights(self)")
    forward = ["x = x.reshape(len(x), -1)  # (B, 28, 28) → (B, 784)"]
    if spec.scales_inputs:
        forward.append("x = (x - self.pixel_mean) / self.pixel_std")
    forward.append(f"return self.layers(x)  # (B, {spec.outputs}) logits")
    net = "\n".join([
        "class Net(nn.Module):",
        f'    """{arrow} perceptron ({spec.activation}); forward returns the logits{applied}."""',
        "", "    def __init__(self):", *("        " + line for line in body),
        "", "    def forward(self, x):", *("        " + line for line in forward)])
    if spec.init == "torch":
        return net
    what, initialiser = INITS[spec.init]
    return code(f'''
        def init_weights(model):
            """{what}: mnistlab's "{spec.init}" init."""
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    {initialiser}
                    nn.init.zeros_(m.bias)
        ''') + "\n\n\n" + net


def loss(config: TrainConfig) -> str:
    """`loss_fn(logits, labels, smoothing)` as `train.losses.compute_loss` computes the config's loss."""
    output = config.model.output
    one_hot = code('''
        def one_hot(labels, smoothing):
            """(B,) labels → (B, classes) targets, smoothed towards uniform by `smoothing`."""
            target = F.one_hot(labels, len(CLASSES)).float()
            return target * (1 - smoothing) + smoothing / len(CLASSES)
        ''') + "\n\n\n"
    if config.loss == "ce" and output != "sigmoid":
        return code('''
            def loss_fn(logits, labels, smoothing=LABEL_SMOOTHING):
                """Softmax cross-entropy on the logits (with a softmax output: Keras's categorical cross-entropy)."""
                return F.cross_entropy(logits, labels, label_smoothing=smoothing)
            ''')
    if config.loss == "ce":
        return one_hot + code('''
            def loss_fn(logits, labels, smoothing=LABEL_SMOOTHING):
                """Cross-entropy of the sigmoid outputs normalised to sum to 1 (mnistlab's ce with a sigmoid output)."""
                probs = torch.sigmoid(logits)
                log_probs = torch.log((probs / probs.sum(1, keepdim=True)).clamp_min(1e-12))
                return -(one_hot(labels, smoothing) * log_probs).sum(1).mean()
            ''')
    if config.loss == "mse":
        return one_hot + code(f'''
            def loss_fn(logits, labels, smoothing=LABEL_SMOOTHING):
                """Mean squared error between the outputs ({output} output activation) and one-hot targets."""
                return F.mse_loss({OUTPUT_CODE[output]}, one_hot(labels, smoothing))
            ''')
    if output == "softmax":
        return one_hot + code('''
            def loss_fn(logits, labels, smoothing=LABEL_SMOOTHING):
                """Binary cross-entropy of the softmax outputs against one-hot targets."""
                probs = torch.softmax(logits, dim=1).clamp(1e-7, 1 - 1e-7)
                return F.binary_cross_entropy(probs, one_hot(labels, smoothing))
            ''')
    return one_hot + code('''
        def loss_fn(logits, labels, smoothing=LABEL_SMOOTHING):
            """Binary cross-entropy of sigmoid(logits) against one-hot targets."""
            return F.binary_cross_entropy_with_logits(logits, one_hot(labels, smoothing))
        ''')


def optimizer(config: TrainConfig) -> str:
    """The line that makes the config's optimizer (as `train.torch_engine.make_optimizer`)."""
    name, extra = {"sgd": ("SGD", ""), "momentum": ("SGD", ", momentum=MOMENTUM"),
                   "adam": ("Adam", ""), "adamw": ("AdamW", "")}[config.optimizer]
    decay = {"adamw": "# AdamW decays the weights directly (decoupled weight decay)\n"}.get(
        config.optimizer, "# weight decay adds WEIGHT_DECAY × w to each gradient (L2)\n" if config.weight_decay else "")
    return f"{decay}optimizer = torch.optim.{name}(model.parameters(), lr=LR{extra}, weight_decay=WEIGHT_DECAY)"


WARMUP = code('''
    def lr_at(step, total_steps, steps_per_epoch):
        """The learning rate of optimizer step `step` (from 0): RATE, times (step + 1) / W over the
        first W steps (the warm-up of WARMUP_EPOCHS epochs), so it climbs linearly from almost 0."""
        rate = SCHEDULED
        warm = max(1, round(WARMUP_EPOCHS * steps_per_epoch))
        return rate * ((step + 1) / warm) if step < warm else rate
    ''')


def schedule(config: TrainConfig) -> str:
    """`lr_at(step, total_steps, steps_per_epoch)` as `train.schedule.lr_at` computes it ('' for none)."""
    if not config.warmup_epochs:
        return _schedule(config, "lr_at")
    if config.schedule == "none":
        return WARMUP.replace("RATE", "LR").replace("SCHEDULED", "LR")
    return (_schedule(config, "scheduled_lr") + "\n\n\n"
            + WARMUP.replace("RATE", "the schedule's rate").replace("SCHEDULED",
                                                                    "scheduled_lr(step, total_steps, steps_per_epoch)"))


def _schedule(config: TrainConfig, name: str) -> str:
    """The schedule alone as a function `name` ('' for none)."""
    if config.schedule == "none":
        return ""
    head = f'def {name}(step, total_steps, steps_per_epoch):\n    """The learning rate of optimizer step `step` (from 0): '
    if config.schedule == "step":
        return head + code('''
            LR, times STEP_GAMMA every STEP_EPOCHS epochs."""
                return LR * STEP_GAMMA ** (step // steps_per_epoch // STEP_EPOCHS)
            ''')
    if config.schedule == "cosine":
        return head + code('''
            from LR down to 0 along a cosine."""
                return LR * 0.5 * (1 + math.cos(math.pi * min(step / max(total_steps, 1), 1.0)))
            ''')
    warm, rest = ONECYCLE_WARMUP, 1 - ONECYCLE_WARMUP
    return head + code(f'''
        one cycle, as torch's OneCycleLR.

            Up from LR / {ONECYCLE_DIV:g} to LR over the first {warm:.0%} of the steps, then down to LR / {ONECYCLE_DIV:g} / {ONECYCLE_FINAL_DIV:g}.
            """
            progress = min(step / max(total_steps, 1), 1.0)
            start, end = LR / {ONECYCLE_DIV!r}, LR / {ONECYCLE_DIV!r} / {ONECYCLE_FINAL_DIV!r}
            if progress < {warm!r}:
                return cosine(start, LR, progress / {warm!r})
            return cosine(LR, end, (progress - {warm!r}) / {rest!r})


        def cosine(start, end, t):
            """Cosine interpolation from `start` (t = 0) to `end` (t = 1)."""
            return end + (start - end) * 0.5 * (1 + math.cos(math.pi * t))
        ''')


MIXUP = code('''
    def mixup_shares(steps, gen):
        """One epoch's mixup shares, one per step, ~ Beta(MIXUP, MIXUP), from a seed drawn from `gen` (as mnistlab)."""
        seed = int(torch.randint(0, 2**62, (1,), device=gen.device, generator=gen).item())
        shares = np.random.default_rng(seed).beta(MIXUP, MIXUP, size=steps)
        return torch.from_numpy(shares).to(gen.device, torch.float32)
    ''')


VAT = code('''
    def unit_per_image(d):
        """Each image's tensor scaled to L2 length 1."""
        return d / d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (d.dim() - 1)))


    def kl(p_logits, q_logits):
        """Mean KL(softmax(p) ‖ softmax(q)) over the batch, p held fixed."""
        p_log = F.log_softmax(p_logits.detach(), dim=1)
        return (p_log.exp() * (p_log - F.log_softmax(q_logits, dim=1))).sum(1).mean()


    def vat_penalty(model, x, logits, gen):
        """Virtual adversarial training (Miyato et al.): KL(p(x) ‖ p(x + r)) for the push r of L2 length
        ADVERSARIAL_EPS that changes the prediction most, found by one power iteration from a random probe."""
        d = torch.randn(x.shape, device=x.device, generator=gen, dtype=x.dtype)
        d = (VAT_XI * unit_per_image(d)).requires_grad_(True)
        (grad,) = torch.autograd.grad(kl(logits, model(x + d)), d)
        return kl(logits, model(x + ADVERSARIAL_EPS * unit_per_image(grad.detach())))
    ''')


def subset(mode: str) -> str:
    """`subset(images, labels, size, seed)`: mnistlab's draw of a training subset in `mode` (`Split.subset`)."""
    how = {"first": "The first n training images", "random": "A random draw of n training images",
           "stratified": "n training images, each class drawn in proportion",
           "sklearn": "scikit-learn's train_test_split(random_state=seed) train part: the last n of a shuffle"}
    head = code(f'''
        def subset(images, labels, size, seed):
            """{how[mode]}; `size` is a count, or a share if a float up to 1."""
            n = max(1, round(len(labels) * size)) if isinstance(size, float) and size <= 1 else int(size)
            if n >= len(labels):
                return images, labels
        ''')
    if mode == "first":
        return head + "\n    return images[:n], labels[:n]"
    if mode == "sklearn":
        return head + "\n" + indent(code('''
            index = torch.from_numpy(np.random.RandomState(seed).permutation(len(labels))[len(labels) - n:])
            return images[index], labels[index]  # in the shuffled order, as scikit-learn returns them
            '''), "    ")
    if mode == "random":
        return head + "\n" + indent(code('''
            index = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:n].sort().values
            return images[index], labels[index]
            '''), "    ")
    return head + "\n" + indent(code('''
        gen = torch.Generator().manual_seed(seed)
        counts = torch.bincount(labels, minlength=len(CLASSES)).double()
        shares = counts * n / len(labels)
        quota = shares.floor()  # then one more for the classes with the largest remainders, to total n
        quota[torch.argsort(shares - quota, descending=True)[: n - int(quota.sum())]] += 1
        picks = []
        for c in range(len(CLASSES)):
            members = torch.nonzero(labels == c).flatten()
            picks.append(members[torch.randperm(len(members), generator=gen)[: int(quota[c])]])
        index = torch.cat(picks).sort().values
        return images[index], labels[index]
        '''), "    ")


def validation(mode: str) -> str:
    """`split_off(images, labels, fraction, seed)`: mnistlab's validation split (`Split.split_off`)."""
    if mode == "last":
        return code('''
            def split_off(images, labels, fraction, seed):
                """((train images, labels), (validation images, labels)): the last `fraction`, as Keras does."""
                n_val = max(1, round(len(labels) * fraction))
                return (images[:-n_val], labels[:-n_val]), (images[-n_val:], labels[-n_val:])
            ''')
    return code('''
        def split_off(images, labels, fraction, seed):
            """((train images, labels), (validation images, labels)): `fraction` of them drawn at random."""
            n_val = max(1, round(len(labels) * fraction))
            order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
            val, train = order[:n_val].sort().values, order[n_val:].sort().values
            return (images[train], labels[train]), (images[val], labels[val])
        ''')
