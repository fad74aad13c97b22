"""K same-shape MLPs as stacked tensors: one batched matrix product per layer trains all of them.

Each member is first built by the normal model builder (so its initial weights are exactly a normal run's),
then its parameters are stacked on a leading member axis. Linear weights are kept transposed, (K, in, out):
`baddbmm(b, x, W)` then needs no transpose, and autograd's weight gradient bmm(xᵀ, g) comes out in that same
contiguous layout. Members never mix: every op is per member slice, so one member's NaN stays its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mnistlab.data.split import Split
from mnistlab.models.inputs import EVAL_BATCH, to_inputs
from mnistlab.models.torch_mlp import ACTIVATION_MODULES, MLP
from mnistlab.train.config import TrainConfig
from mnistlab.train.losses import model_outputs

ACTIVATIONS = tuple(ACTIVATION_MODULES.values())
EVAL_BYTES = 256 * 2**20  # one evaluation chunk's widest activations, all members together


class StackedMLP:
    """The parameters of K MLPs of one spec (dropout and init may differ) on a leading member axis."""

    def __init__(self, models: list[MLP], generators: list[torch.Generator | None] | None = None):
        first = models[0]
        self.spec = first.spec
        # Elementwise, so it applies to (K, B, H) as it is (None for logistic regression: no hidden layer).
        self.activation = next((m for m in first.layers if isinstance(m, ACTIVATIONS)), None)
        self.pixel_mean, self.pixel_std = first.pixel_mean, first.pixel_std  # the same data: the same constants
        # Parameters in module order, identical across members (Dropout has none): Linear (W, b), LayerNorm (γ, β).
        kinds = [type(m) for m in first.layers if isinstance(m, (nn.Linear, nn.LayerNorm))]
        per_model = [[m for m in model.layers if isinstance(m, (nn.Linear, nn.LayerNorm))] for model in models]
        self.kinds = kinds
        self.params: list[torch.Tensor] = []
        for j, kind in enumerate(kinds):
            weights = [mods[j].weight.detach() for mods in per_model]
            self.params.append(torch.stack([w.t() for w in weights] if kind is nn.Linear else weights))
            self.params.append(torch.stack([mods[j].bias.detach() for mods in per_model]))
        for p in self.params:
            p.requires_grad_(True)
        # Dropout after hidden layer i keeps a unit with probability keep[i][k] (1 where member k has none there).
        hidden = len(self.spec.hidden)
        # float64: `tolist()` gives back exactly the Python 1 - p that F.dropout hands to bernoulli_.
        self.keep = [torch.tensor([1 - model.spec.dropout if _drops_after(model, i) else 1.0 for model in models],
                                  dtype=torch.float64, device=self.params[0].device) for i in range(hidden)]
        self.sites = [i for i in range(hidden) if bool((self.keep[i] < 1).any())]
        self.generators = generators  # per member: replay the normal trainer's dropout stream (CPU); None: batched

    def __len__(self) -> int:
        return len(self.params[0])

    def linear_weights(self) -> list[torch.Tensor]:
        """The stacked (K, in, out) weight of every Linear layer, the output layer last."""
        return [p for p, kind in zip(self.params[0::2], self.kinds) if kind is nn.Linear]

    def _masks(self, batch: int, generator: torch.Generator | None) -> dict[int, torch.Tensor]:
        """Per dropout site, (K, B, H) multipliers: 0 or 1/keep, as `F.dropout` draws them."""
        masks = {}
        for i in self.sites:
            keep, width = self.keep[i], self.spec.hidden[i]
            if self.generators is None:  # one draw for all members (not the normal trainer's stream)
                keep = keep.float()[:, None, None]  # (K, 1, 1)
                masks[i] = torch.bernoulli(keep.expand(len(self), batch, width), generator=generator).div_(keep)
                continue
            mask = torch.ones(len(self), batch, width, device=keep.device)
            for k, p in enumerate(keep.tolist()):
                if p < 1:  # F.dropout on the CPU: empty_like(x).bernoulli_(1 - p).div_(1 - p), same generator state
                    mask[k].bernoulli_(p, generator=self.generators[k]).div_(p)
            masks[i] = mask
        return masks

    def forward(self, x: torch.Tensor, train: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """x: (K, B, 784) floats in [0, 1], member k's own batch in row k → logits (K, B, outputs)."""
        if self.spec.scales_inputs:
            x = (x - self.pixel_mean) / self.pixel_std
        masks = self._masks(x.shape[1], generator) if train and self.sites else {}
        h = x
        params = iter(self.params)
        for i in range(len(self.spec.hidden)):
            w, b = next(params), next(params)
            h = torch.baddbmm(b[:, None, :], h, w)  # (K, B, H)
            if self.spec.norm == "layer":
                gamma, beta = next(params), next(params)
                h = F.layer_norm(h, h.shape[-1:]) * gamma[:, None, :] + beta[:, None, :]
            h = self.activation(h)
            if i in masks:
                h = h * masks[i]
        w, b = next(params), next(params)
        return torch.baddbmm(b[:, None, :], h, w)  # (K, B, outputs)

    @torch.no_grad()
    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 784) one batch for every member (evaluation, no dropout) → logits (K, N, outputs)."""
        if self.spec.scales_inputs:
            x = (x - self.pixel_mean) / self.pixel_std
        w, b = self.params[0], self.params[1]  # (K, 784, H), (K, H)
        k, fan_in, width = w.shape
        # One (N, 784) × (784, K·H) product for the first layer: the input is shared, the members side by side.
        h = (x @ w.permute(1, 0, 2).reshape(fan_in, k * width)).view(len(x), k, width).transpose(0, 1)
        h = h + b[:, None, :]  # (K, N, H)
        rest = self.params[2:]
        if self.spec.norm == "layer" and self.spec.hidden:
            h = F.layer_norm(h, (width,)) * rest[0][:, None, :] + rest[1][:, None, :]
            rest = rest[2:]
        h = self.activation(h) if self.spec.hidden else h
        params = iter(rest)
        for _ in self.spec.hidden[1:]:
            w, b = next(params), next(params)
            h = torch.baddbmm(b[:, None, :], h, w)
            if self.spec.norm == "layer":
                gamma, beta = next(params), next(params)
                h = F.layer_norm(h, h.shape[-1:]) * gamma[:, None, :] + beta[:, None, :]
            h = self.activation(h)
        if self.spec.hidden:
            w, b = next(params), next(params)
            h = torch.baddbmm(b[:, None, :], h, w)
        return h

    def eval_chunk(self) -> int:
        """Images per evaluation chunk, so that K × chunk × the widest layer stays under EVAL_BYTES."""
        widest = max(self.spec.sizes[1:])
        return max(1, EVAL_BYTES // (4 * len(self) * widest))

    def select(self, slots: list[int]) -> StackedMLP:
        """A view of members `slots` only (for evaluating some of them), sharing nothing that trains."""
        index = torch.tensor(slots, device=self.params[0].device)
        view = object.__new__(StackedMLP)
        view.__dict__.update(self.__dict__)
        view.params = [p.detach().index_select(0, index) for p in self.params]
        view.keep = [keep.index_select(0, index) for keep in self.keep]
        view.generators = [self.generators[s] for s in slots] if self.generators is not None else None
        return view

    def keep_members(self, slots: list[int]) -> None:
        """Drop every member not in `slots` (cancelled or diverged ones): the rest train on, leaner."""
        index = torch.tensor(slots, device=self.params[0].device)
        self.params = [p.detach().index_select(0, index).requires_grad_(True) for p in self.params]
        self.keep = [keep.index_select(0, index) for keep in self.keep]
        self.sites = [i for i in self.sites if bool((self.keep[i] < 1).any())]
        if self.generators is not None:
            self.generators = [self.generators[s] for s in slots]

    @torch.no_grad()
    def copy_to(self, slot: int, model: MLP) -> None:
        """Write member `slot`'s current parameters into `model` (a normal MLP of its spec)."""
        stacked = iter(self.params)
        for module in (m for m in model.layers if isinstance(m, (nn.Linear, nn.LayerNorm))):
            w, b = next(stacked)[slot], next(stacked)[slot]
            module.weight.copy_(w.t() if isinstance(module, nn.Linear) else w)
            module.bias.copy_(b)


