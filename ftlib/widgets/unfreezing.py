"""Per-block learning-rate widget for lesson 05: one log slider per block and a *train* button.

``UnfreezeSetup`` holds the data (a k-shot target training set, target and source test
sets) and the pretrained weights; ``train_with_lrs`` (compute, tested) fine-tunes a fresh
copy for a fixed number of steps with one learning rate per block and returns the target
accuracy and the source-task accuracy kept (the backbone with its source head put back).
A rate of 0 freezes that block.  ``lr_widget`` is the thin ipywidgets wrapper: the sliders
only change numbers (instant); training happens when *train* is pressed.
"""
from __future__ import annotations

import copy
import time
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


def train_with_lrs(setup: UnfreezeSetup, lrs: dict[str, float], steps: int = 30, seed: int = 0) -> dict:
    """Fine-tune a fresh copy of ``setup.base`` with one learning rate per block (0 = frozen).

    Returns target accuracy, source accuracy kept, the rates used and the seconds taken.
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
    fit(model, setup.x_train, setup.y_train, steps=steps, batch_size=None, optimizer=optimizer,
        augment=shift_flip(), seed=seed, progress=False)
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


def draw_runs(runs: list[dict], source_before: float | None = None) -> None:
    """Each run as a point: target accuracy (x) against source accuracy kept (y)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for i, r in enumerate(runs):
        ax.scatter(100 * r["target_accuracy"], 100 * r["source_accuracy"], color="C0" if i < len(runs) - 1 else "C3")
        ax.annotate(str(i + 1), (100 * r["target_accuracy"], 100 * r["source_accuracy"]),
                    textcoords="offset points", xytext=(4, 4))
    if source_before is not None:
        ax.axhline(100 * source_before, color="gray", ls=":", label="source accuracy before")
        ax.legend(loc="lower left")
    ax.set_xlabel("target accuracy (%)")
    ax.set_ylabel("source accuracy kept (%)")
    ax.set_title("each run: what you gain vs what you keep")
    plt.show()


def lr_widget(setup: UnfreezeSetup, steps: int = 30, initial: dict[str, float] | None = None):
    """One ``FloatLogSlider`` per block (plus a 'frozen' checkbox) and a *train* button."""
    import ipywidgets as W
    from IPython.display import display

    initial = initial or {b: 1e-3 for b in setup.blocks}
    sliders = {b: W.FloatLogSlider(value=initial.get(b, 1e-3), base=10, min=-5, max=-1, step=0.25,
                                   description=b, readout_format=".0e", continuous_update=False)
               for b in setup.blocks}
    frozen = {b: W.Checkbox(value=False, description="frozen", indent=False) for b in setup.blocks}
    button = W.Button(description=f"train {steps} steps", button_style="primary")
    out = W.Output()
    source_before = evaluate(_with_source_head(setup), *setup.source_test)["accuracy"]

    def on_click(_):
        lrs = {b: 0.0 if frozen[b].value else sliders[b].value for b in setup.blocks}
        button.disabled = True
        with out:
            out.clear_output(wait=True)
            try:
                result = train_with_lrs(setup, lrs, steps)
                print(f"run {len(setup.runs)}: {format_run(result)}")
                draw_runs(setup.runs, source_before)
            except (ValueError, KeyError) as exc:
                print(f"⚠️ {exc}")
            finally:
                button.disabled = False
    button.on_click(on_click)
    rows = [W.HBox([sliders[b], frozen[b]]) for b in reversed(setup.blocks)]
    box = W.VBox([W.HTML("<b>one learning rate per block</b> (top block first)"), *rows, button, out])
    display(box)
    return box


def _with_source_head(setup: UnfreezeSetup) -> nn.Module:
    model = copy.deepcopy(setup.base)
    model.head = copy.deepcopy(setup.source_head)
    return model
