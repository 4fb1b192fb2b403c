"""Bottleneck adapters (Houlsby et al. 2019), lesson 13: a small residual MLP after a frozen sublayer.

``Adapter(x) = x + up(gelu(down(x)))`` with ``up`` starting at zero, so the adapted model starts exactly as the
pretrained one. Houlsby put one after each attention block's output projection and one after each MLP, before
the residual connection, and trained the LayerNorms too.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ftlib.efficient.common import freeze_all


class Adapter(nn.Module):
    """A residual bottleneck over the feature dimension ``dim`` of its input (``-1`` for text, ``1`` for images)."""

    def __init__(self, features: int, bottleneck: int = 16, dim: int = -1):
        super().__init__()
        if bottleneck <= 0:
            raise ValueError(f"the adapter's bottleneck must be a positive size, not {bottleneck}")
        self.dim = dim
        self.down = nn.Linear(features, bottleneck)
        self.up = nn.Linear(bottleneck, features)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.movedim(self.dim, -1)
        h = h + self.up(F.gelu(self.down(h)))
        return h.movedim(-1, self.dim)


class Adapted(nn.Module):
    """``adapter(module(x))``: the frozen module, then its adapter."""

    def __init__(self, module: nn.Module, adapter: Adapter):
        super().__init__()
        self.module, self.adapter = module, adapter

    def forward(self, *args, **kwargs):
        return self.adapter(self.module(*args, **kwargs))


def _features(module: nn.Module) -> tuple[int, int]:
    if isinstance(module, nn.Linear):
        return module.out_features, -1
    if isinstance(module, nn.Conv2d):
        return module.out_channels, 1
    raise TypeError(f"an adapter goes after a Linear or Conv2d layer, not {type(module).__name__}")


def add_adapters(model: nn.Module, after: Sequence[str] = ("attn.o", "mlp.fc2"), bottleneck: int = 16,
                 train_norms: bool = True) -> nn.Module:
    """Freeze ``model`` and put an :class:`Adapter` after every layer whose name ends with one in ``after``.

    ``train_norms`` leaves the LayerNorms trainable, as Houlsby did. An unknown name is an error.
    """
    if isinstance(after, str):
        after = [after]
    named = dict(model.named_modules())
    hits = {n: m for n, m in named.items() if any(n == a or n.endswith("." + a) for a in after)}
    for a in after:
        if not any(n == a or n.endswith("." + a) for n in hits):
            raise ValueError(f"no layer is called {a!r}: name the layers after which adapters go, "
                             f"e.g. {sorted({n.rsplit('.', 1)[-1] for n in named if n})[:10]}")
    already = [n for n, m in named.items() if isinstance(m, Adapted)]
    if already:
        raise ValueError(f"the model already has adapters (at {already[0]}): adding them again would stack "
                         "two adapters per layer. Start from a fresh copy of the model (nothing was changed)")
    freeze_all(model)
    for name, module in hits.items():
        features, dim = _features(module)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Adapted(module, Adapter(features, bottleneck, dim)))
    if train_norms:
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)) and not isinstance(m, nn.BatchNorm2d):
                for p in m.parameters():
                    p.requires_grad_(True)
    return model
