"""Lesson 00's widgets smoke test: browse the shipped images with a slider.

``example(index, split)`` is the plain function (tested); ``browse()`` wraps it in ipywidgets.
"""
from __future__ import annotations

import torch

from ftlib.data import CLASS_NAMES, load_fashion_mnist


def example(index: int, split: str = "train") -> tuple[torch.Tensor, int, str]:
    """Image ``index`` of ``split``: (28×28 uint8 image, label, class name)."""
    x, y = load_fashion_mnist(split)
    if not 0 <= index < len(x):
        raise IndexError(f"index must be in [0, {len(x) - 1}] for the {split} split, got {index}")
    label = int(y[index])
    return x[index], label, CLASS_NAMES[label]


def draw_example(index: int, split: str = "train"):
    """Show one image with its class name; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    image, label, name = example(index, split)
    fig, ax = plt.subplots(figsize=(2.6, 2.6))
    ax.imshow(image, cmap="gray_r")
    ax.set_title(f"#{index}: {name} (class {label})")
    ax.axis("off")
    plt.show()
    return fig


def browse(split: str = "train"):
    """A slider over the images of ``split`` — if it moves and the picture changes, widgets work."""
    import ipywidgets as widgets

    n = len(load_fashion_mnist(split)[0])
    return widgets.interactive(draw_example, index=widgets.IntSlider(0, 0, n - 1, 1, description="image"),
                               split=widgets.fixed(split))