def _drops_after(model: MLP, i: int) -> bool:
    spec = model.spec
    return spec.dropout > 0 and (spec.dropout_where == "all" or i == 0)


def member_losses(logits: torch.Tensor, labels: torch.Tensor, loss: str, output: str,
                  smoothing: torch.Tensor | None = None) -> torch.Tensor:
    """(K,) mean loss of each member, the maths of `losses.compute_loss` per member.

    logits: (K, B, C); labels: (K, B) int64; smoothing: (K,) label smoothing per member (None: none).
    """
    k, b, classes = logits.shape
    if loss == "ce" and output != "sigmoid" and smoothing is None:
        return F.cross_entropy(logits.reshape(k * b, classes), labels.reshape(-1), reduction="none").view(k, b).mean(1)
    s = smoothing[:, None, None] if smoothing is not None else None  # (K, 1, 1)
    target = F.one_hot(labels, classes).to(logits.dtype)  # (K, B, C)
    if s is not None:
        target = target * (1 - s) + s / classes
    if loss == "ce":
        if output == "sigmoid":
            probs = torch.sigmoid(logits)
            log_probs = torch.log((probs / probs.sum(-1, keepdim=True)).clamp_min(1e-12))
        else:
            log_probs = logits.log_softmax(-1)
        return -(target * log_probs).sum(-1).mean(1)
    if loss == "mse":
        return F.mse_loss(model_outputs(logits.reshape(k * b, classes), output).view(k, b, classes), target,
                          reduction="none").mean((1, 2))
    if loss == "bce":
        if output == "softmax":
            probs = torch.softmax(logits, -1).clamp(1e-7, 1 - 1e-7)
            return F.binary_cross_entropy(probs, target, reduction="none").mean((1, 2))
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean((1, 2))
    raise ValueError(f"unknown loss {loss!r}")


