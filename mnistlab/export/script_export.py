"""A run as one readable plain-PyTorch script (torch and torchvision only) that trains its network again.

In the style of pytorch/examples' mnist/main.py: settings at the top, `Net`, `train()`, `test()`, `main()`, the
device chosen in one place. The data lives on the device and batches are cut by index, as mnistlab trains.
"""

from __future__ import annotations

import ast
import json
import re
from textwrap import fill, indent

from mnistlab.data.datasets import DATASETS
from mnistlab.export import script_data, script_parts
from mnistlab.export.script_parts import code
from mnistlab.runs.handle import Run
from mnistlab.train.adversarial import FGSM_SHARE, VAT_XI
from mnistlab.train.config import TrainConfig


def literal(text: str) -> str:
    """`text` as a double-quoted Python string literal (ruff's quote style), else its repr."""
    quoted = json.dumps(text, ensure_ascii=False)
    try:
        return quoted if ast.literal_eval(quoted) == text else repr(text)
    except (SyntaxError, ValueError):
        return repr(text)


def _list(name: str, items: list[str], width: int = 100) -> str:
    """`NAME = [...]`, wrapped at `width` characters."""
    rows, row = [], ""
    for item in map(literal, items):
        if row and len(row) + len(item) + 2 > width:
            rows.append(row.rstrip())
            row = ""
        row += item + ", "
    rows.append(row.rstrip())
    if len(rows) == 1 and len(name) + len(rows[0]) < width:
        return f"{name} = [{rows[0].rstrip(',')}]"
    return f"{name} = [\n" + "\n".join("    " + r for r in rows) + "\n]"


def settings(config: TrainConfig, classes: tuple[str, ...]) -> str:
    """The run's settings as constants, each with its unit or meaning."""
    lines = ["# The run's settings, as its config.json has them.", f"DATASET = {literal(config.dataset)}",
             _list("CLASSES", list(classes)) + "  # output unit k is class k",
             f"EPOCHS = {config.epochs}  # passes over the training images",
             f"BATCH_SIZE = {config.batch_size}  # images per optimizer step",
             f"LR = {config.lr!r}  # {'peak ' if config.schedule not in ('none', 'step') or config.warmup_epochs else ''}"
             "learning rate"]
    if config.optimizer == "momentum":
        lines.append(f"MOMENTUM = {config.momentum!r}")
    lines.append(f"WEIGHT_DECAY = {config.weight_decay!r}")
    if config.max_norm:
        lines.append(f"MAX_NORM = {config.max_norm!r}  # after each step, every unit's incoming weights are cut back "
                     "to this length (L2) if longer")
    if config.schedule == "step":
        lines += [f"STEP_EPOCHS = {config.step_epochs}  # the learning rate drops every this many epochs",
                  f"STEP_GAMMA = {config.step_gamma!r}  # by this factor"]
    if config.warmup_epochs:
        lines.append(f"WARMUP_EPOCHS = {config.warmup_epochs!r}  # the learning rate climbs linearly from almost 0 "
                     "over this many epochs")
    if config.ema:
        lines.append(f"EMA = {config.ema!r}  # decay of the weights' moving average, which is tested and saved")
    if config.mixup:
        lines.append(f"MIXUP = {config.mixup!r}  # alpha of mixup: each batch blended with a shuffled copy, "
                     "share ~ Beta(alpha, alpha)")
    if config.adversarial == "fgsm":
        lines.append(f"ADVERSARIAL_EPS = {config.adversarial_eps!r}  # fgsm: every pixel pushed this far along the "
                     "sign of the loss gradient")
    elif config.adversarial == "vat":
        lines += [f"ADVERSARIAL_EPS = {config.adversarial_eps!r}  # vat: the L2 length of each image's push",
                  f"VAT_XI = {VAT_XI!r}  # vat: the L2 length of the probe that finds the push's direction"]
    lines += [f"LABEL_SMOOTHING = {config.label_smoothing!r}  # share of each target spread over all classes "
              "(0: plain one-hot)",
              f"SEED = {config.seed}  # the initial weights, the batch order and the subset draw",
              f"TRAIN_SUBSET = {config.train_subset!r}  # None: every training image; else a count or a share (0.25)"]
    if config.subset_seed is not None:
        lines.append(f"SUBSET_SEED = {config.subset_seed}  # the subset draw's own seed (the same for every --seed)")
    if config.val_split:
        lines.append(f"VAL_SPLIT = {config.val_split!r}  # share of the training images held out for validation "
                     f"({config.val_mode})")
    lines.append(f"TEST_SUBSET = {config.test_subset!r}  # None: every test image; else the first N")
    return "\n".join(lines)


