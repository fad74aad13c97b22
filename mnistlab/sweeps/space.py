"""A sweep's search space: its parameters as Optuna distributions, and the config a trial's values make.

Depth and width: `hidden=choice:64,256+128` picks whole layer lists; `layers=int:1:4 width=choice:64,128`
searches depth and width as two axes and builds hidden = (width,) * layers (every layer equally wide; a
missing `width` keeps the base's first width, a missing `layers` the base's depth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from mnistlab.configs import quote
from mnistlab.errors import ConfigError, SweepError
from mnistlab.models.spec import MLPSpec
from mnistlab.settings import set_paths
from mnistlab.sweeps.spec import MAX_CHOICES, Param, parse_param, sweepable, widths
from mnistlab.train.config import AUGMENT_NAMES, TrainConfig


@dataclass(frozen=True)
class Space:
    """The searched parameters, in the order given."""

    params: tuple[Param, ...]

    def __repr__(self) -> str:
        return f"Space({' '.join(f'{p.name}={p.spec}' for p in self.params)})"

    @classmethod
    def parse(cls, texts: list[str]) -> Space:
        """Space from FIELD=SPEC texts (SweepError for a bad one, a repeat, or hidden beside layers/width)."""
        if not texts:
            raise SweepError("a sweep needs at least one --param FIELD=SPEC, e.g. --param lr=log:1e-4:1e-1.")
        params = tuple(parse_param(text) for text in texts)
        names = [p.name for p in params]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise SweepError(f"--param {repeated[0]} is given twice; give each field one SPEC.")
        if "hidden" in names and ("layers" in names or "width" in names):
            raise SweepError("search hidden, or layers and width, not both: drop one of them.")
        return cls(params)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def distributions(self) -> dict[str, BaseDistribution]:
        """Each parameter as the Optuna distribution `study.ask` samples it from."""
        return {p.name: _distribution(p) for p in self.params}

    def grid(self) -> dict[str, list]:
        """Each parameter's values for a grid search; SweepError for a continuous range."""
        grid = {}
        for p in self.params:
            if p.kind == "choice":
                grid[p.name] = list(p.choices)
            elif p.kind == "int" and p.high - p.low < MAX_CHOICES:
                grid[p.name] = list(range(int(p.low), int(p.high) + 1))
            else:
                raise SweepError(f"the grid sampler needs a list of values for {p.name}: use choice:A,B,… (e.g. "
                                 f"{p.name}=choice:{p.low:g},{p.high:g}), or --sampler tpe or random.")
        return grid

    def grid_size(self) -> int:
        size = 1
        for values in self.grid().values():
            size *= len(values)
        return size

    def config(self, base: TrainConfig, values: dict[str, Any]) -> TrainConfig:
        """`base` with a trial's values applied, validated as a whole (ConfigError for a bad combination)."""
        data = base.to_dict()
        if "augment" in values:  # the recipe first, so single aug_* parameters change parts of it
            data["augment"] = AUGMENT_NAMES[values["augment"]].to_dict()
        leaves = sweepable()
        changes = {leaves[n].path: widths(v) if n == "hidden" else v
                   for n, v in values.items() if n in leaves}
        if "layers" in values or "width" in values:
            hidden = base.model.hidden
            width = values.get("width", hidden[0] if hidden else MLPSpec().hidden[0])
            changes[("model", "hidden")] = (width,) * values.get("layers", max(len(hidden), 1))
        return TrainConfig.from_dict(set_paths(data, changes))

    def check(self, base: TrainConfig) -> None:
        """SweepError when the base config with the range's low (or high) ends is not a valid config."""
        for end in ("low", "high"):
            values = {p.name: (p.choices[0] if end == "low" else p.choices[-1]) if p.kind == "choice"
                      else getattr(p, end) for p in self.params}
            try:
                self.config(base, values)
            except ConfigError as error:
                shown = ", ".join(f"{k}={quote(v)}" for k, v in values.items())
                raise SweepError(f"with the base config, the search space's point {shown} is not a valid config: "
                                 f"{str(error).rstrip('.')}; narrow the range or change the base.") from None

    def to_list(self) -> list[dict]:
        return [p.to_dict() for p in self.params]

    @classmethod
    def from_list(cls, data: list[dict]) -> Space:
        return cls(tuple(Param.from_dict(d) for d in data))


def _distribution(p: Param) -> BaseDistribution:
    if p.kind == "choice":
        return CategoricalDistribution(p.choices)
    if p.kind == "float":
        return FloatDistribution(p.low, p.high)
    if isinstance(p.low, int) and isinstance(p.high, int):  # int, or log over whole numbers
        return IntDistribution(p.low, p.high, log=p.kind == "log")
    return FloatDistribution(p.low, p.high, log=True)
