"""Per-block learning-rate widget for lesson 05: one log slider per block and a *train* button.

``UnfreezeSetup`` holds the data (a k-shot target training set, target and source test
sets) and the pretrained weights; ``train_with_lrs`` (compute, tested) fine-tunes a fresh
copy for a fixed number of steps with one learning rate per block and returns the target
accuracy and the source-task accuracy kept (the backbone with its source head put back).
A rate of 0 freezes that block.  ``lr_widget`` is the thin ipywidgets wrapper: the sliders
only change numbers (instant); training happens when *train* is pressed, which takes seconds,
so while it runs the button and sliders are disabled and a progress bar counts the steps
(``progress_text`` says what it shows; ``train_with_lrs(on_step=...)`` reports each step).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ftlib.augment import shift_flip
from ftlib.data import class_subset, k_shot, load_fashion_mnist
from ftlib.experiments import SOURCE_CLASSES, TARGET_CLASSES, _first_per_class
from ftlib.freezing import block_names, make_group_optimizer, set_frozen_bn_eval
from ftlib.models import load_pretrained, replace_head
from ftlib.training import evaluate, fit


@dataclass
class UnfreezeSetup:
    """Everything the widget trains and evaluates on; built once by :func:`make_setup`."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    target_test: tuple[torch.Tensor, torch.Tensor]
    source_test: tuple[torch.Tensor, torch.Tensor]
    base: nn.Module  # pretrained Net-B with a fresh target head (never trained itself)
    source_head: nn.Module
    runs: list[dict] = field(default_factory=list)

    @property
    def blocks(self) -> list[str]:
        return block_names(self.base)


def make_setup(k: int = 10, seed: int = 0, test_per_class: int = 100, weights: str = "netb_source") -> UnfreezeSetup:
    """k labels per target class (seeded) and the first ``test_per_class`` test images per class."""
    x, y = class_subset(*load_fashion_mnist("train"), TARGET_CLASSES)
    x_k, y_k = k_shot(x, y, k, seed=seed)
    target = _first_per_class(*class_subset(*load_fashion_mnist("test"), TARGET_CLASSES), test_per_class)
    source = _first_per_class(*class_subset(*load_fashion_mnist("test"), SOURCE_CLASSES), test_per_class)
    pretrained = load_pretrained(weights)
    base = replace_head(copy.deepcopy(pretrained), len(TARGET_CLASSES), seed=seed)
    return UnfreezeSetup(x_k, y_k, target, source, base, copy.deepcopy(pretrained.head))


def train_with_lrs(setup: UnfreezeSetup, lrs: dict[str, float], steps: int = 30, seed: int = 0,
                   on_step: Callable[[int, int], None] | None = None) -> dict:
    """Fine-tune a fresh copy of ``setup.base`` with one learning rate per block (0 = frozen).

    Returns target accuracy, source accuracy kept, the rates used and the seconds taken.
    ``on_step(done, steps)`` is called after every optimizer step (``done`` = 1 .. ``steps``),
    e.g. to move a progress bar; the evaluation that follows takes a moment more.
    """
    unknown = [b for b in lrs if b not in setup.blocks]
    if unknown:
        raise KeyError(f"unknown block {unknown[0]!r}; this model's blocks are {setup.blocks}")
    missing = [b for b in setup.blocks if b not in lrs]
    if missing:
        raise KeyError(f"no learning rate for blocks {missing}")
    if all(lrs[b] == 0 for b in setup.blocks):
        raise ValueError("every learning rate is 0, so every block is frozen and training would do "
                         "nothing: raise at least one slider above 0")
    model = copy.deepcopy(setup.base)
    for b in setup.blocks:
        getattr(model, b).requires_grad_(lrs[b] > 0)
    set_frozen_bn_eval(model)
    started = time.perf_counter()
    optimizer = make_group_optimizer(model, {b: lrs[b] for b in setup.blocks if lrs[b] > 0})
    callback = None if on_step is None else (lambda step, history: on_step(len(history.step), steps))
    fit(model, setup.x_train, setup.y_train, steps=steps, batch_size=None, optimizer=optimizer,
        augment=shift_flip(), seed=seed, progress=False, callback=callback)
    target = evaluate(model, *setup.target_test)["accuracy"]
    source_model = copy.deepcopy(model)
    source_model.head = copy.deepcopy(setup.source_head)
    source = evaluate(source_model, *setup.source_test)["accuracy"]
    result = {"lrs": dict(lrs), "steps": steps, "target_accuracy": target, "source_accuracy": source,
              "seconds": time.perf_counter() - started}
    setup.runs.append(result)
    return result


def format_run(result: dict) -> str:
    rates = ", ".join(f"{b} {v:.0e}" if v else f"{b} frozen" for b, v in result["lrs"].items())
    return (f"target accuracy {100 * result['target_accuracy']:.1f} %, source kept "
            f"{100 * result['source_accuracy']:.1f} %  ({rates}; {result['steps']} steps)")


def progress_text(done: int, steps: int) -> str:
    """What the progress label says after ``done`` of ``steps`` steps (then: evaluating)."""
    if done < steps:
        return f"training: step {done} / {steps} …"
    return f"step {steps} / {steps} done; evaluating on the target and source test images …"