def backward_lines(config: TrainConfig) -> str:
    """The forward and backward pass of one batch: the loss (mixup's two shares), adversarial copies' too."""
    def loss_of(logits: str) -> str:
        return (f"share * loss_fn({logits}, y) + (1 - share) * loss_fn({logits}, y[perm])" if config.mixup
                else f"loss_fn({logits}, y)")

    if config.adversarial == "fgsm":
        lines = ("x = x.detach().requires_grad_(True)  # fgsm needs the loss gradient at the pixels\n"
                 f"logits = model(x)\nloss = {loss_of('logits')}\noptimizer.zero_grad()\n"
                 f"(loss * {1 - FGSM_SHARE!r}).backward()\n"
                 "x_adv = (x + ADVERSARIAL_EPS * x.grad.sign()).detach()  # every pixel pushed the harmful way\n"
                 "logits_adv = model(x_adv)  # the pushed copy, scored on the same labels\n"
                 f"(({loss_of('logits_adv')}) * {FGSM_SHARE!r}).backward()\n")
    elif config.adversarial == "vat":
        lines = (f"logits = model(x)\nloss = {loss_of('logits')}\noptimizer.zero_grad()\n"
                 "(loss + vat_penalty(model, x, logits, gen)).backward()  # the prediction kept under a push\n")
    else:
        lines = f"logits = model(x)\nloss = {loss_of('logits')}\noptimizer.zero_grad()\nloss.backward()\n"
    if config.mixup:
        lines += "y = torch.where(share >= 0.5, y, y[perm])  # accuracy counts the larger share's label\n"
    return lines


def train_function(config: TrainConfig) -> str:
    """`train()`: one epoch of shuffled batches, the learning rate set per step when there is a schedule."""
    aug = config.augment
    epoch_data = ("# The originals plus one augmented copy of each.\n"
                  "images, labels = torch.cat([images, augment(images)]), torch.cat([labels, labels])\n"
                  ) if aug.concat_original else ""
    batch_aug = "x = augment(x)\n" if aug.active and not aug.concat_original else ""
    set_lr = ('for group in optimizer.param_groups:\n    group["lr"] = lr_at(step, total_steps, steps)\n'
              if config.schedule != "none" or config.warmup_epochs else "")
    mix = ("perm, share = torch.randperm(len(y), device=y.device, generator=gen), shares[i]\n"
           "x = share * x + (1 - share) * x[perm]  # mixup: a blend of two images, scored on both labels\n"
           ) if config.mixup else ""
    backward = backward_lines(config)
    after = ""
    if config.max_norm:
        after += ("with torch.no_grad():  # max-norm: each row of W (one unit's incoming weights) to length ≤ MAX_NORM\n"
                  "    for layer in model.layers:\n"
                  "        if isinstance(layer, nn.Linear):\n"
                  "            layer.weight.copy_(torch.renorm(layer.weight, 2, 0, MAX_NORM))\n")
    if config.ema:
        after += "ema.update_parameters(model)  # the moving average takes in the new weights\n"
    body = (f"model.train()\n{epoch_data}"
            + ("order = torch.randperm(len(labels), device=labels.device, generator=gen)\n" if config.shuffle else
               "order = torch.arange(len(labels), device=labels.device)  # the files' order, every epoch\n") +
            "steps = math.ceil(len(labels) / BATCH_SIZE)\n"
            + ("shares = mixup_shares(steps, gen)  # one blend share per step\n" if config.mixup else "") +
            "loss_sum = torch.zeros((), device=labels.device)  # sums stay on the device: no sync per step\n"
            "correct = torch.zeros((), dtype=torch.int64, device=labels.device)\n"
            "for i in range(steps):\n" + indent(
                f"{set_lr}idx = order[i * BATCH_SIZE:(i + 1) * BATCH_SIZE]\nx, y = images[idx], labels[idx]\n"
                f"{batch_aug}{mix}{backward}optimizer.step()\n{after}loss_sum += loss.detach() * len(y)\ncorrect += (logits.argmax(1) == y).sum()\n"
                "step += 1\n", "    ") +
            "return loss_sum.item() / len(labels), correct.item() / len(labels), step")
    ema = ", ema" if config.ema else ""
    return (f"def train(model, images, labels, optimizer, gen, step, total_steps{ema}):\n"
            '    """One epoch: shuffled batches, one optimizer step each; (mean loss, accuracy, next step)."""\n'
            + indent(body, "    "))


