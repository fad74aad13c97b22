"""The guided path: the tutorials' lessons in order, each a preset, what to watch and what it teaches."""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.presets import PRESETS


@dataclass(frozen=True)
class Lesson:
    """One step of the guided path."""

    title: str
    presets: tuple[str, ...]  # train these (in this order)
    watch: str  # where to look while or after it trains
    teaches: str  # the point of the lesson
    page: str  # the dashboard page to look at ("train", "results", "inspect", "draw", "compare")


LESSONS: tuple[Lesson, ...] = (
    # Measured (README, Performance): `fast` passes 98% at the end of its 2nd of 3 epochs, 6.4-7.0 s of training
    # on the project's 2-core CPU VM; other machines differ, so the lesson promises epochs, not seconds.
    Lesson("A first network: 98% in 2 epochs", ("fast",),
           "Train: the test accuracy passes 98% after the second of its 3 epochs (about 7 s of training on a "
           "2-core CPU, measured in the README).",
           "One wide ReLU layer, Adam and a one-cycle schedule are enough for 98% on MNIST.", "train"),
    Lesson("Read its mistakes", ("fast",),
           "Results: the confusion matrix; click a cell to see the 4s taken for 9s.",
           "The errors are the digits a person would hesitate on too.", "results"),
    Lesson("Test it with your own handwriting", ("fast",),
           "Draw: write a digit, compare your drawing with the 28×28 input the net sees.",
           "The net only knows centred, MNIST-sized strokes: preprocessing matters.", "draw"),
    Lesson("The classic tutorial MLP", ("seed000-mlp",),
           "Train: plain SGD with batch 20 climbs more slowly than Adam, and still passes 97%.",
           "The optimizer and batch size change the speed of learning, not what can be learned.", "train"),
    Lesson("Why deep sigmoid nets stall", ("seed003-vanishing", "seed003-relu"),
           "Inspect → Gradient flow: the sigmoid net's hidden layers get a tiny fraction of the output's gradient "
           "(layer 1's looks larger only because raw 0–255 pixels multiply it). The ReLU twin either learns fast "
           "or, on these raw pixels, loses its first layer in epoch 1: Diagnose says which.",
           "Vanishing gradients: sigmoids squash the signal at every layer; ReLU lets it through.", "inspect"),
    Lesson("Memorising 1,000 images", ("seed002-numpy",),
           "Results and Inspect → Diagnose: train accuracy races far ahead of test accuracy.",
           "Overfitting: few images and many weights; dropout and more data close the gap.", "inspect"),
    Lesson("Fixing the textbook network", ("seed001-sigmoid-mse", "seed001-improved"),
           "Compare: the same size of net learns faster with LeakyReLU, LayerNorm and Adam.",
           "Each modern ingredient removes a reason for slow learning.", "compare"),
    Lesson("More data for free", ("seed000-augment",),
           "Data → Augmentation preview, then Compare with seed000-mlp.",
           "Rotated, shifted and zoomed copies make the net robust to how digits are written.", "compare"),
    Lesson("Clothes are harder than digits", ("seed004-fashion",),
           "Inspect → Side by side: the same net on MNIST and Fashion-MNIST; shirts, T-shirts and pullovers mix.",
           "Accuracy depends on the data: some classes are not separable from pixels alone.", "inspect"),
    Lesson("How far can an MLP go?", ("best-mlp-short",),
           "Train: the record recipe (virtual adversarial training, cosine after a warm-up) for 4 epochs, a few "
           "minutes on a laptop CPU. Then train the full best-mlp preset (60 epochs) or read its three seeds in "
           "the README's reproduction table, next to the best published MLP results.",
           "Training on images pushed where the net's answer is least stable takes a plain MLP further than more "
           "width or more epochs do.",
           "train"),
)


def check_lessons() -> None:
    """Every lesson names known presets (called by the tests)."""
    for lesson in LESSONS:
        unknown = [p for p in lesson.presets if p not in PRESETS]
        assert not unknown, f"lesson {lesson.title!r} names unknown presets {unknown}"
