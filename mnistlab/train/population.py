"""Train K same-shape trials at once as one stacked model; each member is still its own run, with its own events.

A step of a small MLP leaves a device mostly idle: on a CPU its time goes to per-step overhead (autograd,
optimizer, Python), on a GPU to kernel launches. A population pays that overhead once for K members:
their batches are one (K, B) index gather, each layer one `baddbmm` and one autograd pass for all
(`train.stacked`), the optimizer one set of ops over the stacked tensors with per-member hyper-parameters
(`train.stacked_optim`; on the CPU Adam is torch's fused kernel per member, one pass over memory).

Each member is what a normal `train(config)` would make of its config: the same initial weights (built by
the normal builder after `torch.manual_seed(seed)`), the same data order (its own seeded permutation per
epoch), the same dropout masks on the CPU (its own copy of the global generator, replayed), the same loss,
optimizer and schedule maths, the same per-epoch evaluation and layer statistics, and the same events
(RunStarted, StepProgress, EpochEnded, RunFinished / RunFailed), so the normal RunRecorder records it.
Only float rounding differs (batched products sum in another order): tests/test_population.py bounds it.
Times are the population's wall clock, which its members share.

A cancelled member (`cancel[k].set()`, or a sweep's `Stop.prune`) ends its epoch there, is evaluated and
leaves the population; so does a diverged one (NaN loss), its last good weights kept as a normal run's
are. The others train on, unaffected: no op mixes members.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from mnistlab.device import device_name, pick_device, synchronize
from mnistlab.models.inputs import to_inputs
from mnistlab.models.torch_mlp import build_model
from mnistlab.train import layer_stats as stats
from mnistlab.train.cancel import stop_status
from mnistlab.train.config import TrainConfig
from mnistlab.train.events import EpochEnded, RunFinished, RunStarted, StepProgress, Subscriber
from mnistlab.train.loop import PROGRESS_EVERY_S, TrainResult, WeightSaver, _Bus, _diverged, _Snapshots
from mnistlab.train.population_key import check_population
from mnistlab.train.population_member import Member, each
from mnistlab.train.population_stats import PopulationStepStats
from mnistlab.train.prepare import PreparedData, prepare_data
from mnistlab.train.schedule import lr_at
from mnistlab.train.stacked import StackedMLP, evaluate_members, member_losses
from mnistlab.train.stacked_optim import StackedOptimizer
from mnistlab.train.stall import stall_message
from mnistlab.train.threads import SMALL_STEP_WORK, cpu_threads
from mnistlab.train.torch_engine import epoch_order

DROPOUT_MASKS = ("auto", "replay", "batched")  # replay: each member's normal-trainer masks (CPU only)


def population_threads(configs: Sequence[TrainConfig]) -> int:
    """Intra-op CPU threads for a population: `threads.cpu_threads_for`'s rule on the work of all members."""
    work = len(configs) * configs[0].batch_size * configs[0].model.parameter_count()
    return 1 if work < SMALL_STEP_WORK else torch.get_num_threads()