TEST = code('''
    @torch.no_grad()
    def test(model, images, labels):
        """(mean loss, accuracy) on a split in eval mode (dropout off, batch norm's running statistics)."""
        model.eval()
        loss_sum, correct = 0.0, 0
        for x, y in zip(images.split(10_000), labels.split(10_000), strict=True):
            logits = model(x)
            loss_sum += loss_fn(logits, y, smoothing=0.0).item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        return loss_sum / len(labels), correct / len(labels)


    def count_or_share(text):
        """--subset: a count of images (1000) or a share of them (0.25)."""
        value = float(text)
        return int(value) if value > 1 else value
    ''')


ARGUMENTS = code('''
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="a folder with the four IDX files (raw or .gz), or with "
                        "DATASET/ holding them as mnistlab keeps them")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training images")
    parser.add_argument("--subset", type=count_or_share, default=TRAIN_SUBSET,
                        help="train on N images (or a share such as 0.25)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--save-model", metavar="PATH", help="save the trained weights (a state_dict) to PATH")
    args = parser.parse_args()

    # The one place the device is chosen: the data, the model and every batch live there.
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    torch.manual_seed(args.seed)

    train_images, train_labels, test_images, test_labels = load_data(args.data)
    if args.subset is not None:
        train_images, train_labels = subset(train_images, train_labels, args.subset, SUBSET_SEED_OR_SEED)
    ''')


def main_function(config: TrainConfig) -> str:
    """`main()`: arguments, the device, the data on it, the model, the optimizer and the epochs."""
    flat = ".flatten(1)" if not config.augment.active else ""  # mnistlab keeps (N, 784) unless it augments
    val = bool(config.val_split)
    lines = [ARGUMENTS.replace("SUBSET_SEED_OR_SEED", "args.seed" if config.subset_seed is None else "SUBSET_SEED")]
    if val:
        lines.append("(train_images, train_labels), (val_images, val_labels) = split_off(\n"
                     "    train_images, train_labels, VAL_SPLIT, args.seed)")
    lines += ["if TEST_SUBSET is not None:",
              "    test_images, test_labels = test_images[:TEST_SUBSET], test_labels[:TEST_SUBSET]",
              f"train_x, train_y = train_images.to(device).float().div(255){flat}, train_labels.to(device)  "
              "# pixels in [0, 1]"]
    if val:
        lines.append(f"val_x, val_y = val_images.to(device).float().div(255){flat}, val_labels.to(device)")
    lines += [f"test_x, test_y = test_images.to(device).float().div(255){flat}, test_labels.to(device)", "",
              "model = Net().to(device)"]
    if config.model.input_scale == "standardize":
        lines += ["model.pixel_mean.fill_(train_x.mean().item())",
                  "model.pixel_std.fill_(max(train_x.std().item(), 1e-6))"]
    elif config.model.input_scale == "raw":
        lines += ["model.pixel_std.fill_(1 / 255)  # the net sees raw pixel values 0 to 255"]
    copies = " * 2" if config.augment.concat_original else ""
    judged = "model"
    if config.ema:
        lines += ["# The weights' moving average (batch norm's statistics too): what is tested and saved.",
                  "ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(EMA), use_buffers=True)"]
        judged = "ema.module"
    lines += [script_parts.optimizer(config),
              "gen = torch.Generator(device=device).manual_seed(args.seed)  # the batch order",
              f"total_steps = math.ceil(len(train_y){copies} / BATCH_SIZE) * args.epochs",
              'parameters = sum(p.numel() for p in model.parameters())',
              'print(f"{parameters:,} parameters, {len(train_y):,} training images, on {device}")',
              "step = 0",
              "for epoch in range(1, args.epochs + 1):",
              "    loss, accuracy, step = train(model, train_x, train_y, optimizer, gen, step, total_steps"
              + (", ema)" if config.ema else ")")]
    if val:
        lines.append(f"    val_loss, val_accuracy = test({judged}, val_x, val_y)")
    lines += [f"    test_loss, test_accuracy = test({judged}, test_x, test_y)",
              '    print(f"epoch {epoch}/{args.epochs}: train loss {loss:.4f}, accuracy {accuracy:.2%}"'
              + ('\n          f" | validation accuracy {val_accuracy:.2%}"' if val else "")
              + '\n          f" | test loss {test_loss:.4f}, accuracy {test_accuracy:.2%}")',
              'print(f"Test accuracy: {test_accuracy:.2%}")',
              "if args.save_model:",
              f"    torch.save({judged}.state_dict(), args.save_model)"]
    return "def main():\n" + indent("\n".join(lines), "    ")