@torch.no_grad()
def evaluate_members(stack: StackedMLP, split: Split, config: TrainConfig,
              device: torch.device) -> list[tuple[float, float, list[list[int]]]]:
    """Per member of `stack`: (mean loss, accuracy, confusion rows) on `split`, as `evaluate_loss_accuracy`."""
    k, classes = len(stack), len(split.classes)
    loss_sum = torch.zeros(k, device=device, dtype=torch.float64)
    confusion = torch.zeros(k * classes * classes, device=device, dtype=torch.int64)  # flattened (k, true, pred)
    offsets = torch.arange(k, device=device)[:, None] * classes * classes  # (K, 1)
    chunk = min(EVAL_BATCH, stack.eval_chunk())
    for images, labels in zip(split.images.split(chunk), split.labels.split(chunk)):
        x, y = to_inputs(images.to(device)).reshape(len(images), -1), labels.to(device)  # (n, 784), (n,)
        logits = stack.forward_shared(x)  # (K, n, classes)
        loss_sum += member_losses(logits, y.expand(k, -1), config.loss, config.model.output).double() * len(y)
        cells = offsets + y * classes + logits.argmax(-1)  # (K, n)
        confusion.index_add_(0, cells.reshape(-1), torch.ones_like(cells.reshape(-1)))
    n = max(len(split), 1)
    losses = (loss_sum / n).tolist()
    tables = confusion.view(k, classes, classes).tolist()
    return [(loss, sum(rows[i][i] for i in range(classes)) / n, rows) for loss, rows in zip(losses, tables)]