def train_population(configs: Sequence[TrainConfig], *, data_dir: str | Path | None = None,
                     data: PreparedData | None = None, subscribers: Sequence[Iterable[Subscriber]] = (),
                     cancel: Sequence[threading.Event | None] = (), run_ids: Sequence[str] = (),
                     save_weights: Sequence[WeightSaver | None] = (), layer_stats: bool = True,
                     dropout_masks: str = "auto") -> list[TrainResult]:
    """Train `configs` (one shape: `population_key.check_population`) together; one TrainResult each, in order.

    Args:
        configs: the members; they may differ in lr, momentum, weight decay, dropout, label smoothing, init, seed.
        data_dir, data: as `train` (the splits are shared: one shape means one dataset).
        subscribers, cancel, run_ids, save_weights: one per member (or empty), as `train`'s for one run.
        layer_stats: False skips the per-layer statistics, as `train`'s.
        dropout_masks: "replay" draws each member's masks from its own copy of the generator a normal run uses
            (the same masks; CPU only, one small draw per member), "batched" one draw for all (statistically the
            same, not the same masks); "auto" replays on the CPU.
    """
    configs = list(configs)
    check_population(configs)
    k = len(configs)
    device = pick_device(configs[0].device)
    assert dropout_masks in DROPOUT_MASKS, f"dropout_masks must be one of {DROPOUT_MASKS}, got {dropout_masks!r}"
    replay = dropout_masks == "replay" or (dropout_masks == "auto" and device.type == "cpu")
    assert not replay or device.type == "cpu", "replayed dropout masks need the CPU generator a normal run uses"
    data = data or prepare_data(configs[0], data_dir)
    lists = (each(subscribers, k, list, "subscribers"), each(cancel, k, None, "cancel"),
             each(run_ids, k, "", "run_ids"), each(save_weights, k, None, "save_weights"))
    threads = population_threads(configs) if device.type == "cpu" else torch.get_num_threads()
    with cpu_threads(threads):
        return _Population(configs, data, device, *lists, layer_stats, replay).train()


