"""The PyTorch training step: data resident on the device, batches cut by index, no DataLoader.

Around the optimizer step sit the config's training extras, each applied here: mixup blends the batch
first (λ ~ Beta(α, α) per step, drawn for the epoch from the stepper's generator); adversarial training
adds its pushed copies to the backward pass (`train.adversarial`); after the step the
max-norm constraint caps every unit's incoming weights, then the weights' moving average (EMA) takes
them in; `set_lr` applies the warm-up's factor. With EMA on, the average is the model that is evaluated,
saved and exported (`eval_model`); the per-layer statistics describe the trained weights themselves.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from mnistlab.data.augment import augment_batch
from mnistlab.data.split import Split
from mnistlab.models.inputs import EVAL_BATCH, to_inputs
from mnistlab.models.torch_mlp import MLP, build_model, eval_mode
from mnistlab.train import layer_stats as stats
from mnistlab.train.adversarial import fgsm_backward, vat_backward
from mnistlab.train.config import TrainConfig
from mnistlab.train.fused_step import FusedSGD, fused_supported
from mnistlab.train.losses import compute_loss
from mnistlab.train.resume import load_optimizer_state, model_tensors, optimizer_state
from mnistlab.train.schedule import warmup_factor


def epoch_order(n: int, shuffle: bool, device: torch.device, gen: torch.Generator) -> torch.Tensor:
    """This epoch's order of the n training images: a fresh permutation, or 0…n−1 when not shuffling."""
    return torch.randperm(n, device=device, generator=gen) if shuffle else torch.arange(n, device=device)


def make_ema(model: MLP, decay: float) -> AveragedModel:
    """The exponential moving average of `model`'s weights and buffers (batch norm's statistics too):
    a copy of the model that `update_parameters(model)` moves by (1 − decay) towards it (the first call copies)."""
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


@torch.no_grad()
def apply_max_norm(weights: list[torch.Tensor], max_norm: float) -> None:
    """Rescale every row of each (out, in) weight (one unit's incoming weights) to L2 norm ≤ max_norm."""
    for w in weights:
        w.copy_(torch.renorm(w, 2, 0, max_norm))


