"""seed003-vanishing written out in plain PyTorch, one Keras detail per variant, to test what moves it.

Usage: python scripts/seed003_transcription.py VARIANT SEED [EPOCHS] [--data DIR]
VARIANT is any of: plain (SGD 0.001, batch 256), with the tags `clip` (Keras 2's cross-entropy on softmax
probabilities renormalised and clipped to [1e-7, 1 − 1e-7]), `b32` (Keras's default batch 32) and `lr01`
(SGD 0.01, what Keras ≥ 2.11 trains at when given SGD(lr=0.001)), joined by _ (e.g. clip_lr01).
Prints the test accuracy every 10 epochs. The data: MNIST's gzip'd IDX files in DIR (default data/mnist).
"""

import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def idx(path: Path, offset: int) -> np.ndarray:
    return np.frombuffer(gzip.open(path).read(), np.uint8, offset=offset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant")
    parser.add_argument("seed", type=int)
    parser.add_argument("epochs", type=int, nargs="?", default=100)
    parser.add_argument("--data", type=Path, default=Path("data/mnist"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = idx(args.data / "train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32)  # raw 0–255
    y = idx(args.data / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    x_test = torch.from_numpy(idx(args.data / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32))
    y_test = torch.from_numpy(idx(args.data / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
    keep = np.random.RandomState(7).permutation(60_000)[40_200:]  # train_test_split(test_size=0.67, random_state=7)
    x, y = x[keep], y[keep]
    cut = int(len(x) * 0.7)  # Keras validation_split=0.3: the last 30% held out
    x_train, y_train = torch.from_numpy(x[:cut]), torch.from_numpy(y[:cut])
    batch = 32 if "b32" in args.variant else 256
    lr = 0.01 if "lr01" in args.variant else 0.001
    torch.manual_seed(args.seed)
    layers = []
    for fan_in, fan_out in zip([784, 50, 50, 50, 50], [50, 50, 50, 50, 10]):
        linear = nn.Linear(fan_in, fan_out)
        nn.init.xavier_uniform_(linear.weight)  # Keras's glorot_uniform, zero biases
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.Sigmoid()] if fan_out != 10 else [linear]
    net = nn.Sequential(*layers)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)

    def loss_fn(logits, labels):
        if "clip" in args.variant:
            p = torch.softmax(logits, 1)
            p = (p / p.sum(1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
            return -torch.log(p.gather(1, labels[:, None])).mean()
        return nn.functional.cross_entropy(logits, labels)

    gen = torch.Generator().manual_seed(args.seed)
    accuracies, start = [], time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(y_train), generator=gen)  # Keras's shuffle=True
        for i in range(0, len(order), batch):
            j = order[i:i + batch]
            optimizer.zero_grad()
            loss_fn(net(x_train[j]), y_train[j]).backward()
            optimizer.step()
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            with torch.no_grad():
                accuracies.append(round((net(x_test).argmax(1) == y_test).float().mean().item() * 100, 2))
    print(args.variant, args.seed, accuracies, f"{time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