class _Population:
    """The state of one population run: the stacked model, its optimizer, the members still training."""

    def __init__(self, configs, data: PreparedData, device: torch.device, subscribers, cancels, run_ids, savers,
                 record_stats: bool, replay: bool):
        self.config, self.data, self.device, self.record_stats = configs[0], data, device, record_stats
        self.x = to_inputs(data.train.images.to(device))  # (N, 28, 28)
        self.y = data.train.labels.to(device)  # (N,)
        spec = configs[0].model
        standard = spec.input_scaling(self.x) if spec.scales_inputs else None
        self.x = self.x.reshape(len(self.x), -1)  # (N, 784): batches are cut by index, no reshape per step
        self.probe = self.x[:stats.PROBE_SIZE]
        self.members: list[Member] = []
        dropout_gens = []
        for config, subs, cancel, run_id, saver in zip(configs, subscribers, cancels, run_ids, savers):
            torch.manual_seed(config.seed)  # as TorchStepper: the member's weights, then its dropout stream
            model = build_model(config.model).to(device)
            if standard is not None:
                model.set_standardization(*standard)
            dropout_gens.append(torch.Generator().set_state(torch.get_rng_state()) if replay else None)
            order_gen = torch.Generator(device=device).manual_seed(config.seed)
            self.members.append(Member(config, _Bus(subs), cancel, run_id, _Snapshots(saver, config), model,
                                        order_gen, TrainResult("finished", None, device=device.type, data=data),
                                        config.lr))
        self.stack = StackedMLP([m.model for m in self.members], dropout_gens if replay else None)
        self.mask_gen = None if replay else torch.Generator(device=device).manual_seed(configs[0].seed)
        self.opt = StackedOptimizer(self.config.optimizer, self.stack.params, [c.lr for c in configs],
                                    [c.weight_decay for c in configs], [c.momentum for c in configs])
        smoothing = [c.label_smoothing for c in configs]
        self.smoothing = torch.tensor(smoothing, device=device) if any(smoothing) else None  # (K,)
        self.active = list(self.members)
        self.steps = math.ceil(len(self.x) / self.config.batch_size)
        self.step_stats = PopulationStepStats(len(self.stack.linear_weights()), len(configs), device, record_stats)
        self.global_step = 0

    def train(self) -> list[TrainResult]:
        config, data = self.config, self.data
        name = device_name(self.device)
        for m in self.members:
            m.snapshots.save(0, m)
            m.emit(RunStarted(m.run_id, m.config.to_dict(), self.device.type, name, config.model.parameter_count(),
                              self.steps, len(data.train), len(data.val) if data.val else 0, len(data.test),
                              initial_layers=tuple(stats.layer_stats(m.model, self.probe)) if self.record_stats else ()))
        last_report = time.perf_counter()
        for epoch in range(1, config.epochs + 1):
            if not self.active:
                break
            self._begin_epoch()
            synchronize(self.device)
            self.start, self.paused = time.perf_counter(), 0.0
            for index in range(self.steps):
                stopping = [j for j, m in enumerate(self.active) if m.cancelled]
                if stopping:
                    self._end_epoch(stopping, epoch)
                if not self.active:
                    break
                if config.schedule != "none" or any(m.config.warmup_epochs for m in self.active):
                    self._schedule()
                self._step(index)
                self.global_step += 1
                now = time.perf_counter()
                if now - last_report >= PROGRESS_EVERY_S:
                    last_report = now
                    self._progress(epoch, index)
            if self.active:
                synchronize(self.device)
                self._end_epoch(list(range(len(self.active))), epoch)
        return [m.result for m in self.members]

    def _begin_epoch(self) -> None:
        n = len(self.x)
        self.orders = torch.stack([epoch_order(n, m.config.shuffle, self.device, m.order_gen)
                                   for m in self.active])  # (K, N): each member's normal-trainer order
        self.loss_sum = torch.zeros(len(self.active), device=self.device)  # (K,)
        self.correct = torch.zeros(len(self.active), dtype=torch.int64, device=self.device)  # (K,)
        self.step_stats.reset(len(self.active))
        self.seen = 0

    def _schedule(self) -> None:
        lrs = []
        for m in self.active:
            c = m.config
            m.lr = lr_at(c.schedule, c.lr, self.global_step, self.steps * c.epochs, self.steps, c.step_epochs,
                         c.step_gamma, c.warmup_epochs)
            lrs.append(m.lr)
        self.opt.set_lr(lrs)

    def _step(self, index: int) -> None:
        """One optimizer step of every active member on its own batch number `index` of this epoch."""
        k, batch = len(self.active), self.config.batch_size
        flat = self.orders[:, index * batch:(index + 1) * batch].reshape(-1)  # (K·B,) row indices
        x = self.x.index_select(0, flat).view(k, -1, self.x.shape[1])  # (K, B, 784)
        y = self.y.index_select(0, flat).view(k, -1)  # (K, B)
        logits = self.stack.forward(x, train=True, generator=self.mask_gen)  # (K, B, classes)
        losses = member_losses(logits, y, self.config.loss, self.config.model.output, self.smoothing)  # (K,)
        params = self.stack.params
        for p in params:
            p.grad = None
        losses.sum().backward()  # member k's gradient is that of its own mean loss: no term mixes members
        weights = self.stack.linear_weights()
        if self.step_stats.wants_grads(index):
            self.step_stats.add_grad_norms(weights)
        sample_update = self.step_stats.wants_update(index)
        if sample_update:
            self.step_stats.remember(weights)
        self.opt.step(params)
        if sample_update:
            self.step_stats.add_update_ratios(self.stack.linear_weights())
        n = y.shape[1]
        self.loss_sum += losses.detach() * n
        self.correct += (logits.detach().argmax(-1) == y).sum(1)
        self.seen += n

    def _elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def _epoch_stats(self) -> list[tuple[float, float]]:
        """(mean training loss, accuracy) of each active member over the epoch so far, in one sync."""
        both = torch.stack([self.loss_sum.double(), self.correct.double()], 1).tolist()
        return [(loss / max(self.seen, 1), correct / max(self.seen, 1)) for loss, correct in both]

    def _progress(self, epoch: int, index: int) -> None:
        epoch_s = self._elapsed()
        rows = self._epoch_stats()
        diverged = [j for j, (loss, _) in enumerate(rows) if not math.isfinite(loss)]
        if diverged:  # as a normal run: stop stepping it now, judge it at its epoch's end (now)
            self._end_epoch(diverged, epoch)
        for m, (loss, accuracy) in zip(self.active, (r for j, r in enumerate(rows) if j not in diverged)):
            m.emit(StepProgress(epoch, m.config.epochs, index + 1, self.steps, loss, self.seen / max(epoch_s, 1e-9),
                                m.elapsed + epoch_s, accuracy))

    def _end_epoch(self, slots: list[int], epoch: int) -> None:
        """End the epoch of active members `slots`, as the normal loop ends one: judge, evaluate, record, emit."""
        pause = time.perf_counter()
        epoch_s = pause - self.start - self.paused
        rows = self._epoch_stats()
        leaving, recorded = [], []
        for j in slots:
            m, (loss, accuracy) = self.active[j], rows[j]
            stopped = m.cancelled  # read once, as the normal loop reads it once at an epoch's end
            if not math.isfinite(loss):
                _diverged(m.result, m, m.emit, epoch, m.config, m.elapsed + epoch_s)
                leaving.append(j)
            elif stopped and self.seen == 0:  # stopped before its first step of this epoch: nothing to record
                m.elapsed += epoch_s
                self._finish(m)
                leaving.append(j)
            else:
                recorded.append((j, loss, accuracy, stopped))
        if recorded:
            self._record(recorded, epoch, epoch_s, leaving)
        if leaving:
            self._leave(leaving)
        self.paused += time.perf_counter() - pause

    def _record(self, recorded: list[tuple], epoch: int, epoch_s: float, leaving: list[int]) -> None:
        slots = [j for j, *_ in recorded]
        stack = self.stack if len(slots) == len(self.active) else self.stack.select(slots)
        val = evaluate_members(stack, self.data.val, self.config, self.device) if self.data.val is not None else None
        scored = [self.active[j].config.test_every_epoch or stopped or epoch == self.active[j].config.epochs
                  for j, _, _, stopped in recorded]
        test = (evaluate_members(stack, self.data.test, self.config, self.device) if any(scored)
                else [(None, None, ())] * len(recorded))
        means = self.step_stats.means(slots) if self.record_stats else None
        for n, (j, loss, accuracy, stopped) in enumerate(recorded):
            m = self.active[j]
            self.stack.copy_to(j, m.model)
            m.elapsed += epoch_s
            val_loss, val_acc, _ = val[n] if val is not None else (None, None, None)
            test_loss, test_acc, confusion = test[n] if scored[n] else (None, None, ())
            layers = tuple(stats.layer_stats(m.model, self.probe, means[n])) if means is not None else ()
            record = EpochEnded(epoch, m.config.epochs, loss, accuracy, val_loss, val_acc, test_loss, test_acc,
                                m.lr, epoch_s, self.seen / max(epoch_s, 1e-9), m.elapsed, partial=stopped,
                                layers=layers, test_confusion=tuple(confusion))
            m.result.history.append(dict(record.__dict__))
            m.result.epoch_seconds.append(epoch_s)
            m.snapshots.save(epoch, m, final=stopped)  # before the event, as the normal loop
            m.emit(record)
            m.epochs += 1
            if stopped or epoch == m.config.epochs:
                self._finish(m)
                leaving.append(j)

    def _finish(self, m: Member) -> None:
        result = m.result
        if m.cancelled:
            result.status, result.message = stop_status(m.cancel)
        else:
            message = stall_message(m.config, result.history, len(self.data.test.classes), self.global_step)
            result.status, result.message = ("stalled", message) if message else ("finished", "")
        result.model, result.train_seconds = m.model, m.elapsed
        last = result.history[-1] if result.history else {}
        m.emit(RunFinished(result.status, len(result.history), last.get("test_accuracy"), last.get("test_loss"),
                           m.elapsed, result.message))

    def _leave(self, leaving: list[int]) -> None:
        """Members `leaving` stop training: the rest are re-stacked without them."""
        keep = [j for j in range(len(self.active)) if j not in leaving]
        self.active = [self.active[j] for j in keep]
        if not keep:
            return
        self.stack.keep_members(keep)
        self.opt.keep_members(keep, self.stack.params)
        index = torch.tensor(keep, device=self.device)
        self.orders, self.loss_sum, self.correct = (t.index_select(0, index)
                                                    for t in (self.orders, self.loss_sum, self.correct))
        self.step_stats.keep_members(index)
        if self.smoothing is not None:
            self.smoothing = self.smoothing.index_select(0, index)
