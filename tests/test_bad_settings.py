"""Impossible settings, each tried through the core, the CLI and the dashboard: one sentence with the range.

The core message is the reference: `train` must print exactly it after `error: ` (exit status 2) and
the Train page must show exactly it in `st.error`. Where no control can produce the value, the test
checks the control's bounds and that the page's `build_config` (the same TrainConfig validation) says
the same sentence. Nothing may be written to the runs or data dir. `SETTING_CASES × SETTING_PATHS` is
the count the README quotes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from test_bad_input import listing

from mnistlab.cli.main import main
from mnistlab.errors import ConfigError, DeviceError, MnistlabError
from mnistlab.experiment import run_experiment
from mnistlab.models.spec import ACTIVATIONS, NORM_WHERE, MLPSpec
from mnistlab.runs.store import RunStore
from mnistlab.train.config import OPTIMIZERS, TrainConfig
from ui import widgets

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("no_gpu")


def run(config: TrainConfig, data_dir: Path, runs_dir: Path) -> None:
    run_experiment(config, store=RunStore(runs_dir), data_dir=data_dir, owner="test")


def start(at: AppTest) -> None:
    at.button(key="start").click().run()


def labels(options) -> list[str]:
    return [widgets.label(o) for o in options]


@dataclass(frozen=True)
class SettingCase:
    """A bad setting as the core, the CLI and the dashboard each spell it."""

    id: str
    core: Callable[[Path, Path], object]  # (data dir, runs dir) → raises
    flags: tuple[str, ...]
    allowed: str  # the allowed range or choices the sentence must state
    error: type[MnistlabError] = ConfigError
    drive: Callable[[AppTest], None] | None = None  # sets it on the Train page, where a control allows it
    values: dict = field(default_factory=dict)  # else: widget values fed to the page's build_config ...
    bounds: Callable[[AppTest], bool] | None = None  # ... and proof that no control can produce it


def lr_options_positive(at: AppTest) -> bool:
    return all(float(o) > 0 for o in at.select_slider(key="cfg_lr").options)


SETTING_CASES = [
    SettingCase("lr-zero", lambda d, r: TrainConfig(lr=0.0), ("--lr", "0"), "(0, 10]",
                values={"cfg_lr": 0.0}, bounds=lr_options_positive),
    SettingCase("lr-negative", lambda d, r: TrainConfig(lr=-0.5), ("--lr=-0.5",), "(0, 10]",
                values={"cfg_lr": -0.5}, bounds=lr_options_positive),
    SettingCase("lr-not-a-number", lambda d, r: TrainConfig(lr="abc"), ("--lr", "abc"), "a number in (0, 10]",
                bounds=lr_options_positive),  # a slider of numbers: no text can reach build_config
    SettingCase("batch-above-training-data",
                lambda d, r: run(TrainConfig(batch_size=4096, device="cpu"), d, r),
                ("--batch-size", "4096", "--device", "cpu"), "larger than the 600 training samples",
                drive=lambda at: (at.select_slider(key="cfg_batch_size").set_value(4096).run(), start(at))),
    SettingCase("hidden-width-zero", lambda d, r: TrainConfig(model=MLPSpec(hidden=(512, 0))), ("--hidden", "512,0"),
                "[1, 65536]", values={"cfg_layers": 2, "cfg_width_0": 512, "cfg_width_1": 0},
                bounds=lambda at: at.number_input(key="cfg_width_0").min == 1),
    SettingCase("dropout-one", lambda d, r: TrainConfig(model=MLPSpec(dropout=1.0)), ("--dropout", "1"), "[0, 1)",
                values={"cfg_dropout": 1.0}, bounds=lambda at: at.slider(key="cfg_dropout").max < 1),
    SettingCase("epochs-zero", lambda d, r: TrainConfig(epochs=0), ("--epochs", "0"), "[1, 10000]",
                values={"cfg_epochs": 0}, bounds=lambda at: at.number_input(key="cfg_epochs").min == 1),
    SettingCase("unknown-activation", lambda d, r: TrainConfig(model=MLPSpec(activation="swish")),
                ("--activation", "swish"), "one of relu, sigmoid, tanh, leaky_relu, gelu",
                values={"cfg_activation": "swish"},
                bounds=lambda at: at.selectbox(key="cfg_activation").options == labels(ACTIVATIONS)),
    SettingCase("unknown-optimizer", lambda d, r: TrainConfig(optimizer="rmsprop"), ("--optimizer", "rmsprop"),
                "one of sgd, momentum, adam, adamw", values={"cfg_optimizer": "rmsprop"},
                bounds=lambda at: at.selectbox(key="cfg_optimizer").options == labels(OPTIMIZERS)),
    SettingCase("cuda-without-gpu", lambda d, r: run(TrainConfig(device="cuda"), d, r), ("--device", "cuda"),
                "use --device cpu or --device auto", error=DeviceError,
                bounds=lambda at: at.button_group(key="cfg_device").options == ["auto", "CPU"]),
    SettingCase("numpy-engine-with-adam", lambda d, r: TrainConfig(engine="numpy", optimizer="adam"),
                ("--engine", "numpy", "--optimizer", "adam"), "optimizer 'adam' (use sgd)",
                drive=lambda at: (at.selectbox(key="preset").set_value(widgets.CUSTOM).run(),
                                  at.selectbox(key="cfg_engine").set_value("numpy").run(),
                                  at.selectbox(key="cfg_optimizer").set_value("adam").run())),
    # The training extras: input dropout, the norm's place, max-norm, warm-up, EMA, mixup, adversarial training.
    SettingCase("input-dropout-one", lambda d, r: TrainConfig(model=MLPSpec(input_dropout=1.0)),
                ("--input-dropout", "1"), "[0, 1)", values={"cfg_input_dropout": 1.0},
                bounds=lambda at: at.slider(key="cfg_input_dropout").max < 1),
    SettingCase("unknown-norm-place", lambda d, r: TrainConfig(model=MLPSpec(norm_where="middle")),
                ("--norm-where", "middle"), "one of before, after", values={"cfg_norm_where": "middle"},
                bounds=lambda at: at.selectbox(key="cfg_norm_where").options == labels(NORM_WHERE)),
    SettingCase("max-norm-negative", lambda d, r: TrainConfig(max_norm=-1.5), ("--max-norm=-1.5",), "[0, 1000]",
                values={"cfg_max_norm": -1.5}, bounds=lambda at: at.number_input(key="cfg_max_norm").min == 0),
    SettingCase("warm-up-negative", lambda d, r: TrainConfig(warmup_epochs=-0.5), ("--warmup-epochs=-0.5",),
                "[0, 10000]", values={"cfg_warmup_epochs": -0.5},
                bounds=lambda at: at.number_input(key="cfg_warmup_epochs").min == 0),
    SettingCase("ema-one", lambda d, r: TrainConfig(ema=1.0), ("--ema", "1"), "[0, 1)", values={"cfg_ema": 1.0},
                bounds=lambda at: at.number_input(key="cfg_ema").max < 1),
    SettingCase("mixup-negative", lambda d, r: TrainConfig(mixup=-0.5), ("--mixup=-0.5",), "[0, 10]",
                values={"cfg_mixup": -0.5}, bounds=lambda at: at.number_input(key="cfg_mixup").min == 0),
    SettingCase("adversarial-push-zero", lambda d, r: TrainConfig(adversarial_eps=0.0), ("--adversarial-eps", "0"),
                "(0, 100]", values={"cfg_adversarial_eps": 0.0},
                bounds=lambda at: at.number_input(key="cfg_adversarial_eps").min > 0),
]
SETTING_PATHS = ["core", "cli train", "dashboard"]


@pytest.fixture
def no_gpu(monkeypatch):
    """Every machine, GPU or not, behaves as one without CUDA (what the cuda case is about)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def expected_message(case: SettingCase, data_dir: Path, runs_dir: Path) -> str:
    with pytest.raises(case.error) as err:
        case.core(data_dir, runs_dir)
    message = str(err.value)
    assert case.allowed in message and "\n" not in message, message
    return message


