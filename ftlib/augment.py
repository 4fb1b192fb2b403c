"""Data augmentation on in-memory batches (lessons 04 and 06).

Random shifts and horizontal flips applied to a whole float batch with tensor
indexing: fast enough to use at every step on a CPU.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def random_shift_flip(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2,
                      flip: bool = True) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels (zero background) and flip half of them.

    ``x`` is a normalised float batch (N, C, H, W); the padding value is the image's own
    minimum so an empty border looks like background.
    """
    n, _, h, w = x.shape
    if max_shift > 0:
        fill = float(x.min())
        padded = F.pad(x, (max_shift,) * 4, value=fill)
        dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]  # n,1,h,1
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]  # n,1,1,w
        batch = torch.arange(n)[:, None, None, None]
        chan = torch.arange(x.shape[1])[None, :, None, None]
        x = padded[batch, chan, rows, cols]
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    return x


def shift_flip(max_shift: int = 2, flip: bool = True) -> Augment:
    """An augmentation function for ``fit(augment=...)``: ±``max_shift`` px shifts and flips."""
    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_shift_flip(x, generator, max_shift, flip)
    return augment
