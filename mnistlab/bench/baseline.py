"""The tutorials' canonical loop: torchvision `MNIST` + `DataLoader`, per-batch `.to(device)`, plain SGD.

This is the yardstick `mnistlab bench` measures the trainer against, so it is written the way the
PyTorch MNIST MLP tutorial writes it, without handicaps: same model (`build_model`), same seed,
tutorial defaults (`num_workers=0`), pinned memory only where it helps (CUDA), and the running loss
kept on the device rather than `.item()`-ed every step (the tutorial's per-step sync would only slow it).
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from mnistlab.data.datasets import FILES, file_path, missing_message, resolve_data_dir
from mnistlab.device import synchronize
from mnistlab.errors import DataError
from mnistlab.models import MLPSpec, build_model

BATCH_SIZE = 20  # the tutorial's batch
LR = 0.1  # the tutorial's SGD learning rate
HIDDEN = (512,)  # 784-512-10 ReLU, as `seed000-mlp`
TEST_BATCH = 1000  # evaluation batch (no effect on the result, only on its speed)


def torchvision_root(data_dir: str | Path | None, dest: str | Path, dataset: str = "mnist") -> Path:
    """Lay `dataset`'s IDX files out as torchvision's `MNIST` wants them; returns the root to pass it.

    torchvision reads `<root>/MNIST/raw/<stem>` (uncompressed) and cannot download here, so each file
    is decompressed (from `.gz`) or linked (if already raw) into `dest/MNIST/raw/`.
    """
    source = resolve_data_dir(data_dir)
    raw = Path(dest) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stem in FILES:
        path = file_path(source, dataset, stem)
        if path is None:
            raise DataError(missing_message(source, dataset))
        target = raw / stem
        if target.exists():
            continue
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            target.symlink_to(path.resolve())
    return Path(dest)


@dataclass
class BaselineResult:
    """Timings (seconds, measured epochs only) and test accuracy of the canonical loop."""

    epoch_seconds: list[float] = field(default_factory=list)
    warmup_seconds: float = 0.0
    warmup_batches: int = 0
    train_loss: float = float("nan")  # mean over the last epoch
    test_accuracy: float = float("nan")
    model: nn.Module | None = None

    def __repr__(self) -> str:
        best = min(self.epoch_seconds) if self.epoch_seconds else float("nan")
        return f"BaselineResult(best_epoch_s={best:.2f}, test_accuracy={self.test_accuracy:.4f})"


def run_baseline(root: str | Path, device: torch.device, epochs: int = 2, warmup_batches: int = 500,
                 seed: int = 0, between: Callable[[], None] | None = None) -> BaselineResult:
    """Train 784-512-10 with the tutorial's loop: a partial warm-up epoch, then `epochs` timed full epochs.

    Args:
        root: a folder laid out by `torchvision_root`.
        device: where the model trains; batches are moved there one at a time, as in the tutorial.
        epochs: measured full epochs.
        warmup_batches: batches of the untimed warm-up (0 for none).
        seed: seeds the weights (same as mnistlab's `TrainConfig.seed`) and the shuffle.
        between: called after each timed epoch (the bench times mnistlab there, so both sides meet the
            same machine: on a shared VM the speed of the whole machine drifts by tens of percent).
    """
    from torchvision import datasets, transforms  # heavy import, only for the benchmark

    train_set = datasets.MNIST(str(root), train=True, download=False, transform=transforms.ToTensor())
    pin = device.type == "cuda"  # pinned host memory only pays off for host→GPU copies
    loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True, num_workers=0, pin_memory=pin,
                        generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)  # as TorchStepper: identical initial weights
    model = build_model(MLPSpec(hidden=HIDDEN)).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    result = BaselineResult(model=model)

    def one_epoch(limit: int | None) -> tuple[float, float]:
        """(seconds, mean loss) of one pass over the loader, or its first `limit` batches."""
        model.train()
        loss_sum = torch.zeros((), device=device)
        seen = 0
        synchronize(device)
        start = time.perf_counter()
        for i, (data, target) in enumerate(loader):  # data: (20, 1, 28, 28) float in [0, 1]
            if limit is not None and i >= limit:
                break
            data, target = data.to(device, non_blocking=pin), target.to(device, non_blocking=pin)
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * data.size(0)
            seen += data.size(0)
        synchronize(device)
        return time.perf_counter() - start, loss_sum.item() / max(seen, 1)

    if warmup_batches > 0:
        result.warmup_batches = min(warmup_batches, len(loader))
        result.warmup_seconds, _ = one_epoch(result.warmup_batches)
    for _ in range(epochs):
        seconds, result.train_loss = one_epoch(None)
        result.epoch_seconds.append(seconds)
        if between is not None:
            between()
    result.test_accuracy = test_accuracy(model, root, device)
    return result


@torch.no_grad()
def test_accuracy(model: nn.Module, root: str | Path, device: torch.device) -> float:
    """Accuracy on torchvision's MNIST test split, in eval mode."""
    from torchvision import datasets, transforms

    test_set = datasets.MNIST(str(root), train=False, download=False, transform=transforms.ToTensor())
    model.eval()
    correct = 0
    for data, target in DataLoader(test_set, batch_size=TEST_BATCH):
        correct += (model(data.to(device)).argmax(1).cpu() == target).sum().item()
    model.train()
    return correct / max(len(test_set), 1)
