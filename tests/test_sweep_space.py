"""Sweep search spaces: the SPEC grammar, checked by each field's own declaration; the configs a point makes."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from mnistlab.errors import SweepError
from mnistlab.models.spec import MLPSpec
from mnistlab.settings import leaf_settings
from mnistlab.sweeps.space import Space
from mnistlab.sweeps.spec import FIXED, Param, parse_param, sweepable
from mnistlab.train.config import AUGMENT_NAMES, TrainConfig

BASE = TrainConfig(model=MLPSpec(hidden=(16,)), batch_size=50, epochs=1, device="cpu", val_split=0.1)


def test_each_spec_kind_becomes_the_distribution_optuna_samples():
    space = Space.parse(["lr=log:1e-4:1e-1", "dropout=float:0:0.5", "epochs=int:1:4", "batch-size=log:16:256",
                         "activation=choice:relu,tanh", "input_scale=choice:unit,standardize", "width=log:16:1024"])
    d = space.distributions()
    assert d["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["dropout"] == FloatDistribution(0.0, 0.5)
    assert d["epochs"] == IntDistribution(1, 4)
    assert d["batch_size"] == IntDistribution(16, 256, log=True)  # an int field's log range stays whole numbers
    assert d["activation"] == CategoricalDistribution(("relu", "tanh"))
    assert d["input_scale"] == CategoricalDistribution(("unit", "standardize"))
    assert d["width"] == IntDistribution(16, 1024, log=True)
    assert [p.spec for p in space.params][:3] == ["log:0.0001:0.1", "float:0:0.5", "int:1:4"]


def test_a_field_is_named_by_its_flag_its_path_or_its_name():
    for text in ("weight-decay", "weight_decay"):
        assert parse_param(f"{text}=float:0:0.01").name == "weight_decay"
    assert parse_param("model.dropout=float:0:0.5").name == "dropout"
    assert parse_param("aug-rotation=float:0:30").name == "aug_rotation"
    assert parse_param("rotation=float:0:30").name == "aug_rotation"


def test_the_issues_fields_are_all_sweepable():
    names = set(sweepable()) | {"layers", "width", "augment"}
    for name in ("lr", "hidden", "layers", "width", "activation", "dropout", "norm", "optimizer", "weight_decay",
                 "batch_size", "label_smoothing", "aug_rotation", "aug_elastic_alpha", "augment", "epochs"):
        assert name in names, name
    # Every declared field with a flag is either sweepable or fixed with a reason.
    for leaf in leaf_settings(TrainConfig):
        if leaf.flag is not None:
            assert leaf.dest in sweepable() or leaf.dest in FIXED or leaf.setting.kind == "name", leaf.dest


@pytest.mark.parametrize("text, message", [
    ("dropout=float:0:1.5", "--param dropout=float:0:1.5: dropout must be in [0, 1); got 1.5."),
    ("lr=log:0:1", "a log range needs a low end above 0"),
    ("lr=float:0:1", "learning rate must be in (0, 10]; got 0.0."),
    ("batch-size=int:0:64", "batch size must be in [1, 65536]; got 0."),
    ("hidden=choice:64,16+0", "width of hidden layer 2 must be in [1, 65536]; got 0."),
    ("activation=choice:relu,swish", "activation must be one of relu, sigmoid, tanh, leaky_relu, gelu; got 'swish'."),
    ("layers=int:1:99", "number of hidden layers must be in [0, 32]; got 99."),
    ("activation=float:0:1", "activation takes one of a list, not a float range: use choice:A,B."),
    ("epochs=float:1:3", "epochs is a whole number: use int:LOW:HIGH"),
    ("hidden=int:16:64", "use choice:64,128,256+128 (or layers=int:1:4 width=…)"),
    ("lr=lin:1:2", "a SPEC is log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or choice:A,B,…; got 'lin:1:2'."),
    ("lr=log:0.5:0.1", "the low end (0.5) must be below the high end (0.1)."),
    ("lr=log:1e-3:abc", "'abc' is not a number."),
    ("lr=log:1e-3", "a range is log:LOW:HIGH"),
    ("epochs=int:1.5:3", "1.5 is not a whole number."),
    ("lr", "--param takes FIELD=SPEC (e.g. lr=log:1e-4:1e-1); got 'lr'."),
    ("seed=int:0:3", "seeds are replicates, not a search axis: use --seeds N."),
    ("val-split=float:0.1:0.2", "set it with --val-split"),
    ("test-subset=int:1:10", "the test set is never used to choose"),
    ("dataset=choice:mnist", "a sweep searches one dataset"),
    ("colour=choice:red", "'colour' is not a setting a sweep can search; use one of"),
    ("augment=choice:none,wobbly", "augment must be one of none, affine, flip, elastic; got 'wobbly'."),
])
def test_a_bad_param_is_one_sentence_naming_it_and_the_fix(text, message):
    with pytest.raises(SweepError) as error:
        parse_param(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value) and str(error.value).endswith(".")


def test_a_space_refuses_repeats_hidden_beside_layers_and_no_params():
    with pytest.raises(SweepError, match="given twice"):
        Space.parse(["lr=log:1e-3:1e-1", "lr=float:0.1:0.2"])
    with pytest.raises(SweepError, match="search hidden, or layers and width, not both"):
        Space.parse(["hidden=choice:64", "layers=int:1:3"])
    with pytest.raises(SweepError, match="at least one --param"):
        Space.parse([])


def test_layers_and_width_build_hidden_and_hidden_choices_are_whole_layer_lists():
    space = Space.parse(["layers=int:0:4", "width=choice:32,64"])
    assert space.config(BASE, {"layers": 3, "width": 64}).model.hidden == (64, 64, 64)
    assert space.config(BASE, {"layers": 0, "width": 64}).model.hidden == ()  # logistic regression
    assert Space.parse(["layers=int:1:4"]).config(BASE, {"layers": 2}).model.hidden == (16, 16)  # the base's width
    assert Space.parse(["width=int:8:64"]).config(BASE.with_(hidden=(16, 16)), {"width": 8}).model.hidden == (8, 8)
    hidden = parse_param("hidden=choice:64,256+128,none")
    assert hidden.choices == ("64", "256+128", "none")
    space = Space((hidden,))
    assert [space.config(BASE, {"hidden": c}).model.hidden for c in hidden.choices] == [(64,), (256, 128), ()]


def test_a_point_is_the_base_with_its_values_validated_as_a_whole():
    space = Space.parse(["augment=choice:none,affine", "aug-rotation=float:0:30", "dropout=float:0:0.5"])
    config = space.config(BASE, {"augment": "affine", "aug_rotation": 5.0, "dropout": 0.25})
    assert config.augment.translate == AUGMENT_NAMES["affine"].translate and config.augment.rotation == 5.0
    assert config.model.dropout == 0.25 and config.val_split == 0.1 and config.model.hidden == (16,)
    numpy = BASE.with_(engine="numpy")
    with pytest.raises(SweepError, match="the NumPy engine does not support activation 'tanh'"):
        Space.parse(["activation=choice:relu,tanh"]).check(numpy)


def test_a_grid_needs_finite_axes():
    space = Space.parse(["epochs=int:1:3", "activation=choice:relu,tanh"])
    assert space.grid() == {"epochs": [1, 2, 3], "activation": ["relu", "tanh"]} and space.grid_size() == 6
    with pytest.raises(SweepError, match="the grid sampler needs a list of values for lr: use choice"):
        Space.parse(["lr=log:1e-3:1e-1"]).grid()


def test_a_space_round_trips_through_json():
    space = Space.parse(["lr=log:1e-4:1e-1", "epochs=int:1:4", "hidden=choice:64,256+128"])
    again = Space.from_list(space.to_list())
    assert again == space and isinstance(again.params[1].low, int)
    assert Param.from_dict(space.params[0].to_dict()).spec == "log:0.0001:0.1"
