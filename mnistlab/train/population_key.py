"""Which trials can train together as one population, decided from what the normal trainer does with each field.

A population stacks K same-shape MLPs and trains them in one batched step (`train.population`). Members
share the data tensors, the step loop and one batched matrix product per layer, so everything that sets
the data, the tensor shapes or the loop must be equal (`shape_key`):

- data: dataset, train_subset, subset_mode, val_split, val_mode, test_subset, and the seeds too when the
  subset draw or the validation split is random (`prepare_data` seeds them with `subset_seed` or `seed`);
- model shape: hidden widths, activation (and leaky_relu's slope), norm, output activation, input_scale,
  outputs: one batched product per layer, one elementwise activation for all;
- loop: batch_size, epochs (the same steps), loss, optimizer kind, schedule kind, device, engine, and
  test_every_epoch (the test set is scored for all members, or only after the last epoch).

What may differ per member, each applied exactly as the normal trainer applies it: lr, momentum,
weight_decay, label_smoothing, step_epochs, step_gamma, warmup_epochs (the schedule is evaluated per member), dropout
and dropout_where (a per-member mask, 1 where a member has no dropout), init (each member is built by the
normal model builder), seed (initial weights, shuffling, dropout masks) and shuffle (each its own order).

Unbatchable: the NumPy engine, batch norm (its running statistics and batch coupling are per model),
augmentation and mixup (drawn per run on the device with the run's generator), adversarial training, input dropout and a norm
after the activation (not in `StackedMLP`'s forward), max-norm and EMA (applied per model after its step):
`shape_key` marks them and `group_by_shape` trains each on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from mnistlab.errors import ConfigError
from mnistlab.train.config import TrainConfig

UNBATCHABLE = "unbatchable"


def unbatchable_reason(config: TrainConfig) -> str | None:
    """Why `config` cannot train in a population (None when it can)."""
    if config.engine != "torch":
        return f"the {config.engine} engine trains one model at a time"
    if config.model.norm == "batch":
        return "batch norm keeps per-model running statistics"
    if config.augment.active:
        return "augmentation is drawn per run"
    if config.model.input_dropout:
        return "input dropout is not in the stacked models"
    if config.model.norm != "none" and config.model.norm_where == "after":
        return "a norm after the activation is not in the stacked models"
    if config.max_norm:
        return "max-norm is applied per model"
    if config.ema:
        return "the weights' moving average (EMA) is kept per model"
    if config.mixup:
        return "mixup is drawn per run"
    if config.adversarial != "none":
        return "adversarial copies are made per model"
    return None


def shape_key(config: TrainConfig) -> tuple:
    """What must be equal for configs to train together, as (field, value) pairs; see the module docstring.

    An unbatchable config gets (("unbatchable", reason),): `group_by_shape` never groups those.
    """
    reason = unbatchable_reason(config)
    if reason is not None:
        return ((UNBATCHABLE, reason),)
    m = config.model
    random_data = ((config.train_subset is not None and config.subset_mode != "first")
                   or (config.val_split > 0 and config.val_mode == "random"))
    return (
        ("dataset", config.dataset), ("train_subset", config.train_subset), ("subset_mode", config.subset_mode),
        ("val_split", config.val_split), ("val_mode", config.val_mode), ("test_subset", config.test_subset),
        ("data seed", (config.seed if config.subset_seed is None else config.subset_seed,
                       config.seed if config.val_mode == "random" else None) if random_data else None),
        ("hidden", m.hidden), ("activation", m.activation),
        ("leaky_slope", m.leaky_slope if m.activation == "leaky_relu" else None), ("norm", m.norm),
        ("output", m.output), ("input_scale", m.input_scale), ("outputs", m.outputs),
        ("batch_size", config.batch_size), ("epochs", config.epochs), ("loss", config.loss),
        ("optimizer", config.optimizer), ("schedule", config.schedule), ("device", config.device),
        ("engine", config.engine), ("test_every_epoch", config.test_every_epoch),
    )


def batchable(config: TrainConfig) -> bool:
    return unbatchable_reason(config) is None


def group_by_shape(configs: Sequence[TrainConfig], size: int) -> list[list[int]]:
    """Indices of `configs` in groups that can train together, at most `size` each, in first-seen order.

    Unbatchable configs come alone; so does everything when size is 1 (one at a time).
    """
    if size < 1:
        raise ConfigError(f"a population needs at least 1 member per group, got {size}.")
    groups: dict[tuple, list[list[int]]] = {}
    order: list[list[int]] = []
    for i, config in enumerate(configs):
        key = shape_key(config)
        chunks = groups.setdefault(key, []) if batchable(config) else []
        if not chunks or len(chunks[-1]) >= size:
            chunks.append([])
            order.append(chunks[-1])
        chunks[-1].append(i)
    return order


def check_population(configs: Sequence[TrainConfig]) -> None:
    """ConfigError (one sentence) unless `configs` can train together as one population."""
    if not configs:
        raise ConfigError("a population needs at least one trial.")
    for i, config in enumerate(configs):
        reason = unbatchable_reason(config)
        if reason is not None:
            raise ConfigError(f"trial {i} cannot train in a population ({reason}); train it on its own.")
    first = dict(shape_key(configs[0]))
    for i, config in enumerate(configs[1:], start=1):
        for name, value in shape_key(config):
            if value != first[name]:
                raise ConfigError(f"trial {i} has {name} {value!r} where trial 0 has {first[name]!r}: only trials of "
                                  "one shape train together; group them with group_by_shape first.")
