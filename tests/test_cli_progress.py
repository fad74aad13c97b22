"""The CLI's one progress bar: drawn in place on a terminal, never elsewhere; summary lines are plain text."""

import io

from mnistlab.cli.progress import FetchProgress, ProgressPrinter
from mnistlab.train.events import EpochEnded, RunFinished, StepProgress

STEP = StepProgress(epoch=1, epochs=2, step=10, steps_per_epoch=40, loss=0.5, samples_per_s=1234.0, elapsed_s=1.0,
                    accuracy=0.8)
ENDED = EpochEnded(epoch=1, epochs=2, train_loss=0.25, train_accuracy=0.9, val_loss=None, val_accuracy=None,
                   test_loss=0.2, test_accuracy=0.95, lr=0.1, epoch_seconds=1.5, samples_per_s=4000.0, elapsed_s=1.5)
SUMMARY = "epoch 1/2 train loss 0.2500 acc 90.00% test 95.00% (1.50 s, 4,000 img/s)"


def test_without_a_terminal_only_the_summary_lines_are_printed():
    out = io.StringIO()  # isatty() is False, as for captured or redirected stderr
    printer = ProgressPrinter(out)
    for event in (STEP, ENDED, RunFinished("finished", 1, 0.95, 0.2, 1.5)):
        printer(event)
    assert out.getvalue().splitlines() == [SUMMARY, "finished: test accuracy 95.00% after 1 epoch(s), 1.5 s of training"]


def test_on_a_terminal_the_bar_is_redrawn_then_cleared_for_the_summary():
    out = io.StringIO()
    printer = ProgressPrinter(out, live=True)
    printer(STEP)
    drawn = out.getvalue()
    assert "\r" in drawn and "epoch 1/2" in drawn and "10/40" in drawn and "loss 0.5000 acc 80.00%" in drawn
    printer(ENDED)
    assert out.getvalue().endswith(SUMMARY + "\n")
    assert printer.bar._bar is None  # closed at the epoch's end


def test_fetch_progress_draws_bytes_on_a_terminal_and_logs_plain_lines_elsewhere():
    quiet = io.StringIO()
    bar = FetchProgress(quiet)
    bar("train-images-idx3-ubyte", 512, 1024)
    bar.log("mirror 1 failed; trying the next")
    assert quiet.getvalue() == "mirror 1 failed; trying the next\n"
    live = io.StringIO()
    bar = FetchProgress(live, live=True)
    bar("t10k-labels-idx1-ubyte", 2048, 4096)
    bar.close()
    assert "\rt10k-labels-idx1-ubyte:" in live.getvalue() and "/4.00k" in live.getvalue()  # KiB of 4 KiB
