"""LoRA from scratch (Hu et al. 2021), lesson 13: W x  becomes  W x + (α / r) · B A x.

``A`` (r × in) starts random and ``B`` (out × r) starts at zero, so a freshly wrapped layer computes exactly
what the pretrained one did. The update is scaled by **α / r**: doubling the rank with α fixed keeps the
update's size, which is why α is set once and r can be changed freely. (A popular book scaled by α alone,
so its updates grew with r.) After training, :func:`merge_lora` folds ``(α / r) · B A`` into ``W``: the same
outputs at no extra inference cost.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ftlib.efficient.common import freeze_all


def _check_rank(r: int, alpha: float | None) -> float:
    if not isinstance(r, int) or isinstance(r, bool) or r <= 0:
        raise ValueError(f"the LoRA rank r must be a positive whole number, not {r!r}: try r=4")
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float))):
        raise TypeError(f"alpha must be a number (or None for 2r), not {alpha!r}")
    alpha = 2.0 * r if alpha is None else float(alpha)
    if not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be positive, not {alpha}: the update is scaled by alpha / r")
    return alpha


class _LoRABase(nn.Module):
    base: nn.Module

    def _setup(self, r: int, alpha: float | None) -> None:
        self.alpha = _check_rank(r, alpha)
        self.r = r
        self.scaling = self.alpha / r
        self.merged = False
        for p in self.base.parameters():
            p.requires_grad_(False)

    def delta_weight(self) -> torch.Tensor:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def merge(self) -> nn.Module:
        """Fold the update into the base layer's weight and return that layer (it then *is* the model's layer)."""
        if self.merged:
            raise RuntimeError("this LoRA layer is already merged: merging twice would add the update twice")
        with torch.no_grad():
            self.base.weight += self.delta_weight().to(self.base.weight.dtype)
        self.merged = True
        return self.base

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha:g}, scaling={self.scaling:g}"


class LoRALinear(_LoRABase):
    """``base(x) + scaling · x Aᵀ Bᵀ`` around a frozen ``nn.Linear``."""

    def __init__(self, base: nn.Linear, r: int = 4, alpha: float | None = None):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, not {type(base).__name__}")
        self.base = base
        self._setup(r, alpha)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as peft does

    def delta_weight(self) -> torch.Tensor:
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return self.base(x)
        return self.base(x) + self.scaling * F.linear(F.linear(x, self.lora_A), self.lora_B)


class LoRAConv2d(_LoRABase):
    """The same for a frozen ``nn.Conv2d``: A is a conv with r output channels, B a 1×1 conv (the CNN track)."""

    def __init__(self, base: nn.Conv2d, r: int = 4, alpha: float | None = None):
        super().__init__()
        if not isinstance(base, nn.Conv2d) or base.groups != 1:
            raise TypeError("LoRAConv2d wraps an ungrouped nn.Conv2d")
        self.base = base
        self._setup(r, alpha)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_channels, *base.kernel_size))
        self.lora_B = nn.Parameter(torch.zeros(base.out_channels, r, 1, 1))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def delta_weight(self) -> torch.Tensor:
        a = self.lora_A.flatten(1)
        return self.scaling * (self.lora_B.flatten(1) @ a).view_as(self.base.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return self.base(x)
        b = self.base
        low = F.conv2d(x, self.lora_A, None, b.stride, b.padding, b.dilation)
        return b(x) + self.scaling * F.conv2d(low, self.lora_B)


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def apply_lora(model: nn.Module, target_modules: Sequence[str] = ("q", "v"), r: int = 4,
               alpha: float | None = None) -> nn.Module:
    """Freeze ``model`` and wrap every Linear/Conv2d whose name ends with a target in a LoRA layer.

    ``alpha`` defaults to ``2 r`` (scaling 2). Names match like ``peft``'s ``target_modules``: ``"q"`` matches
    ``blocks.0.attn.q``. An unknown target, a rank ≤ 0, or a model that already has LoRA layers is an error.
    Unfreeze the head yourself afterwards (``ftlib.efficient.train_only(model, ["head"])``).
    """
    if isinstance(target_modules, str):
        target_modules = [target_modules]
    alpha = _check_rank(r, alpha)
    if lora_layers(model):
        raise ValueError("the model already has LoRA layers: apply LoRA once (or merge_lora first)")
    wrappable = {n: m for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
    for t in target_modules:
        if not any(_matches(n, t) for n in wrappable):
            names = sorted({n.rsplit(".", 1)[-1] for n in wrappable})
            raise ValueError(f"no Linear or Conv2d layer is called {t!r}; layer names in this model: {names}")
    freeze_all(model)
    for name, module in list(wrappable.items()):
        if any(_matches(name, t) for t in target_modules):
            layer = LoRALinear if isinstance(module, nn.Linear) else LoRAConv2d
            _replace(model, name, layer(module, r=r, alpha=alpha))
    return model


def lora_layers(model: nn.Module) -> dict[str, _LoRABase]:
    """The model's LoRA layers by name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, _LoRABase)}


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA update into its base weight and put the plain layer back (in place; returns ``model``).

    The merged model computes the same outputs (up to float rounding) with no extra cost. Merging a model that
    has no LoRA layers, for example merging twice, is an error.
    """
    layers = lora_layers(model)
    if not layers:
        raise ValueError("the model has no LoRA layers to merge: was it merged already, or was apply_lora "
                         "never called?")
    for name, layer in layers.items():
        _replace(model, name, layer.merge())
    return model