@pytest.fixture(scope="module")
def train_page(tiny_data_dir, tmp_path_factory):
    """The Train page drawn once, for reading the controls' bounds (never clicked)."""
    runs = tmp_path_factory.mktemp("page") / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTLAB_DATA_DIR", str(tiny_data_dir))
        mp.setenv("MNISTLAB_RUNS_DIR", str(runs))
        mp.setattr(torch.cuda, "is_available", lambda: False)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.run()
        at.switch_page("pages/train.py").run()
        assert not at.exception, at.exception
        yield at
    assert not runs.exists()


@pytest.mark.parametrize("path_name", SETTING_PATHS)
@pytest.mark.parametrize("case", SETTING_CASES, ids=lambda c: c.id)
def test_bad_setting(case, path_name, tiny_data_dir, runs_dir, capsys, request):
    before = listing(tiny_data_dir, runs_dir)
    message = expected_message(case, tiny_data_dir, runs_dir)
    if path_name == "cli train":
        code = main(["train", *case.flags, "--data-dir", str(tiny_data_dir), "--runs-dir", str(runs_dir)])
        out, err = capsys.readouterr()
        assert (code, err) == (2, f"error: {message}\n"), out
    elif path_name == "dashboard" and case.drive:
        request.getfixturevalue("env")
        request.getfixturevalue("app_caches")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.run()
        at.switch_page("pages/train.py").run()
        case.drive(at)
        assert not at.exception, at.exception
        assert [e.value for e in at.error] == [message]
        assert "job_id" not in at.session_state  # nothing was queued
    elif path_name == "dashboard":
        assert case.bounds(request.getfixturevalue("train_page")), f"a control can produce {case.id}"
        if case.values:
            values = {**widgets.widget_values(TrainConfig()), **case.values}
            with pytest.raises(ConfigError) as err:
                widgets.build_config(values, "mnist")
            assert str(err.value) == message
    assert listing(tiny_data_dir, runs_dir) == before


def test_counts():
    """The README's "N bad settings tried": cases × paths."""
    assert (len(SETTING_CASES), len(SETTING_PATHS)) == (18, 3)
