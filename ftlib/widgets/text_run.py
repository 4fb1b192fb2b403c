"""Lesson 12's live fine-tuning run: pick a method and k, press **train**, watch it learn.

The run is the sweep's own code (``ftlib.text.finetune``: the same setup and guarded step) on the seed-0 draw
of k definitions per class, then tested on the 1,000 test definitions, but with a quicker recipe,
:data:`LIVE_RECIPE`: 40 steps of 16 definitions instead of the sweep's 100 of 32 (a fifth of the examples
seen). The sweep's recipe takes more than 20 s on 2 cores for full fine-tuning, over the course's 10 s for a run a
student starts. A progress bar moves with the steps, the training-loss curve is redrawn every
``redraw_every`` steps, and the result line shows what the sweep's full recipe reached on the same draw.

``TextRun.train(method, k)`` is the plain, tested method behind the button (``tests/test_widgets_text.py``);
``benchmarks/text_live_run.py`` times it (the course's limit for a run a student starts is 10 s on 2 cores).
"""
from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence

from ftlib.text import data as D
from ftlib.text import finetune as T
from ftlib.text.data import TextTask

LIVE_RECIPE = T.Recipe(steps=40, batch_size=16, warmup=4)
LIVE_METHODS = ("full fine-tune", "head only", "attention only", "ULMFiT", "scratch", "scratch, lr ×10")


class TextRun:
    """A fine-tuning run a student starts and watches (lesson 12, section 4)."""

    def __init__(self, task: TextTask, methods: Sequence[str] = LIVE_METHODS, ks: Sequence[int] = (4, 16, 64),
                 seed: int = 0, sweep_rows: Sequence[Mapping] = (), redraw_every: int = 10,
                 recipe: T.Recipe = LIVE_RECIPE) -> None:
        unknown = [m for m in methods if m not in T.METHODS]
        if unknown:
            raise ValueError(f"unknown method {unknown[0]!r}; choose from: {', '.join(T.METHODS)}")
        if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
            raise ValueError(f"ks must be whole numbers >= 1 (labelled texts per class), got {list(ks)!r}")
        self.task, self.methods, self.ks, self.seed = task, list(methods), list(ks), seed
        self.recorded = {(r["method"], r["k"]): r["accuracy"] for r in sweep_rows if r["seed"] == seed}
        self.redraw_every, self.recipe = redraw_every, recipe
        self.losses: list[float] = []
        self.last: dict | None = None
        self._ui = None
        self._fig = None

    # --- the run itself --------------------------------------------------------------------------------------
    def train(self, method: str | None = None, k: int | None = None) -> dict:
        """Fine-tune ``method`` on ``k`` definitions per class and test it; returns the result (also shown)."""
        method = method if method is not None else self._value("method", self.methods[0])
        k = k if k is not None else self._value("k", self.ks[0])
        if method not in T.METHODS:
            raise ValueError(f"unknown method {method!r}; choose from: {', '.join(self.methods)}")
        started = time.perf_counter()
        x, y = D.k_shot_texts(self.task, k, self.seed)
        steps = self.recipe.steps
        options = {"steps": steps} if method == "ULMFiT" else {}
        s = T.setup(method, self.task.num_classes, self.seed, **options)
        self.losses = []
        self._show_progress(0, f"training {method} on {k} definitions per class ...")

        def on_step(step: int, loss: float) -> None:
            self.losses.append(loss)
            if (step + 1) % self.redraw_every == 0 or step + 1 == steps:
                self._show_progress(step + 1, f"step {step + 1}/{steps}: training loss {loss:.3f}")
        T.train(s, x, y, seed=self.seed, recipe=self.recipe, callback=on_step)
        self._show_progress(steps, f"testing on the {len(self.task.test_texts):,} test definitions ...")
        accuracy = T.accuracy(s.model, self.task.test_texts, self.task.test_labels)
        self.last = {"method": method, "k": k, "seed": self.seed, "accuracy": accuracy,
                     "recorded": self.recorded.get((method, k)), "losses": list(self.losses),
                     "seconds": time.perf_counter() - started, "model": s.model}
        self._show_progress(steps, self.summary())
        return self.last

    def summary(self) -> str:
        """The last run in one sentence."""
        r = self.last
        if r is None:
            return "press train to start a run"
        text = (f"{r['method']}, k={r['k']}, seed {r['seed']}: test accuracy {100 * r['accuracy']:.1f} % "
                f"after {len(r['losses'])} steps, {r['seconds']:.1f} s")
        if r["recorded"] is not None:
            text += (f"; the sweep's full recipe ({T.RECIPE.steps} steps of {T.RECIPE.batch_size}) recorded "
                     f"{100 * r['recorded']:.1f} % on this draw")
        return text

    # --- the widget ------------------------------------------------------------------------------------------
    def _value(self, name: str, default):
        return default if self._ui is None else self._ui[name].value

    def loss_png(self) -> bytes:
        """The training-loss curve so far, as PNG."""
        from ftlib.widgets import new_figure

        if self._fig is None:
            self._fig, ax = new_figure(6.5, 2.6)
            self._line, = ax.plot([], [], color="C0")
            ax.set_xlim(0, self.recipe.steps)
            ax.set_yscale("log")
            ax.set_ylim(1e-3, 10)
            ax.set_xlabel("step")
            ax.set_ylabel("training loss")
        self._line.set_data(range(1, len(self.losses) + 1), self.losses)
        buf = io.BytesIO()
        self._fig.savefig(buf, format="png")
        return buf.getvalue()

    def _show_progress(self, step: int, text: str) -> None:
        if self._ui is None:
            return
        self._ui["progress"].value = step
        self._ui["status"].value = text
        self._ui["plot"].value = self.loss_png()

    def _on_click(self, _button) -> None:
        button = self._ui["button"]
        button.disabled = True
        try:
            self.train()
        except (ValueError, FloatingPointError) as err:  # one sentence, shown where the student looks
            self._ui["status"].value = f"stopped: {err}"
        finally:
            button.disabled = False

    def widget(self):
        """Method and k choosers, a **train** button, a progress bar, the loss curve and the result line."""
        import ipywidgets as W

        if self._ui is None:
            self._ui = {"method": W.Dropdown(options=self.methods, value=self.methods[0], description="method"),
                        "k": W.Dropdown(options=self.ks, value=self.ks[min(1, len(self.ks) - 1)],
                                        description="k per class"),
                        "button": W.Button(description="train", button_style="primary", icon="play"),
                        "progress": W.IntProgress(value=len(self.losses), min=0, max=self.recipe.steps,
                                                  description="steps"),
                        "status": W.Label(value=self.summary()),
                        "plot": W.Image(format="png")}
            self._ui["button"].on_click(self._on_click)
            self._ui["plot"].value = self.loss_png()
            for name in ("button", "progress", "status", "plot"):  # hooks for tests/test_browser.py
                self._ui[name].add_class(f"ftlib-text-run-{name}")
        ui = self._ui
        box = W.VBox([W.HBox([ui["method"], ui["k"], ui["button"]]), ui["progress"], ui["status"], ui["plot"]])
        box.add_class("ftlib-text-run")
        return box
