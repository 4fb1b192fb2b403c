"""A live training view for demos: fine-tune in the background, watch loss and accuracy (lesson 05).

The instructor presses **start**; the model trains in short chunks of steps in a background
thread while the notebook stays usable.  After every chunk the plot of training loss and
(validation) accuracy is redrawn.  One learning-rate slider per block group (by default one
per block of the model, :func:`ftlib.freezing.block_names`) sets that group's learning rate;
a moved slider takes effect at the next optimizer step.  **pause** stops after the current
step, **start** continues, **reset** restores the weights the view was created with and
clears the curves.  ``large=True`` gives big fonts and a big figure for a projector, laid out
to fit a 1280 x 720 screen in JupyterLab with its left side bar collapsed (buttons and status on
one row, two sliders per row, the plot below at the output's full width, its height capped to
the window; checked in tests/test_browser.py at 1280 x 720 and 1280 x 640).  The legend sits
above the plots, so the newest point (always at the right edge) is never hidden.

Usage in a notebook::

    from ftlib.live import LiveTrainingView
    model = ftlib.load_pretrained(num_classes=5)
    view = LiveTrainingView(model, x_train, y_train, val=(x_val, y_val),
                            lr={"block1": 1e-4, "block2": 3e-4, "block3": 1e-3, "head": 3e-3},
                            large=True)
    view            # shows the widget: start / pause / reset, one slider per block, the plot

``lr`` may also be one number, a list in block order, or ``ftlib.freezing.discriminative_lrs(model,
1e-3)`` (ULMFiT's ÷2.6 per block); ``groups={"body": ["block1", "block2", "block3"], "head": ["head"]}``
gives one slider per named group instead of one per block.

The logic is plain, tested methods that need no browser (``tests/test_live.py``)::

    trainer = LiveTrainer(model, x, y, val=(xv, yv))     # no widgets
    trainer.train_chunk()                                # chunk_steps steps with current lrs
    trainer.set_lr("head", 1e-2)                         # used from the next step
    trainer.reset()                                      # back to the initial weights

``view.run(steps)`` trains synchronously (for a cell that must be deterministic under nbval);
``view.trainer`` is the :class:`LiveTrainer` behind the widget.
"""
from __future__ import annotations

import copy
import io
import math
import atexit
import threading
import weakref
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ftlib.data import check_labels
from ftlib.freezing import block_names, set_frozen_bn_eval
from ftlib import guards
from ftlib.training import TrainingDiverged, as_float_input, evaluate

__all__ = ["LiveTrainer", "LiveTrainingView", "LiveHistory"]

LR_MIN, LR_MAX = 1e-5, 1e-1  # the sliders' range (log scale)


@dataclass
class LiveHistory:
    """What the live view plots: per-step training loss/accuracy, validation after each chunk."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    acc: list[float] = field(default_factory=list)
    lrs: list[dict[str, float]] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)


def _smooth(values: Sequence[float], window: int) -> list[float]:
    """Running mean over the last ``window`` values (the raw minibatch loss is noisy)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


