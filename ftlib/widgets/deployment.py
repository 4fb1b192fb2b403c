"""Widget of lesson 10: what a preprocessing mistake at serving time does to predictions.

The model was trained on ``(pixels / 255 − mean) / std``.  ``SKEWS`` lists the usual ways a
serving pipeline gets that wrong; ``skew_table`` runs the model once on every variant
(tested in tests/test_deploy.py) and ``skew_plot`` shows, for the chosen variant, the input
the model actually sees, its class probabilities and the accuracy over the test images.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ftlib.data import MEAN, STD


def _correct(x: torch.Tensor) -> torch.Tensor:
    return (x.float() / 255 - MEAN) / STD


SKEWS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "correct: (x/255 − mean)/std": _correct,
    "forgot the normalisation: x/255": lambda x: x.float() / 255,
    "forgot /255: (x − mean)/std": lambda x: (x.float() - MEAN) / STD,
    "inverted colours (white background)": lambda x: _correct(255 - x),
    "shifted 4 px (off-centre crop)": lambda x: _correct(torch.roll(x, shifts=(4, 4), dims=(-2, -1))),
    "upside down": lambda x: _correct(x.flip(-2)),
}


@torch.no_grad()
def skew_table(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """For every variant: model inputs, probabilities and accuracy on (images, labels)."""
    model.eval()
    out = {}
    for name, fn in SKEWS.items():
        x = fn(images).unsqueeze(1)
        probs = torch.softmax(model(x), dim=1)
        out[name] = {"inputs": x[:, 0].numpy(), "probs": probs.numpy(),
                     "accuracy": float((probs.argmax(1) == labels).float().mean())}
    return out


def skew_plot(table: dict, labels: torch.Tensor, class_names: Sequence[str]):
    """Pick a preprocessing variant and an image: the model's input, its probabilities, accuracy."""
    import ipywidgets as widgets

    from ftlib.widgets import LivePlot, new_figure

    fig, (ax_i, ax_p) = new_figure(7.5, 3.0, ncols=2)
    first = table[next(iter(table))]
    im = ax_i.imshow(first["inputs"][0], cmap="gray", vmin=-1, vmax=3)
    ax_i.set_xticks([])
    ax_i.set_yticks([])
    bars = ax_p.barh(np.arange(len(class_names)), first["probs"][0], color="tab:blue")
    ax_p.set_yticks(np.arange(len(class_names)), class_names)
    ax_p.invert_yaxis()
    ax_p.set_xlim(0, 1)
    ax_p.set_xlabel("probability")

    def draw(variant: str, index: int) -> dict:
        row = table[variant]
        im.set_data(row["inputs"][index])
        label = int(labels[index])
        for i, b in enumerate(bars):
            b.set_width(row["probs"][index, i])
            b.set_color("tab:green" if i == label else "tab:blue")
        ax_i.set_title(f"what the model sees\n(true: {class_names[label]})", fontsize=9)
        ax_p.set_title(f"accuracy on {len(labels)} test images: {row['accuracy']:.3f}", fontsize=9)
        return row

    sliders = {"variant": widgets.Dropdown(options=list(table), description="preprocessing",
                                           style={"description_width": "initial"},
                                           layout=widgets.Layout(width="420px")),
               "index": widgets.IntSlider(value=0, min=0, max=min(len(labels), 50) - 1, description="image")}
    return LivePlot(fig, draw, sliders, [im, *bars, ax_i.title, ax_p.title])


def skew_widget(table: dict, labels: torch.Tensor, class_names: Sequence[str]):
    """The preprocessing-mistake explorer."""
    return skew_plot(table, labels, class_names).widget()
