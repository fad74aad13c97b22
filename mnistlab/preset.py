"""`Preset`: a named recipe with its config, its lesson and the figure its source published."""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.train.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named recipe: its config, what it teaches and its published (or, for a record, target) test accuracy."""

    name: str
    title: str
    lesson: str  # what a learner should watch and what it teaches
    config: TrainConfig
    published: float | None  # test accuracy the recipe's source reports (None: none published)
    source: str  # where the recipe comes from
    target: float | None = None  # record presets: the test accuracy the recipe is built to pass

    def figure(self) -> str:
        """Its published figure, or its target, in words: "published 97.0%", "target ≥ 99.4%"."""
        if self.published is not None:
            return f"published {self.published:.1%}"
        return f"target ≥ {self.target:.1%}" if self.target is not None else "no published figure"

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "lesson": self.lesson, "published": self.published,
                "target": self.target, "source": self.source, "config": self.config.to_dict()}