class LiveTrainer:
    """Chunked training with one learning rate per block group, and a start/pause/reset state.

    - ``groups``: ``None`` (one group per block, e.g. block1, block2, block3, head), a list of
      block names (one group each), or a mapping ``group name -> list of block names``.
    - ``lr``: one learning rate for every group, or a mapping ``group -> lr``, or a sequence in
      group order (e.g. discriminative rates from lesson 05).
    - ``optimizer``: ``"adam"`` (as :func:`ftlib.fit`) or ``"sgd"`` (momentum 0.9).
    - ``augment(x_batch, generator)`` and ``val=(x, y)`` as in :func:`ftlib.fit`; validation
      runs every ``eval_every`` steps (default: after every chunk).
    - ``max_steps``: stop by itself (state ``"done"``) after that many steps; ``None`` = never.

    Frozen parameters (``requires_grad=False``) stay frozen; a group whose blocks are all frozen
    is listed in :attr:`frozen_groups`.  States: ``"ready"`` → ``"running"`` ⇄ ``"paused"``,
    ``"done"`` at ``max_steps``, ``"error"`` when the loss diverges; ``reset()`` → ``"ready"``.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                 val: tuple[torch.Tensor, torch.Tensor] | None = None,
                 groups: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
                 lr: float | Mapping[str, float] | Sequence[float] = 1e-3,
                 chunk_steps: int = 5, batch_size: int | None = 64, optimizer: str = "adam",
                 weight_decay: float = 0.0, augment: Callable | None = None,
                 eval_every: int | None = None, max_steps: int | None = None, seed: int = 0) -> None:
        x = guards.check_inputs(x)
        y = guards.as_labels(y, n=len(x))
        if chunk_steps < 1:
            raise ValueError(f"chunk_steps must be at least 1, got {chunk_steps}")
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        self.model = model
        self.x, self.y = as_float_input(x), y
        self.val = None if val is None else (as_float_input(val[0]), val[1])
        self.chunk_steps = chunk_steps
        self.batch_size = guards.check_batch_size(batch_size, len(x))
        self.optimizer_name, self.weight_decay = optimizer, weight_decay
        self.augment, self.seed = augment, seed
        self.eval_every = eval_every or chunk_steps
        self.max_steps = max_steps
        self.groups = self._resolve_groups(groups)
        self.lrs = self._resolve_lrs(lr)
        self._initial_lrs = dict(self.lrs)
        self._initial_state = copy.deepcopy(model.state_dict())
        self.state = "ready"
        self.error: str | None = None
        self._lock = threading.RLock()  # one chunk at a time; reset waits for a running step
        self._fresh_run()

    # -- set-up -------------------------------------------------------------------------------
    def _resolve_groups(self, groups) -> dict[str, list[str]]:
        names = block_names(self.model)
        if groups is None:
            resolved = {n: [n] for n in names}
        elif isinstance(groups, Mapping):
            resolved = {str(g): list(blocks) for g, blocks in groups.items()}
        else:
            resolved = {str(n): [str(n)] for n in groups}
        for g, blocks in resolved.items():
            unknown = [b for b in blocks if b not in names]
            if unknown:
                raise KeyError(f"group {g!r} names unknown blocks {unknown}; this model's blocks are {names}")
        used = [b for blocks in resolved.values() for b in blocks]
        if len(set(used)) != len(used):
            raise ValueError(f"a block appears in more than one group: {resolved}")
        if not resolved:
            raise ValueError("no parameter groups: the model has no blocks with parameters")
        return resolved

    def _resolve_lrs(self, lr) -> dict[str, float]:
        if isinstance(lr, Mapping):
            missing = [g for g in self.groups if g not in lr]
            if missing:
                raise KeyError(f"no learning rate for groups {missing}; groups are {list(self.groups)}")
            lrs = {g: float(lr[g]) for g in self.groups}
        elif isinstance(lr, (int, float)):
            lrs = {g: float(lr) for g in self.groups}
        else:
            values = [float(v) for v in lr]
            if len(values) != len(self.groups):
                raise ValueError(f"got {len(values)} learning rates for {len(self.groups)} groups {list(self.groups)}")
            lrs = dict(zip(self.groups, values))
        for g, v in lrs.items():
            if not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"learning rate of {g!r} must be a non-negative number, got {v}")
        return lrs

    def _params(self, group: str) -> list[nn.Parameter]:
        return [p for b in self.groups[group] for p in getattr(self.model, b).parameters()]

    @property
    def frozen_groups(self) -> list[str]:
        """Groups whose parameters are all frozen (their learning rate has no effect)."""
        return [g for g in self.groups if not any(p.requires_grad for p in self._params(g))]

    def param_groups(self) -> list[dict]:
        """The optimizer's parameter groups: trainable parameters of each group, with its lr."""
        return [{"params": [p for p in self._params(g) if p.requires_grad], "lr": self.lrs[g], "name": g}
                for g in self.groups if g not in self.frozen_groups]

    def _fresh_run(self) -> None:
        groups = self.param_groups()
        if not groups:
            raise ValueError("every parameter is frozen, so training would do nothing. Unfreeze "
                             "something first: ftlib.unfreeze(model) or ftlib.freeze_to(model, n).")
        if self.optimizer_name == "adam":
            self.optimizer = torch.optim.Adam(groups, weight_decay=self.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(groups, momentum=0.9, weight_decay=self.weight_decay)
        self.generator = torch.Generator().manual_seed(self.seed)
        self._order = torch.empty(0, dtype=torch.long)
        self._pos = 0
        self.history = LiveHistory()
        self._divergence = guards.DivergenceGuard(self._fmt_lrs)

    # -- controls -------------------------------------------------------------------------------
    def set_lr(self, group: str, lr: float) -> None:
        """Change one group's learning rate; the next optimizer step uses it."""
        if group not in self.groups:
            raise KeyError(f"unknown group {group!r}; groups are {list(self.groups)}")
        self.lrs[group] = float(lr)
        for pg in self.optimizer.param_groups:  # takes effect even mid-chunk
            if pg.get("name") == group:
                pg["lr"] = float(lr)

    def start(self) -> bool:
        """ready/paused → running. Returns False (and does nothing) in any other state."""
        if self.state in ("ready", "paused"):
            self.state = "running"
            return True
        return False

    def pause(self) -> bool:
        """running → paused (the background loop stops after the current step)."""
        if self.state == "running":
            self.state = "paused"
            return True
        return False

    def reset(self) -> None:
        """Initial weights, initial learning rates, fresh optimizer, empty curves; state ready."""
        self.state = "ready"
        with self._lock:  # waits for a step in progress to finish
            self.model.load_state_dict(self._initial_state)
            self.lrs = dict(self._initial_lrs)
            self.error = None
            self._fresh_run()

    @property
    def steps_done(self) -> int:
        return len(self.history.step)

    # -- training -------------------------------------------------------------------------------
    def _next_batch(self) -> torch.Tensor:
        n = len(self.x)
        if self._pos + self.batch_size > len(self._order):
            self._order = torch.randperm(n, generator=self.generator)
            self._pos = 0
        idx = self._order[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx

    def train_step(self) -> float:
        """One optimizer step with the current learning rates; returns the minibatch loss."""
        with self._lock:
            for pg in self.optimizer.param_groups:
                pg["lr"] = self.lrs[pg["name"]]
            idx = self._next_batch()
            xb, yb = self.x[idx], self.y[idx]
            if self.augment is not None:
                xb = self.augment(xb, self.generator)
            device = next(self.model.parameters()).device
            guards.training_mode(self.model)
            logits = self.model(xb.to(device))
            yb = yb.to(device)
            step = self.steps_done
            if not self.history.step:
                check_labels(self.y, logits.shape[1])  # every label, once
                guards.check_optimizer(self.model, self.optimizer)
            loss = F.cross_entropy(logits, yb)
            try:
                value = self._divergence.check(step, loss.detach())
            except TrainingDiverged as exc:
                raise TrainingDiverged(f"{exc} Lower a learning rate and press reset.") from None
            guards.update(self.optimizer, loss)
            h = self.history
            h.step.append(step)
            h.loss.append(value)
            h.acc.append((logits.argmax(1) == yb).float().mean().item())
            h.lrs.append(dict(self.lrs))
            if self.val is not None and (step + 1) % self.eval_every == 0:
                self.evaluate_now()
            return value

    def evaluate_now(self) -> dict[str, float] | None:
        """Evaluate on ``val`` now and record it at the last step (None without ``val``)."""
        if self.val is None:
            return None
        with self._lock:
            metrics = evaluate(self.model, *self.val)
            self.model.train()
            set_frozen_bn_eval(self.model)
            step = self.history.step[-1] if self.history.step else 0
            if not self.history.eval_step or self.history.eval_step[-1] != step:
                self.history.eval_step.append(step)
                self.history.val_loss.append(metrics["loss"])
                self.history.val_acc.append(metrics["accuracy"])
            return metrics

    def train_chunk(self, steps: int | None = None) -> int:
        """Up to ``steps`` (default ``chunk_steps``) steps; stops early when paused or at max_steps.

        Called directly it trains regardless of the state (a synchronous run); the background
        loop calls it only while the state is ``"running"``.  Returns the number of steps done.
        A diverging loss sets the state to ``"error"`` and :attr:`error` to the message.
        """
        steps = self.chunk_steps if steps is None else steps
        done = 0
        background = self.state == "running"
        try:
            for _ in range(steps):
                if background and self.state != "running":
                    break
                if self.max_steps is not None and self.steps_done >= self.max_steps:
                    self.state = "done"
                    break
                self.train_step()
                done += 1
        except (TrainingDiverged, ValueError) as exc:  # shown in the view, not a dead thread
            self.state, self.error = "error", str(exc)
        if self.max_steps is not None and self.steps_done >= self.max_steps and self.state == "running":
            self.state = "done"
        return done

    def _fmt_lrs(self) -> str:
        return ", ".join(f"{g} {v:.2g}" for g, v in self.lrs.items())

    def status(self) -> str:
        """One line: state, step, smoothed loss, last validation accuracy, learning rates."""
        h = self.history
        parts = [self.state, f"step {self.steps_done}"]
        if h.loss:
            parts.append(f"loss {sum(h.loss[-10:]) / len(h.loss[-10:]):.3f}")
        if h.val_acc:
            parts.append(f"val acc {100 * h.val_acc[-1]:.1f}%")
        elif h.acc:
            parts.append(f"train acc {100 * sum(h.acc[-10:]) / len(h.acc[-10:]):.1f}%")
        if self.error:
            parts.append(self.error)
        return " · ".join(parts)


def _snapshot(h: LiveHistory) -> LiveHistory:
    """A consistent copy of ``h`` (the training thread may be appending to it right now)."""
    n = min(len(h.step), len(h.loss), len(h.acc), len(h.lrs))
    m = min(len(h.eval_step), len(h.val_loss), len(h.val_acc))
    return LiveHistory(h.step[:n], h.loss[:n], h.acc[:n], h.lrs[:n], h.eval_step[:m], h.val_loss[:m],
                       h.val_acc[:m])


class _Plot:
    """A matplotlib figure (Agg, not pyplot) redrawn in place: lines are updated, not re-created.

    Loss (left) and accuracy (right) share one legend, *above* the axes: the newest point is
    always at the right edge of the data, where a legend inside the axes would hide it.
    """

    def __init__(self, large: bool, smooth: int) -> None:
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        self.smooth = smooth
        self.font = 18 if large else 10
        self.dpi = 80 if large else 90
        # large: 1120 x 416 px, fits 1280 x 720 under the controls (see LiveTrainingView)
        width, height = (14, 5.2) if large else (9, 3.6)
        self.pixels = (int(width * self.dpi), int(height * self.dpi))
        fig = Figure(figsize=(width, height), dpi=self.dpi)
        # fixed margins (in inches, so they suit both sizes): no layout engine to rerun on every redraw
        fs = self.font / 10
        fig.subplots_adjust(left=0.75 * fs / width, right=1 - 0.25 * fs / width, bottom=0.62 * fs / height,
                            top=1 - 0.42 * fs / height, wspace=0.9 * fs / (width / 2))
        self.fig = fig
        self.ax_loss, self.ax_acc = fig.subplots(1, 2)
        lw = 3 if large else 1.8
        (self.loss_raw,) = self.ax_loss.plot([], [], color="C0", alpha=0.25, lw=lw * 0.5)
        (self.loss_line,) = self.ax_loss.plot([], [], color="C0", lw=lw)
        (self.val_loss_line,) = self.ax_loss.plot([], [], "o-", color="C1", lw=lw, ms=lw * 2)
        (self.acc_line,) = self.ax_acc.plot([], [], color="C0", lw=lw)
        (self.val_acc_line,) = self.ax_acc.plot([], [], "o-", color="C1", lw=lw, ms=lw * 2)
        for ax, label in ((self.ax_loss, "loss"), (self.ax_acc, "accuracy")):
            ax.set_ylabel(label, fontsize=self.font)
            ax.set_xlabel("step", fontsize=self.font)
            ax.tick_params(labelsize=self.font * 0.9)
            ax.grid(alpha=0.3)
        handles = [Line2D([], [], color="C0", lw=lw), Line2D([], [], color="C1", lw=lw, marker="o", ms=lw * 2),
                   Line2D([], [], color="0.4", ls=":", lw=lw * 0.7)]
        self.legend = fig.legend(handles, ["training (running mean)", "validation", "a learning rate changed"],
                                 loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False,
                                 fontsize=self.font * 0.9, handlelength=2.0, columnspacing=1.6,
                                 borderaxespad=0.1)
        self.ax_acc.set_ylim(0, 1.03)  # a little room, so a curve at 100 % stays visible
        self.ax_loss.set_ylim(0, 2.5)
        self._marks: list = []  # dotted lines where a learning rate changed
        self._lw = lw

    def png(self, h: LiveHistory) -> bytes:
        h = _snapshot(h)
        smoothed_loss = _smooth(h.loss, self.smooth)
        self.loss_raw.set_data(h.step, h.loss)
        self.loss_line.set_data(h.step, smoothed_loss)
        self.val_loss_line.set_data(h.eval_step, h.val_loss)
        self.acc_line.set_data(h.step, _smooth(h.acc, self.smooth))
        self.val_acc_line.set_data(h.eval_step, h.val_acc)
        marker = "o" if len(h.eval_step) <= 40 else ""  # dots only while they are few enough to read
        self.val_loss_line.set_marker(marker)
        self.val_acc_line.set_marker(marker)
        changes = [h.step[i] for i in range(1, len(h.lrs)) if h.lrs[i] != h.lrs[i - 1]]
        if len(changes) != len(self._marks) // 2:
            for mark in self._marks:
                mark.remove()
            self._marks = [ax.axvline(s - 0.5, color="0.4", ls=":", lw=self._lw * 0.7)
                           for s in changes for ax in (self.ax_loss, self.ax_acc)]
        last = max(h.step[-1] + 1 if h.step else 0, 10)
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0, last)
        top = max(max(smoothed_loss, default=2.3), max(h.val_loss, default=0.0))
        self.ax_loss.set_ylim(0, min(top, 10.0) * 1.1)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi)
        return buf.getvalue()


