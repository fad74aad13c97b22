"""`Preset`: a named recipe with its config, its lesson and the figure its source published."""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.train.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named recipe: its config, what it teaches and its published test accuracy."""

    name: str
    title: str
    lesson: str  # what a learner should watch and what it teaches
    config: TrainConfig
    published: float | None  # test accuracy the recipe's source reports (None: none published)
    source: str  # where the recipe comes from

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "lesson": self.lesson, "published": self.published,
                "source": self.source, "config": self.config.to_dict()}
