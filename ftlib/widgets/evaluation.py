"""Widget of lesson 09: the occlusion explorer.

``occlusion_maps`` computes an occlusion map (:func:`ftlib.explain.occlusion_map`) for every
image and every patch size of the sliders once, up front; ``explain_view`` looks one up
(tested in tests/test_explain.py); ``occlusion_plot`` builds the :class:`LivePlot`; a slider
move only redraws.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ftlib.explain import occlusion_map
from ftlib.training import predict
from ftlib.widgets import LivePlot, new_figure

PATCHES = (4, 6, 8, 10)


def occlusion_maps(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                   patches: Sequence[int] = PATCHES, stride: int = 2) -> dict:
    """Occlusion maps for the *predicted* class of every image, for every patch size."""
    p_all = torch.softmax(predict(model, images), dim=1)
    preds = p_all.argmax(1)
    maps = {(i, p): occlusion_map(model, images[i], int(preds[i]), patch=p, stride=stride).numpy()
            for i in range(len(images)) for p in patches}
    return {"images": images.numpy(), "labels": labels.numpy(), "preds": preds.numpy(),
            "probs": p_all.numpy(), "maps": maps, "patches": tuple(patches)}


def explain_view(maps: dict, index: int, patch: int) -> dict:
    """What the widget shows for one image and one patch size."""
    m = maps["maps"][(index, patch)]
    pred = int(maps["preds"][index])
    return {"image": maps["images"][index], "map": m, "pred": pred, "label": int(maps["labels"][index]),
            "prob": float(maps["probs"][index, pred]), "peak": tuple(int(v) for v in np.unravel_index(m.argmax(), m.shape))}


def occlusion_plot(maps: dict, class_names: Sequence[str]) -> LivePlot:
    """Image (left) and occlusion map (right); sliders pick the image and the patch size."""
    import ipywidgets as widgets

    fig, (ax_i, ax_m) = new_figure(6.4, 3.2, ncols=2)
    first = explain_view(maps, 0, maps["patches"][0])
    im = ax_i.imshow(first["image"], cmap="gray", vmin=0, vmax=255)
    hm = ax_m.imshow(first["map"], cmap="RdBu_r", vmin=-0.5, vmax=0.5)
    fig.colorbar(hm, ax=ax_m, shrink=0.8, label="drop in p(predicted)")
    for ax in (ax_i, ax_m):
        ax.set_xticks([])
        ax.set_yticks([])

    def draw(index: int, patch: int) -> dict:
        view = explain_view(maps, index, patch)
        im.set_data(view["image"])
        hm.set_data(view["map"])
        ok = "✓" if view["pred"] == view["label"] else "✗"
        ax_i.set_title(f"true: {class_names[view['label']]}\npredicted: {class_names[view['pred']]} {ok}",
                       fontsize=9)
        ax_m.set_title(f"occlusion, {patch}×{patch} patch\np = {view['prob']:.2f}", fontsize=9)
        return view

    sliders = {"index": widgets.IntSlider(value=0, min=0, max=len(maps["images"]) - 1, description="image"),
               "patch": widgets.SelectionSlider(options=list(maps["patches"]), value=maps["patches"][0],
                                                description="patch size")}
    return LivePlot(fig, draw, sliders, [im, hm, ax_i.title, ax_m.title])


def occlusion_widget(maps: dict, class_names: Sequence[str]):
    """The occlusion explorer."""
    return occlusion_plot(maps, class_names).widget()
