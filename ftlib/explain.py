"""Explaining one prediction: occlusion maps and gradient saliency (lesson 09).

*Occlusion* (Zeiler & Fergus 2014): slide a grey patch over the image and record how much
the probability of the class of interest drops; big drops mark the pixels the model relies
on.  It treats the model as a black box, like LIME (Ribeiro et al. 2016) and SHAP (Lundberg
& Lee 2017), which fit local surrogates or Shapley values over many such perturbations.

*Gradient saliency* (Simonyan et al. 2014): ``|∂ score / ∂ pixel|`` — one backward pass,
but noisier.

Neither map is ground truth.  :func:`deletion_drop` is a sanity check: deleting the pixels a
map ranks highest should hurt the prediction more than deleting random pixels.
"""
from __future__ import annotations

import torch
from torch import nn

from ftlib.training import as_float_input


def _prepare(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """One image (28, 28) uint8 or (1, H, W) float -> a float batch (1, 1, H, W)."""
    x = as_float_input(image.unsqueeze(0) if image.dtype == torch.uint8 else image)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    return x.to(next(model.parameters()).device)


@torch.no_grad()
def class_probability(model: nn.Module, x: torch.Tensor, target: int, batch_size: int = 512) -> torch.Tensor:
    """Softmax probability of class ``target`` for every image of the float batch ``x``."""
    was_training = model.training
    model.eval()
    try:
        out = [torch.softmax(model(x[i:i + batch_size]), dim=1)[:, target]
               for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out).cpu()


@torch.no_grad()
def occlusion_map(model: nn.Module, image: torch.Tensor, target: int, patch: int = 6,
                  stride: int = 2, fill: float | None = None) -> torch.Tensor:
    """Drop in p(``target``) when a ``patch``×``patch`` square is covered, per pixel (H, W).

    Every patch position is one image of a single batch; a pixel's value is the mean drop
    over the patches that cover it.  ``fill`` defaults to the image's mean (a grey patch).
    """
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be positive, got {patch} and {stride}")
    x = _prepare(model, image)
    _, _, h, w = x.shape
    if patch > min(h, w):
        raise ValueError(f"patch {patch} is larger than the image ({h}×{w})")
    fill = float(x.mean()) if fill is None else fill
    base = class_probability(model, x, target)[0]
    tops = list(range(0, h - patch + 1, stride))
    lefts = list(range(0, w - patch + 1, stride))
    if tops[-1] != h - patch:
        tops.append(h - patch)
    if lefts[-1] != w - patch:
        lefts.append(w - patch)
    occluded = x.repeat(len(tops) * len(lefts), 1, 1, 1)
    k = 0
    for top in tops:
        for left in lefts:
            occluded[k, :, top:top + patch, left:left + patch] = fill
            k += 1
    drops = base - class_probability(model, occluded, target)
    total, count = torch.zeros(h, w), torch.zeros(h, w)
    k = 0
    for top in tops:
        for left in lefts:
            total[top:top + patch, left:left + patch] += drops[k]
            count[top:top + patch, left:left + patch] += 1
            k += 1
    return total / count


def gradient_saliency(model: nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """``|∂ logit_target / ∂ x|`` per pixel (H, W), maximum over channels."""
    was_training = model.training
    model.eval()
    try:
        x = _prepare(model, image).clone().requires_grad_(True)
        model(x)[0, target].backward()
    finally:
        model.train(was_training)
    return x.grad.detach().abs().amax(dim=1)[0].cpu()


def deletion_drop(model: nn.Module, image: torch.Tensor, target: int, saliency: torch.Tensor,
                  fraction: float = 0.1, fill: float | None = None) -> float:
    """Drop in p(``target``) after replacing the ``fraction`` of pixels ``saliency`` ranks highest."""
    x = _prepare(model, image)
    fill = float(x.mean()) if fill is None else fill
    n = max(1, int(round(fraction * saliency.numel())))
    top = torch.topk(saliency.flatten(), n).indices
    deleted = x.clone().flatten(2)
    deleted[:, :, top] = fill
    deleted = deleted.view_as(x)
    probs = class_probability(model, torch.cat([x, deleted]), target)
    return float(probs[0] - probs[1])


def random_saliency(shape: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """A random "map" of the given shape: the baseline for :func:`deletion_drop`."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))