def notes(config: TrainConfig) -> list[str]:
    """What the script does differently from mnistlab, for its docstring."""
    if config.engine == "numpy":
        found = ["the run used mnistlab's from-scratch NumPy engine; this is the same maths in PyTorch, with other "
                 "initial weights and batch order"]
    elif config.augment.active:
        found = ["the same seed draws the same initial weights and batch order as mnistlab",
                 "augmentation uses torchvision's transforms one image at a time with the run's ranges; mnistlab warps "
                 "whole batches on the device (its elastic strength is Simard's, torchvision scales it differently), "
                 "so the random images and the numbers differ"]
    else:
        found = ["the same seed draws the same initial weights, batch order and dropout as mnistlab: on the CPU it "
                 "reproduces the run's losses and accuracies (on a GPU, up to the last digits)"]
    if config.dataset not in DATASETS:
        found.append(f"the run learned your own dataset {config.dataset!r}: point --data at mnistlab's data/"
                     f"{config.dataset} folder, or at the CSV files `python -m mnistlab data export "
                     f"{config.dataset} --csv DIR` writes")
    return found


def script_for(config: TrainConfig, classes: tuple[str, ...], run_id: str, filename: str, version: str = "") -> str:
    """The whole script for `config` (whose outputs mean `classes`), to be saved as `filename`."""
    import mnistlab

    spec = config.model
    differences = "\n".join(fill(f"- {line}.", 116, subsequent_indent="  ") for line in notes(config))
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    about = fill(f"Generated by mnistlab {version or mnistlab.__version__} from the run's config: {spec.describe()} on "
                 f"{config.dataset}, {config.optimizer} at lr {config.lr:g}, batch {config.batch_size}, {epochs}, "
                 f"{config.loss} loss. Read it, change it, run it:", 116)
    header = (f'"""Train mnistlab run {run_id} again in plain PyTorch (torch and torchvision only).\n\n'
              f"{about}\n\n"
              f"    python {filename}  # as the run trained; prints the test accuracy\n"
              f"    python {filename} --epochs 1 --subset 1000 --device cpu  # a quick try\n\n"
              f"How it compares with mnistlab:\n{differences}\n"
              '"""')
    sklearn_subset = config.train_subset is not None and config.subset_mode == "sklearn"
    imports = ["import argparse", "import gzip", "import math", "import struct", "from pathlib import Path", "",
               *(["import numpy as np"] if sklearn_subset or config.mixup else []), "import torch",
               "import torch.nn.functional as F"]
    imports.append("from torch import nn")
    if config.ema:
        imports.append("from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn")
    if config.augment.active:
        imports.append("from torchvision.transforms import v2")
    parts = [header, "\n".join(imports), settings(config, classes), script_parts.model(spec),
             script_parts.loss(config), script_parts.schedule(config), script_data.load(config.dataset),
             script_parts.subset(config.subset_mode if config.train_subset is not None else "first"),
             script_parts.validation(config.val_mode) if config.val_split else "",
             script_data.augment(config.augment) if config.augment.active else "",
             script_parts.MIXUP if config.mixup else "", script_parts.VAT if config.adversarial == "vat" else "",
             train_function(config), TEST, main_function(config),
             'if __name__ == "__main__":\n    main()']
    return "\n\n".join(parts[:3]) + "\n\n\n" + "\n\n\n".join(p for p in parts[3:] if p) + "\n"


def run_script(run: Run, filename: str | None = None) -> str:
    """The training script of a stored run (the config and classes it recorded), to be saved as `filename`."""
    plain = filename is not None and re.fullmatch(r"[\w.-]{1,100}", filename)  # it is quoted in the docstring
    return script_for(run.config, run.classes, run.run_id, filename if plain else f"{run.run_id}.py")
