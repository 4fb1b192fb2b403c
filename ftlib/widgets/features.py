"""Feature-map explorer for lesson 03: pick an image and a block, see what the channels respond to.

``feature_mosaic`` (compute, tested) tiles the first channels of a block's output into one
array; ``draw_feature_mosaic`` shows it; ``feature_explorer`` wraps both in ``interact``.
The forward pass happens once, when the explorer is built, so moving a control only redraws.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ftlib.training import as_float_input

BLOCKS = ("block1", "block2", "block3")


@torch.no_grad()
def block_maps(model: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Feature maps (N, C, H, W) after each block for a few images, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        out = model.block_outputs(as_float_input(images))
    finally:
        model.train(was_training)
    return {b: out[b] for b in BLOCKS}


def feature_mosaic(maps: torch.Tensor, channels: int = 16, pad: int = 1) -> torch.Tensor:
    """Tile the first ``channels`` maps of one image (C, H, W) into a square mosaic, each map scaled to [0, 1]."""
    if maps.ndim != 3:
        raise ValueError(f"expected the maps of one image, shape (C, H, W), got {tuple(maps.shape)}")
    c = min(channels, maps.shape[0])
    side = math.ceil(math.sqrt(c))
    h, w = maps.shape[1:]
    mosaic = torch.full((side * (h + pad) - pad, side * (w + pad) - pad), float("nan"))
    for i in range(c):
        m = maps[i]
        lo, hi = m.min(), m.max()
        m = (m - lo) / (hi - lo) if hi > lo else torch.zeros_like(m)
        r, col = divmod(i, side)
        mosaic[r * (h + pad):r * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = m
    return mosaic


def feature_plot(model: nn.Module, images: torch.Tensor, channels: int = 16):
    """A :class:`ftlib.widgets.LivePlot`: image slider and block menu; redraws two images in place."""
    from ipywidgets import Dropdown, IntSlider

    from ftlib.widgets import LivePlot, new_figure

    maps = block_maps(model, images)
    fig, (a, b) = new_figure(8, 3.6, ncols=2)
    shown = a.imshow(images[0], cmap="gray", vmin=0, vmax=255)
    tiles = b.imshow(feature_mosaic(maps["block1"][0], channels), cmap="viridis", vmin=0, vmax=1,
                     extent=(0, 1, 1, 0), interpolation="nearest")
    a.set_title("input")
    title = b.set_title(" ")
    for ax in (a, b):
        ax.axis("off")

    def draw(image: int = 0, block: str = "block1") -> None:
        m = maps[block][image]
        shown.set_data(images[image])
        tiles.set_data(feature_mosaic(m, channels))
        title.set_text(f"{block}: first {min(channels, m.shape[0])} of {m.shape[0]} channels, "
                       f"{m.shape[1]}×{m.shape[2]} each")
    sliders = {"image": IntSlider(0, 0, len(images) - 1, description="image"),
               "block": Dropdown(options=list(BLOCKS), description="block")}
    return LivePlot(fig, draw, sliders, animated=[shown, tiles, title])


def feature_explorer(model: nn.Module, images: torch.Tensor, channels: int = 16):
    """The widget: pick an image and a block; shows the first ``channels`` feature maps."""
    return feature_plot(model, images, channels).widget()
