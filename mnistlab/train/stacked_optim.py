"""torch.optim's SGD, SGD + momentum, Adam and AdamW on stacked (K, …) parameters, hyper-parameters per member.

The update formulas and their order of operations are those of `torch.optim` (foreach, non-capturable,
torch ≥ 2.11) so a member's weights follow a normal run's: hyper-parameters are float64 per member, turned
into float32 factors where torch.optim turns its Python floats into the kernel's scalar.

SGD:      g ← g + wd·p;  p ← p − lr·g                      (dampening 0, no Nesterov, as `make_optimizer`)
momentum: g ← g + wd·p;  buf ← m·buf + g (buf = g at step 1);  p ← p − lr·buf
Adam:     g ← g + wd·p;  m ← lerp(m, g, 1 − β1);  v ← β2·v + (1 − β2)·g²;
          p ← p + (−lr / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + ε)
AdamW:    p ← p·(1 − lr·wd), then Adam without the wd term.

On the CPU, Adam and AdamW run torch's fused kernel (`torch._fused_adam_`, what `Adam(fused=True)` calls) on
each member's slices instead: one pass over memory instead of eight (its rounding differs from foreach's by
~1e-7 after 100 steps; the stacked torch ops, which GPUs want, stay within the same bound).
"""

from __future__ import annotations

import torch

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults, which `make_optimizer` keeps


def _per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(K,) → (K, 1, …) float32, broadcasting over one stacked parameter."""
    return values.to(like.dtype).view(-1, *[1] * (like.dim() - 1))


class StackedOptimizer:
    """Steps a list of stacked parameters (leading axis: member) from their `.grad`."""

    def __init__(self, kind: str, params: list[torch.Tensor], lr: list[float], weight_decay: list[float],
                 momentum: list[float], fused: bool | None = None):
        device = params[0].device
        self.kind = kind
        # Per-member fused kernels on the CPU (per-element speed matters); stacked ops on a GPU (launches matter).
        self.fused = (device.type == "cpu") if fused is None else fused
        self.lr_values, self.wd_values = list(lr), list(weight_decay)
        self._slices: list | None = None  # per member: its (params, exp_avgs, exp_avg_sqs) rows
        self.step_count = torch.zeros(())  # the fused kernels read the step from a tensor (one per parameter)
        self.lr = torch.tensor(lr, dtype=torch.float64, device=device)  # (K,) the current learning rates
        self.wd = torch.tensor(weight_decay, dtype=torch.float64, device=device)  # (K,)
        self.momentum = torch.tensor(momentum, dtype=torch.float64, device=device)  # (K,)
        self.any_wd = any(weight_decay)
        self.t = 0  # steps taken (every member steps together, so one count serves all)
        self.state: list[list[torch.Tensor]] = [[] for _ in params]  # per param: momentum buf, or Adam (m, v)
        if kind in ("adam", "adamw"):
            self.state = [[torch.zeros_like(p), torch.zeros_like(p)] for p in params]
        elif kind == "momentum":
            self.state = [[torch.zeros_like(p)] for p in params]

    def set_lr(self, lr: list[float]) -> None:
        self.lr_values = list(lr)
        self.lr.copy_(torch.tensor(lr, dtype=torch.float64))

    @torch.no_grad()
    def step(self, params: list[torch.Tensor]) -> None:
        self.t += 1
        if self.kind in ("adam", "adamw"):
            self._fused_adam(params) if self.fused else self._adam(params)
            return
        for p, state in zip(params, self.state):
            g = p.grad
            if self.any_wd:
                g = g + _per_member(self.wd, p) * p
            if self.kind == "momentum":
                buf = state[0]
                # Step 1: torch clones g into the buffer; 0·m + g is that exactly.
                g = buf.mul_(_per_member(self.momentum, p)).add_(g)
            p.sub_(_per_member(self.lr, p) * g)

    def _adam(self, params: list[torch.Tensor]) -> None:
        bias1 = 1 - BETA1 ** self.t
        bias2_sqrt = (1 - BETA2 ** self.t) ** 0.5
        step_size = -(self.lr / bias1)  # (K,) float64, as torch's Python-float (lr / bc) * -1
        decay = 1 - self.lr * self.wd  # (K,) AdamW's decoupled decay
        for p, (m, v) in zip(params, self.state):
            g = p.grad
            if self.any_wd:
                if self.kind == "adamw":
                    p.mul_(_per_member(decay, p))
                else:
                    g = g + _per_member(self.wd, p) * p
            m.lerp_(g, 1 - BETA1)
            v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
            denom = v.sqrt().div_(bias2_sqrt).add_(EPS)
            p.add_(m.mul(_per_member(step_size, p)).div_(denom))  # addcdiv's (value·m) / denom

    def _fused_adam(self, params: list[torch.Tensor]) -> None:
        kernel = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
        if self._slices is None:  # views of each member's rows, made once (they stay valid until members leave)
            self._slices = [([p[k] for p in params], [s[0][k] for s in self.state], [s[1][k] for s in self.state])
                            for k in range(len(self.lr_values))]
        grads = [p.grad for p in params]
        self.step_count.fill_(self.t)  # every member has taken t steps
        step = [self.step_count] * len(params)
        for k, ((p, m, v), lr, wd) in enumerate(zip(self._slices, self.lr_values, self.wd_values)):
            kernel(p, [g[k] for g in grads], m, v, [], step, lr=lr, beta1=BETA1, beta2=BETA2, weight_decay=wd,
                   eps=EPS, amsgrad=False, maximize=False)

    def keep_members(self, slots: list[int], params: list[torch.Tensor]) -> None:
        """Keep only members `slots` (the rows `StackedMLP.keep_members` kept); `params` are the new leaves."""
        self.lr_values, self.wd_values = [self.lr_values[s] for s in slots], [self.wd_values[s] for s in slots]
        index = torch.tensor(slots, device=self.lr.device)
        self.lr, self.wd, self.momentum = (t.index_select(0, index) for t in (self.lr, self.wd, self.momentum))
        self.state = [[s.index_select(0, index) for s in state] for state in self.state]
        self._slices = None
        assert all(len(p) == len(slots) for p in params), "parameters and optimizer state must keep the same members"