_RUNNING_VIEWS: "weakref.WeakSet[LiveTrainingView]" = weakref.WeakSet()
_AT_EXIT_REGISTERED = False


def _stop_all_views() -> None:
    """At interpreter exit: pause every training view and wait for its thread, so the process ends
    cleanly instead of aborting with a thread still inside torch ("terminate called ...")."""
    for view in list(_RUNNING_VIEWS):
        view.trainer.pause()
        view.wait(timeout=30)


def _stop_at_exit(view: "LiveTrainingView") -> None:
    global _AT_EXIT_REGISTERED
    _RUNNING_VIEWS.add(view)
    if not _AT_EXIT_REGISTERED:  # registered on the first start, not at import time
        atexit.register(_stop_all_views)
        _AT_EXIT_REGISTERED = True


def _background_loop(ref: "weakref.ReferenceType[LiveTrainingView]") -> None:
    """The training thread: chunk after chunk while the view exists and is running."""
    while True:
        view = ref()
        if view is None or view.trainer.state != "running" or not view._chunk():
            break
        del view
        time.sleep(0.001)  # let the kernel's thread take the GIL and handle widget messages
    view = ref()
    if view is not None:
        view.redraw()


class LiveTrainingView:
    """The widget around :class:`LiveTrainer`: start / pause / reset, an lr slider per group, a live plot.

    Takes the same arguments as :class:`LiveTrainer` plus ``large`` (projector mode: big
    fonts and a big figure that fit a 1280 x 720 screen), ``smooth`` (running-mean window of the training curves)
    and ``min_redraw_s`` (redraw at most this often while training).  Training runs in a
    background thread, chunk by chunk, so the kernel keeps answering widget events: a slider
    moved during training is used from the next step; a dotted vertical line in the plot marks
    each step where a learning rate changed.  Display it by making it the last expression of a
    cell (or ``display(view)``).  Pause before using the model in another cell: the
    background thread changes its weights while it runs.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                 val: tuple[torch.Tensor, torch.Tensor] | None = None,
                 groups: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
                 lr: float | Mapping[str, float] | Sequence[float] = 1e-3,
                 chunk_steps: int = 5, batch_size: int | None = 64, optimizer: str = "adam",
                 weight_decay: float = 0.0, augment: Callable | None = None,
                 eval_every: int | None = None, max_steps: int | None = 2000, seed: int = 0,
                 large: bool = False, smooth: int = 5, min_redraw_s: float = 0.25) -> None:
        self.trainer = LiveTrainer(model, x, y, val=val, groups=groups, lr=lr, chunk_steps=chunk_steps,
                                   batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay,
                                   augment=augment, eval_every=eval_every, max_steps=max_steps, seed=seed)
        self.large = large
        self.min_redraw_s = min_redraw_s
        self._plot = _Plot(large, smooth)
        self._thread: threading.Thread | None = None
        self._last_draw = 0.0
        self._widget = None

    # -- plain controls (also what the buttons call) ------------------------------------------------
    def start(self) -> None:
        """Start (or continue) training in the background."""
        if self._thread is not None and self._thread.is_alive() and self.trainer.state != "running":
            self.wait(timeout=30)  # a loop that was told to stop is finishing its step
        if self.trainer.start():
            _stop_at_exit(self)
            # the thread holds only a weak reference: a view that is dropped stops training
            self._thread = threading.Thread(target=_background_loop, args=(weakref.ref(self),),
                                            name="ftlib-live-training", daemon=True)
            self._thread.start()
        self._refresh()

    def pause(self) -> None:
        """Stop after the current step; the curves stay."""
        if self.trainer.pause():
            self._busy("pausing after the current step …")
        self.wait(timeout=30)
        self.redraw()

    def reset(self) -> None:
        """Back to the initial weights and learning rates; empty curves."""
        self._busy("resetting …")
        self.trainer.reset()
        self.wait(timeout=30)
        if self._widget is not None:
            for g, slider in self._sliders.items():
                slider.value = self.trainer.lrs[g]
        self.redraw()

    def run(self, steps: int) -> LiveHistory:
        """Train ``steps`` steps now, in the foreground (deterministic; for scripted cells)."""
        if self.trainer.state == "running":
            raise RuntimeError("the view is training in the background; press pause first")
        self.trainer.train_chunk(steps)
        self.trainer.evaluate_now()
        self.redraw()
        return self.trainer.history

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the background loop has stopped (after pause/reset/done)."""
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    @property
    def history(self) -> LiveHistory:
        return self.trainer.history

    def _chunk(self) -> bool:
        """One chunk of background training and, now and then, a redraw; False when the loop should end."""
        trainer = self.trainer
        try:
            trainer.train_chunk()
            now = time.monotonic()
            if now - self._last_draw >= self.min_redraw_s or trainer.state != "running":
                self.redraw()
        except Exception as exc:  # show it rather than dying silently in a thread
            trainer.state, trainer.error = "error", f"{type(exc).__name__}: {exc}"
            self.redraw()
        return trainer.state == "running"

    # -- widgets -----------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Redraw the plot and the status line (no-op until the widget exists)."""
        self._last_draw = time.monotonic()
        if self._widget is None:
            return
        self._image.value = self._plot.png(self.trainer.history)
        self._refresh()

    def png(self) -> bytes:
        """The current plot as PNG bytes (what the widget shows)."""
        return self._plot.png(self.trainer.history)

    def _refresh(self) -> None:
        if self._widget is None:
            return
        state = self.trainer.state
        self._status.value = self._status_html()
        self._start.disabled = state not in ("ready", "paused")
        self._pause.disabled = state != "running"
        self._reset.disabled = False

    def _busy(self, message: str) -> None:
        """Say at once what a button does while it waits for the training step in progress
        (pause and reset take a fraction of a second, more on a busy machine); buttons disabled."""
        if self._widget is None:
            return
        for b in (self._start, self._pause, self._reset):
            b.disabled = True
        self._status.value = self._status_html(message)

    def _status_html(self, text: str | None = None) -> str:
        import html

        size = "20px" if self.large else "14px"
        text = self.trainer.status() if text is None else text
        return (f'<span style="font-size:{size}; font-family:monospace; overflow-wrap:anywhere">'
                f'{html.escape(text)}</span>')

    @property
    def widget(self):
        """The ipywidgets box (built on first use)."""
        if self._widget is None:
            self._build()
        return self._widget

    def _build(self) -> None:
        """The widget.  ``large=True`` is laid out for a projector at 1280 x 720 (JupyterLab's side
        bars collapsed): one row of buttons and the status line, the sliders two per row, then the
        plot at the full width of the output area, its height capped so that all of it fits on the
        screen below the controls; nothing is wider than the output area."""
        import ipywidgets as W

        large = self.large
        button_layout = W.Layout(width="140px" if large else "110px", height="48px" if large else "32px",
                                 flex="0 0 auto")
        self._start = W.Button(description="start", icon="play", button_style="success", layout=button_layout)
        self._pause = W.Button(description="pause", icon="pause", button_style="warning", layout=button_layout)
        self._reset = W.Button(description="reset", icon="undo", layout=button_layout)
        for b in (self._start, self._pause, self._reset):
            if large:
                b.style.font_size = "20px"
            b.add_class("ftlib-live-button")
        self._start.on_click(lambda _: self.start())
        self._pause.on_click(lambda _: self.pause())
        self._reset.on_click(lambda _: self.reset())
        self._sliders = {}
        frozen = set(self.trainer.frozen_groups)
        for g in self.trainer.groups:
            lr = self.trainer.lrs[g]
            lo, hi = math.log10(LR_MIN), math.log10(LR_MAX)
            if lr > 0:  # widen the range for a learning rate outside it
                lo, hi = min(lo, math.floor(math.log10(lr))), max(hi, math.ceil(math.log10(lr)))
            s = W.FloatLogSlider(value=lr, base=10, min=lo, max=hi, step=0.1, readout_format=".1e",
                                 description=f"lr {g}" + (" (frozen)" if g in frozen else ""),
                                 disabled=g in frozen, continuous_update=False,
                                 style={"description_width": "130px" if large else "110px"},
                                 layout=W.Layout(width="540px" if large else "460px", max_width="100%"))
            s.add_class("ftlib-live-lr")
            s.observe(lambda change, g=g: self.trainer.set_lr(g, change["new"]), names="value")
            self._sliders[g] = s
        self._status = W.HTML(self._status_html(), layout=W.Layout(flex="1 1 auto", min_width="0",
                                                                   margin="0 0 0 12px"))
        self._status.add_class("ftlib-live-status")
        width = self._plot.pixels[0]
        # the plot is never wider than the output area, and in projector mode never taller than what
        # is left of the window below JupyterLab's bars and the controls (about 300 px)
        self._image = W.Image(format="png", value=self._plot.png(self.trainer.history),
                              layout=W.Layout(width="auto", height="auto", max_width="100%", margin="0",
                                              max_height="calc(100vh - 300px)" if large else None,
                                              align_self="flex-start", object_fit="contain"))
        self._image.add_class("ftlib-live-plot")
        top = W.HBox([self._start, self._pause, self._reset, self._status],
                     layout=W.Layout(align_items="center", width="100%", max_width=f"{width}px"))
        sliders = W.Box(list(self._sliders.values()),
                        layout=W.Layout(flex_flow="row wrap", width="100%",
                                        max_width=f"{width}px" if large else "100%"))
        sliders.add_class("ftlib-live-sliders")
        children = [top, sliders, self._image]
        if large:  # bigger slider labels and readouts; a style tag takes no room
            children.append(W.HTML(
                "<style>.ftlib-live-large .widget-label, .ftlib-live-large .widget-readout,"
                ".ftlib-live-large .widget-label-basic {font-size: 20px !important;"
                " line-height: 30px !important; height: 30px !important}"
                ".ftlib-live-large .widget-slider {height: 36px}"
                ".ftlib-live-large .widget-readout {min-width: 80px}</style>",
                layout=W.Layout(display="none")))
        box = W.VBox(children, layout=W.Layout(width="100%", max_width="100%", overflow="hidden"))
        box.add_class("ftlib-live")
        if large:
            box.add_class("ftlib-live-large")
        self._widget = box
        self._refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
