"""Domain-shift explorer for lesson 08: how much inversion and noise can the source model take?

``shift_accuracy`` (compute, tested) shifts a fixed batch of test images and returns the
pretrained model's accuracy on them; ``shift_plot`` precomputes it for every slider position
(``accuracy_table``) and shows a few shifted images with that accuracy as the noise level and
the inversion change.
"""
from __future__ import annotations

import torch
from torch import nn

from ftlib.domain import invert_noise
from ftlib.training import predict


def shift_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, noise_std: float,
                   invert: bool, seed: int = 0) -> tuple[torch.Tensor, float]:
    """(shifted images, accuracy of ``model`` on them)."""
    shifted = invert_noise(x, noise_std, seed=seed, invert=invert)
    acc = (predict(model, shifted).argmax(1) == y).float().mean().item()
    return shifted, acc


def accuracy_table(model: nn.Module, x: torch.Tensor, y: torch.Tensor, noise_levels, seed: int = 0) -> dict:
    """Accuracy for every (noise_std, invert) the widget offers, computed once up front.

    A slider move then costs a dictionary lookup instead of a forward pass (the 50 ms budget).
    """
    return {(float(n), inv): shift_accuracy(model, x, y, float(n), inv, seed)[1]
            for n in noise_levels for inv in (True, False)}


def shift_plot(model: nn.Module, x: torch.Tensor, y: torch.Tensor, shown: int = 6):
    """A :class:`ftlib.widgets.LivePlot`: noise slider, inversion checkbox, images and accuracy."""
    from ipywidgets import Checkbox, FloatSlider

    from ftlib.widgets import LivePlot, new_figure

    levels = [10.0 * i for i in range(11)]
    table = accuracy_table(model, x, y, levels)
    fig, axes = new_figure(8, 1.9, ncols=shown)
    images = []
    for ax in axes:
        images.append(ax.imshow(x[0].numpy(), cmap="gray", vmin=0, vmax=255))
        ax.axis("off")
    title = fig.suptitle("")

    def draw(noise_std: float = 60.0, invert: bool = True) -> None:
        shifted = invert_noise(x[:shown], noise_std, seed=0, invert=invert)
        for im, img in zip(images, shifted):
            im.set_data(img.numpy())
        acc = table.get((float(noise_std), bool(invert)))
        if acc is None:
            acc = shift_accuracy(model, x, y, noise_std, invert)[1]
        title.set_text(f"source model on {len(x)} shifted test images: {100 * acc:.1f} % (chance 10 %)")
    sliders = {"noise_std": FloatSlider(60.0, min=0.0, max=100.0, step=10.0, description="noise σ",
                                        continuous_update=False),
               "invert": Checkbox(True, description="invert contrast")}
    return LivePlot(fig, draw, sliders, animated=[*images, title])


def shift_explorer(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """The widget."""
    return shift_plot(model, x, y).widget()
