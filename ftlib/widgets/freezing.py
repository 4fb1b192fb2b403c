"""Freezing explorer for lesson 04: a slider for ``freeze_to(model, n)`` and the trainable summary.

``freezing_rows`` (compute, tested) applies ``freeze_to`` to the model and returns
:func:`ftlib.freezing.trainable_summary`; ``draw_freezing`` shows trainable versus frozen
parameters per block; ``freezing_explorer`` wraps them in ``interact``.
"""
from __future__ import annotations

from torch import nn

from ftlib import guards
from ftlib.freezing import block_names, format_summary, freeze_to, trainable_summary


def freezing_rows(model: nn.Module, frozen_blocks: int) -> list[dict]:
    """Freeze the first ``frozen_blocks`` blocks of ``model`` (in place) and summarise it in the modes
    ``fit`` trains it in: training mode, except frozen BatchNorm, which stays in eval mode."""
    freeze_to(model, frozen_blocks)
    guards.training_mode(model)
    return trainable_summary(model)


def freezing_plot(model: nn.Module):
    """A :class:`ftlib.widgets.LivePlot`: bars of trainable/frozen parameters per block and the table."""
    from ipywidgets import IntSlider

    from ftlib.widgets import LivePlot, new_figure

    names = block_names(model)
    fig, (ax, tx) = new_figure(9, 2.8, ncols=2)
    rows = trainable_summary(model)
    total = [r["params"] for r in rows]
    ax.barh(names, total, color="C7", label="frozen")
    bars = ax.barh(names, total, color="C2", label="trainable")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(100, 1e6)
    ax.set_xlabel("parameters (log scale)")
    ax.legend(loc="lower right")
    tx.axis("off")
    table = tx.text(0, 1, "", family="monospace", va="top", fontsize=9)

    def draw(frozen_blocks: int = 3) -> None:
        rows = freezing_rows(model, frozen_blocks)
        for bar, r in zip(bars, rows):
            bar.set_width(r["trainable"])
        table.set_text(f"freeze_to(model, {frozen_blocks})\n\n" + format_summary(model))
    slider = IntSlider(3, 0, len(names), description="frozen blocks", style={"description_width": "initial"})
    return LivePlot(fig, draw, {"frozen_blocks": slider}, animated=[*bars, table])


def freezing_explorer(model: nn.Module):
    """The widget: how many blocks to freeze → trainable parameters and BatchNorm modes per block."""
    return freezing_plot(model).widget()
