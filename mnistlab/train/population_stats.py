"""`layer_stats.StepStats` for a population: each member's sampled gradient norms and update ratios, kept stacked."""

from __future__ import annotations

import torch

from mnistlab.train.layer_stats import GRAD_EVERY, UPDATE_EVERY


class _Means:
    """One member's step means, shaped as `StepStats.means()` for `layer_stats.layer_stats`."""

    def __init__(self, grads: list[float | None], ratios: list[float | None]):
        self.grads, self.ratios = grads, ratios

    def means(self) -> tuple[list[float | None], list[float | None]]:
        return self.grads, self.ratios


class PopulationStepStats:
    """(K, L) running sums on the device, sampled on the same steps as a normal run's (no sync)."""

    def __init__(self, layers: int, members: int, device: torch.device, enabled: bool = True):
        self.layers, self.device, self.enabled = layers, device, enabled
        self.before: list[torch.Tensor] = []  # stacked Linear weights just before a sampled step
        self.reset(members)

    def reset(self, members: int) -> None:
        self.grad_sum = torch.zeros(members, self.layers, device=self.device, dtype=torch.float64)  # (K, L)
        self.ratio_sum = torch.zeros(members, self.layers, device=self.device, dtype=torch.float64)  # (K, L)
        self.grad_count = self.ratio_count = 0

    def wants_grads(self, index: int) -> bool:
        return self.enabled and index % GRAD_EVERY == 0

    def wants_update(self, index: int) -> bool:
        return self.enabled and index % UPDATE_EVERY == 0

    @torch.no_grad()
    def add_grad_norms(self, weights: list[torch.Tensor]) -> None:
        """weights: the stacked (K, in, out) Linear weights after backward: ‖∂L/∂W‖₂ of each member and layer."""
        self.grad_sum += torch.stack([torch.linalg.vector_norm(w.grad, dim=(1, 2)) for w in weights], 1)
        self.grad_count += 1

    @torch.no_grad()
    def remember(self, weights: list[torch.Tensor]) -> None:
        """Copy the weights before the optimizer step (buffers reused while the population keeps its size)."""
        if len(self.before) != len(weights) or self.before[0].shape != weights[0].shape:
            self.before = [torch.empty_like(w) for w in weights]
        for buffer, w in zip(self.before, weights):
            buffer.copy_(w.detach())

    @torch.no_grad()
    def add_update_ratios(self, weights: list[torch.Tensor]) -> None:
        """‖ΔW‖ / ‖W_before‖ per member and layer, the weights `remember` copied against these (after the step)."""
        norms = torch.stack([torch.linalg.vector_norm(b, dim=(1, 2)) for b in self.before], 1)  # (K, L)
        changes = torch.stack([torch.linalg.vector_norm(b.sub_(w.detach()), dim=(1, 2))
                               for b, w in zip(self.before, weights)], 1)
        self.ratio_sum += changes / norms.clamp_min(1e-30)
        self.ratio_count += 1

    def keep_members(self, index: torch.Tensor) -> None:
        self.grad_sum, self.ratio_sum = self.grad_sum.index_select(0, index), self.ratio_sum.index_select(0, index)
        self.before = []

    def means(self, slots: list[int]) -> list[_Means]:
        """Each of members `slots`' step means this epoch (None where nothing was sampled), in one sync."""
        index = torch.tensor(slots, device=self.device)
        both = torch.stack([self.grad_sum.index_select(0, index) / max(self.grad_count, 1),
                            self.ratio_sum.index_select(0, index) / max(self.ratio_count, 1)], 1).tolist()
        none = [None] * self.layers
        return [_Means(grads if self.grad_count else none, ratios if self.ratio_count else none)
                for grads, ratios in both]