def mixup_lambdas(alpha: float, steps: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """One epoch's mixup shares λ ~ Beta(α, α), one per step, from a seed drawn from `gen` (one sync)."""
    seed = int(torch.randint(0, 2**62, (1,), device=device, generator=gen).item())
    return torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, size=steps)).to(device, torch.float32)


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer named by the config (foreach kernels: fewer launches per step)."""
    kw = dict(lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, foreach=True, **kw)
    if config.optimizer == "momentum":
        return torch.optim.SGD(params, momentum=config.momentum, foreach=True, **kw)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, foreach=True, **kw)
    return torch.optim.AdamW(params, foreach=True, **kw)


class TorchStepper:
    """Owns the model, optimizer and device-resident data of one PyTorch run."""

    def __init__(self, config: TrainConfig, train: Split, device: torch.device, record_stats: bool = True):
        self.config, self.device = config, device
        torch.manual_seed(config.seed)
        self.model: MLP = build_model(config.model).to(device)
        self.x = to_inputs(train.images.to(device))  # (N, 28, 28)
        self.y = train.labels.to(device)  # (N,)
        if config.model.scales_inputs:
            self.model.set_standardization(*config.model.input_scaling(self.x))
        self.optimizer = make_optimizer(config, self.model.parameters())
        self.max_norm = config.max_norm or 0.0
        self.ema = make_ema(self.model, config.ema) if config.ema else None  # after the pixel constants are set
        self.mixup, self.lams = config.mixup, None
        self.steps_done = 0  # optimizer steps so far, over every epoch: where the warm-up stands
        # Plain SGD on Linear + activation layers: the hand-written step (same maths, no autograd overhead).
        self.fused = FusedSGD(self.model, config) if fused_supported(config) else None
        # Shuffling and augmentation draw from their own seeded generators on the device.
        self.gen = torch.Generator(device=device).manual_seed(config.seed)
        self.aug = config.augment
        self.flat = not self.aug.active  # without augmentation keep (N, 784): no reshape per step
        if self.flat:
            self.x = self.x.reshape(len(self.x), -1)
        self.epoch_x, self.epoch_y = self.x, self.y
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.seen = 0
        self.lr = config.lr
        self._snapshot: dict[str, torch.Tensor] | None = None
        self._ema_snapshot: dict[str, torch.Tensor] | None = None
        # Per-layer statistics: weights of every Linear, a fixed probe batch (a view, no copy), device sums.
        self.weights = [linear.weight for linear in self.model.linears()]
        self.before = [torch.empty_like(w) for w in self.weights] if record_stats else []  # W before a sampled step
        self.probe = self.x[:stats.PROBE_SIZE]
        self.step_stats = stats.StepStats(len(self.weights), device, record_stats)
        self.steps = self.steps_per_epoch()

    @property
    def samples_per_epoch(self) -> int:
        return len(self.x) * (2 if self.aug.concat_original else 1)

    def steps_per_epoch(self) -> int:
        return math.ceil(self.samples_per_epoch / self.config.batch_size)

    def begin_epoch(self) -> None:
        """Reset the running sums, draw this epoch's order (and augmented copy if asked)."""
        self.model.train()
        if self.aug.concat_original:
            # The tutorials' recipe: the original images plus one freshly augmented copy.
            copy = torch.cat([augment_batch(chunk, self.aug, self.gen) for chunk in self.x.split(EVAL_BATCH)])
            self.epoch_x, self.epoch_y = torch.cat([self.x, copy]), torch.cat([self.y, self.y])
        self.order = epoch_order(len(self.epoch_x), self.config.shuffle, self.device, self.gen)
        if self.mixup:
            self.lams = mixup_lambdas(self.mixup, self.steps, self.gen, self.device)
        self.loss_sum.zero_()
        self.correct.zero_()
        self.step_stats.reset()
        self.seen = 0

    def set_lr(self, lr: float) -> None:
        """Use `lr` for the next step, times the warm-up's factor while it lasts (`train.schedule`)."""
        if self.config.warmup_epochs:
            lr = lr * warmup_factor(self.steps_done, self.config.warmup_epochs, self.steps)
        if lr != self.lr:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.lr = lr

    def step(self, index: int) -> None:
        """One optimizer step on batch number `index` of this epoch."""
        batch = self.config.batch_size
        idx = self.order[index * batch:(index + 1) * batch]
        x, y = self.epoch_x[idx], self.epoch_y[idx]
        if self.aug.active and not self.aug.concat_original:
            x = augment_batch(x, self.aug, self.gen)
        if self.fused is not None:
            self._fused_step(index, x, y)
            return
        if self.mixup:
            lam = self.lams[index]
            perm = torch.randperm(len(y), device=self.device, generator=self.gen)
            x, other = lam * x + (1 - lam) * x[perm], y[perm]
        def loss_of(logits: torch.Tensor) -> torch.Tensor:
            loss = compute_loss(logits, y, self.config.loss, self.config.model.output, self.config.label_smoothing)
            if self.mixup:
                loss = lam * loss + (1 - lam) * compute_loss(logits, other, self.config.loss,
                                                             self.config.model.output, self.config.label_smoothing)
            return loss

        self.optimizer.zero_grad(set_to_none=True)
        kind, eps = self.config.adversarial, self.config.adversarial_eps
        if kind == "fgsm":
            logits, loss = fgsm_backward(self.model, x, loss_of, eps)
        elif kind == "vat":
            logits, loss = vat_backward(self.model, x, loss_of, eps, self.gen)
        else:
            logits = self.model(x)
            loss = loss_of(logits)
            loss.backward()
        if self.mixup:
            y = torch.where(lam >= 0.5, y, other)  # training accuracy counts the dominant label
        if self.step_stats.wants_grads(index):
            self.step_stats.add_grad_norms(stats.torch_grad_norms(self.weights))
        sample_update = self.step_stats.wants_update(index)
        if sample_update:
            norms = stats.remember_weights(self.weights, self.before)
        self.optimizer.step()
        if self.max_norm:
            apply_max_norm(self.weights, self.max_norm)
        if sample_update:
            self.step_stats.add_update_ratios(stats.torch_update_ratios(self.weights, self.before, norms))
        self._after_step()
        self._count(loss, logits, y)

    def _fused_step(self, index: int, x: torch.Tensor, y: torch.Tensor) -> None:
        sample_update = self.step_stats.wants_update(index)
        if sample_update:
            norms = stats.remember_weights(self.weights, self.before)
        loss, logits, grad_norms = self.fused.step(x, y, self.lr, grad_norms=self.step_stats.wants_grads(index))
        if self.max_norm:
            apply_max_norm(self.weights, self.max_norm)
        if grad_norms is not None:
            self.step_stats.add_grad_norms(grad_norms)
        if sample_update:
            self.step_stats.add_update_ratios(stats.torch_update_ratios(self.weights, self.before, norms))
        self._after_step()
        self._count(loss, logits, y)

    def _after_step(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.steps_done += 1

    def _count(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        """Running sums stay on the device: no sync until someone asks."""
        n = len(y)
        self.loss_sum += loss.detach() * n
        self.correct += (logits.detach().argmax(1) == y).sum()
        self.seen += n

    def running_loss(self) -> float:
        return self.loss_sum.item() / max(self.seen, 1)

    def running_accuracy(self) -> float:
        """Training accuracy over the epoch so far (one sync)."""
        return self.correct.item() / max(self.seen, 1)

    def epoch_stats(self) -> tuple[float, float]:
        """(mean training loss, training accuracy) over the epoch so far, in one sync."""
        # float64 holds the int64 count exactly (up to 2**53 samples) and the float32 loss sum without loss.
        loss_sum, correct = torch.stack([self.loss_sum.double(), self.correct.double()]).tolist()
        return loss_sum / max(self.seen, 1), correct / max(self.seen, 1)

    @torch.no_grad()
    def evaluate(self, split: Split) -> tuple[float, float, list[list[int]]]:
        """(mean loss, accuracy, confusion matrix) on a split, in eval mode."""
        return evaluate_loss_accuracy(self.eval_model(), split, self.config, self.device)

    def eval_model(self) -> MLP:
        """The model a run is judged by: the weights' moving average with EMA on, else the trained weights."""
        return self.ema.module if self.ema is not None else self.model

    def layer_stats(self) -> list[dict]:
        """Per-layer statistics now (see `mnistlab.train.layer_stats`); step means cover this epoch."""
        return stats.layer_stats(self.model, self.probe, self.step_stats)

    def snapshot(self) -> None:
        """Remember the current weights (the last good state if a later epoch diverges)."""
        self._snapshot = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.ema is not None:
            self._ema_snapshot = {k: v.detach().clone() for k, v in self.ema.state_dict().items()}

    def restore(self) -> bool:
        if self._snapshot is None:
            return False
        self.model.load_state_dict(self._snapshot)
        if self.ema is not None:
            self.ema.load_state_dict(self._ema_snapshot)
        return True

    def torch_model(self) -> MLP:
        """What is saved and exported: `eval_model()`."""
        return self.eval_model()

    def training_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Weights, optimizer state, the weights' average (`ema.*`, with EMA on) and generator states
        (shuffle/augment/mixup and the global one dropout uses)."""
        tensors, meta = optimizer_state(self.optimizer)
        tensors.update({f"model.{k}": v for k, v in self.model.state_dict().items()})
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        tensors["rng.shuffle"], tensors["rng.global"] = self.gen.get_state(), torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        return tensors, {**meta, "engine": "torch", "steps_done": self.steps_done}

    def load_training_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Continue from `training_state()`'s output (same config but the epochs and learning rate)."""
        with torch.no_grad():
            self.model.load_state_dict(model_tensors(tensors))
            if self.ema is not None:
                self.ema.load_state_dict({k.removeprefix("ema."): v for k, v in tensors.items() if k.startswith("ema.")})
        load_optimizer_state(self.optimizer, tensors, meta)
        self.steps_done = int(meta.get("steps_done", meta.get("global_step", 0)))
        self.lr = self.optimizer.param_groups[0]["lr"]  # set_lr compares against the restored rate
        self.gen.set_state(tensors["rng.shuffle"])
        torch.set_rng_state(tensors["rng.global"])
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)


@torch.no_grad()
def evaluate_loss_accuracy(model: MLP, split: Split, config: TrainConfig,
                           device: torch.device) -> tuple[float, float, list[list[int]]]:
    """(mean loss, accuracy, confusion) of `model` on `split`, batched, in eval mode.

    The confusion matrix is (classes, classes) counts, rows = true label, columns = prediction.
    """
    classes = len(split.classes)
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    confusion = torch.zeros(classes * classes, device=device, dtype=torch.int64)  # flattened (true, predicted)
    with eval_mode(model):
        for images, labels in zip(split.images.split(EVAL_BATCH), split.labels.split(EVAL_BATCH)):
            x, y = to_inputs(images.to(device)), labels.to(device)
            logits = model(x)
            loss_sum += compute_loss(logits, y, config.loss, config.model.output).double() * len(y)
            # index_add_ rather than bincount: CUDA's bincount syncs to size its output.
            confusion.index_add_(0, y * classes + logits.argmax(1), torch.ones_like(y))
    n = max(len(split), 1)
    rows = confusion.view(classes, classes).tolist()
    return loss_sum.item() / n, sum(rows[i][i] for i in range(classes)) / n, rows