def draw_runs(runs: list[dict], source_before: float | None = None):
    """Each run as a point: target accuracy (x) against source accuracy kept (y).

    The legend sits to the right of the axes, outside the data, so no point is ever under it;
    the newest run is red.  Returns the figure (shown with ``plt.show()``).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
    for i, r in enumerate(runs):
        newest = i == len(runs) - 1
        label = "newest run" if newest else "earlier runs" if i == 0 else None
        ax.scatter(100 * r["target_accuracy"], 100 * r["source_accuracy"], color="C3" if newest else "C0",
                   label=label, zorder=3)
        ax.annotate(str(i + 1), (100 * r["target_accuracy"], 100 * r["source_accuracy"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=11)
    if source_before is not None:
        ax.axhline(100 * source_before, color="gray", ls=":", label="source accuracy\nbefore fine-tuning")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=11)
    ax.set_xlabel("target accuracy (%)", fontsize=11)
    ax.set_ylabel("source accuracy kept (%)", fontsize=11)
    ax.set_title("each run: what you gain vs what you keep", fontsize=12)
    ax.grid(alpha=0.3)
    ax.margins(0.15)  # the points (and their numbers) never sit on the frame
    plt.show()
    return fig


def lr_widget(setup: UnfreezeSetup, steps: int = 30, initial: dict[str, float] | None = None):
    """One ``FloatLogSlider`` per block (plus a 'frozen' checkbox) and a *train* button.

    Returns the widget (make it the last expression of a cell: it is shown once).  While a run
    trains, the button and the sliders are disabled and a progress bar with a label counts the
    steps, then says that it evaluates.
    """
    import ipywidgets as W

    initial = initial or {b: 1e-3 for b in setup.blocks}
    sliders = {b: W.FloatLogSlider(value=initial.get(b, 1e-3), base=10, min=-5, max=-1, step=0.25,
                                   description=b, readout_format=".0e", continuous_update=False)
               for b in setup.blocks}
    frozen = {b: W.Checkbox(value=False, description="frozen", indent=False) for b in setup.blocks}
    label = f"train {steps} steps"
    button = W.Button(description=label, button_style="primary", icon="play",
                      layout=W.Layout(width="170px"))
    bar = W.IntProgress(value=0, min=0, max=steps + 1, layout=W.Layout(width="240px", visibility="hidden"))
    bar.add_class("ftlib-progress")
    status = W.Label("")
    status.add_class("ftlib-progress-label")
    out = W.Output()
    source_before = evaluate(_with_source_head(setup), *setup.source_test)["accuracy"]
    inputs = [*sliders.values(), *frozen.values()]

    def show_progress(done: int, total: int) -> None:
        bar.value = done
        status.value = progress_text(done, total)

    def busy(on: bool) -> None:
        button.disabled = on
        button.description = "training …" if on else label
        button.icon = "hourglass-half" if on else "play"
        for w in inputs:
            w.disabled = on
        bar.layout.visibility = "visible" if on else "hidden"

    def on_click(_):
        lrs = {b: 0.0 if frozen[b].value else sliders[b].value for b in setup.blocks}
        bar.value = 0
        status.value = f"training: step 0 / {steps} …"
        busy(True)
        try:
            result = train_with_lrs(setup, lrs, steps, on_step=show_progress)
            bar.value = steps + 1
            with out:
                out.clear_output(wait=True)
                print(f"run {len(setup.runs)}: {format_run(result)}")
                draw_runs(setup.runs, source_before)
            status.value = f"run {len(setup.runs)} done in {result['seconds']:.1f} s"
        except (ValueError, KeyError) as exc:
            status.value = ""
            with out:
                out.clear_output(wait=True)
                print(f"⚠️ {exc}")
        finally:
            busy(False)
    button.on_click(on_click)
    rows = [W.HBox([sliders[b], frozen[b]]) for b in reversed(setup.blocks)]
    controls = W.HBox([button, bar, status], layout=W.Layout(align_items="center"))
    box = W.VBox([W.HTML("<b>one learning rate per block</b> (top block first)"), *rows, controls, out])
    box.add_class("ftlib-lr-widget")
    return box


def _with_source_head(setup: UnfreezeSetup) -> nn.Module:
    model = copy.deepcopy(setup.base)
    model.head = copy.deepcopy(setup.source_head)
    return model


def live_demo(large: bool = False, k: int = 20, top_lr: float = 3e-4, batch_size: int = 25, seed: int = 0,
              max_steps: int = 300, **kwargs):
    """Lesson 05's live-training demo, set up so that a learning-rate change shows in the curves.

    A :class:`ftlib.live.LiveTrainingView` on the pretrained Net-B (fresh target head) with ``k``
    labels per target class (default 100 images), minibatches of ``batch_size`` with shift+flip,
    discriminative rates from a low top rate (``top_lr`` for the head, ÷2.6 per block below) and
    the validation curve on 250 held-out target test images.  With 5 labels per class and full
    batches, training accuracy reached 100 % by step 35 and a moved slider changed little; here
    training accuracy is still below 100 % when validation accuracy levels off, so a change
    shows: block 1 pushed to 1e-1 makes validation accuracy drop sharply within a few steps,
    the head at 1e-2 makes the training loss fall faster (both checked in tests/test_live.py).
    ``kwargs`` go to ``LiveTrainingView`` (e.g. ``chunk_steps``).
    """
    from ftlib.freezing import discriminative_lrs
    from ftlib.live import LiveTrainingView

    setup = make_setup(k=k, seed=seed, test_per_class=50)
    model = copy.deepcopy(setup.base)
    return LiveTrainingView(model, setup.x_train, setup.y_train, val=setup.target_test,
                            lr=discriminative_lrs(model, top_lr), batch_size=batch_size, augment=shift_flip(),
                            max_steps=max_steps, seed=seed, large=large, **kwargs)
