"""Freezing and unfreezing by block, in fastai's vocabulary, as plain functions (lesson 04).

``freeze(model)`` freezes everything but the head; ``freeze_to(model, n)`` freezes the
first ``n`` blocks; ``unfreeze(model)`` makes all trainable.  Frozen BatchNorm layers
are also put in eval mode so their running statistics stay those of pretraining —
``model.train()`` undoes that, so :func:`ftlib.training.fit` calls
:func:`set_frozen_bn_eval` after every ``model.train()`` (the "BatchNorm trap").

Lesson 05 adds parameter groups: :func:`param_groups` and :func:`make_group_optimizer`
give one learning rate per block, and :func:`discriminative_lrs` gives ULMFiT's rates
(each lower block ÷ 2.6).  All return ordinary PyTorch objects.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def block_names(model: nn.Module) -> list[str]:
    """Names of the model's top-level children that hold parameters, in order."""
    return [name for name, child in model.named_children() if any(True for _ in child.parameters())]


def _set_trainable(module: nn.Module, trainable: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(trainable)


def set_frozen_bn_eval(model: nn.Module) -> nn.Module:
    """Put every BatchNorm layer whose parameters are all frozen into eval mode."""
    for m in model.modules():
        if isinstance(m, _BN):
            params = list(m.parameters())
            if params and not any(p.requires_grad for p in params):
                m.eval()
    return model


def freeze_to(model: nn.Module, n: int | str) -> nn.Module:
    """Freeze the first ``n`` blocks (or every block before the one named ``n``); unfreeze the rest.

    ``freeze_to(model, 0)`` unfreezes everything; ``freeze_to(model, -1)`` freezes all but
    the last block (the head).  Returns the model.
    """
    names = block_names(model)
    if isinstance(n, str):
        if n not in names:
            raise KeyError(f"unknown block {n!r}; this model's blocks are {names}")
        n = names.index(n)
    if n < 0:
        n += len(names)
    if not 0 <= n <= len(names):
        raise ValueError(f"n={n} is out of range for a model with {len(names)} blocks {names}")
    for i, name in enumerate(names):
        _set_trainable(getattr(model, name), i >= n)
    for m in model.modules():  # unfrozen BatchNorm follows the model's mode again
        if isinstance(m, _BN) and any(p.requires_grad for p in m.parameters()):
            m.train(model.training)
    return set_frozen_bn_eval(model)


def freeze(model: nn.Module) -> nn.Module:
    """Freeze everything except the last block (the head): feature extraction."""
    return freeze_to(model, -1)


def unfreeze(model: nn.Module) -> nn.Module:
    """Make every parameter trainable again (full fine-tuning)."""
    return freeze_to(model, 0)


def trainable_params(model: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimizer should see."""
    return [p for p in model.parameters() if p.requires_grad]


def trainable_summary(model: nn.Module) -> list[dict]:
    """One row per block: parameters, how many are trainable, and each BatchNorm's mode."""
    rows = []
    for name in block_names(model):
        block = getattr(model, name)
        params = list(block.parameters())
        bn_modes = ["train" if m.training else "eval" for m in block.modules() if isinstance(m, _BN)]
        rows.append({"block": name, "params": sum(p.numel() for p in params),
                     "trainable": sum(p.numel() for p in params if p.requires_grad),
                     "batchnorm": ",".join(bn_modes) if bn_modes else "-"})
    return rows


def format_summary(model: nn.Module) -> str:
    """:func:`trainable_summary` as a small text table."""
    rows = trainable_summary(model)
    lines = [f"{'block':<8}{'params':>9}{'trainable':>11}  batchnorm"]
    for r in rows:
        lines.append(f"{r['block']:<8}{r['params']:>9,}{r['trainable']:>11,}  {r['batchnorm']}")
    total = sum(r["params"] for r in rows)
    train = sum(r["trainable"] for r in rows)
    lines.append(f"{'total':<8}{total:>9,}{train:>11,}")
    return "\n".join(lines)


# -- parameter groups and discriminative learning rates (lessons 04 and 05) --------------------

ULMFIT_FACTOR = 2.6  # Howard & Ruder (2018): each lower layer's lr is the one above it ÷ 2.6


def resolve_lrs(model: nn.Module, lrs: float | Sequence[float] | Mapping[str, float]) -> dict[str, float]:
    """Block name -> learning rate from one number, a list in block order, or a dict by name.

    A list must have one entry per block; a dict may not name unknown blocks (blocks it
    leaves out keep ``None``, meaning "not in any optimizer group").
    """
    names = block_names(model)
    if isinstance(lrs, Mapping):
        unknown = [b for b in lrs if b not in names]
        if unknown:
            raise KeyError(f"unknown block {unknown[0]!r}; this model's blocks are {names}")
        out = {b: (float(lrs[b]) if b in lrs else None) for b in names}
    elif isinstance(lrs, (int, float)):
        out = {b: float(lrs) for b in names}
    else:
        values = list(lrs)
        if len(values) != len(names):
            raise ValueError(f"got {len(values)} learning rates for {len(names)} blocks {names}: "
                             "give one per block (lowest block first)")
        out = dict(zip(names, (float(v) for v in values)))
    for b, v in out.items():
        if v is not None and not (v >= 0 and math.isfinite(v)):
            raise ValueError(f"learning rate of {b!r} must be a non-negative number, got {v}")
    return out


def discriminative_lrs(model: nn.Module, lr: float, factor: float = ULMFIT_FACTOR) -> dict[str, float]:
    """ULMFiT's discriminative rates: the top block (head) gets ``lr``, each block below ÷ ``factor``."""
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    names = block_names(model)
    return {b: lr / factor ** (len(names) - 1 - i) for i, b in enumerate(names)}


def param_groups(model: nn.Module, lrs: float | Sequence[float] | Mapping[str, float],
                 include_frozen: bool = False) -> list[dict]:
    """Optimizer parameter groups, one per block: ``[{"params": [...], "lr": ..., "name": block}]``.

    By default only trainable parameters are included (blocks with none are left out).
    With ``include_frozen=True`` frozen parameters are included too, so that blocks unfrozen
    later (gradual unfreezing) are already in the optimizer; PyTorch optimizers skip
    parameters whose gradient is ``None``.
    """
    groups = []
    for b, lr in resolve_lrs(model, lrs).items():
        if lr is None:
            continue
        params = [p for p in getattr(model, b).parameters() if include_frozen or p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr, "name": b})
    return groups


def make_group_optimizer(model: nn.Module, lrs: float | Sequence[float] | Mapping[str, float],
                         include_frozen: bool = False, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam over :func:`param_groups` — pass it to ``ftlib.fit(..., optimizer=...)``.

    Raises when no parameter that would be optimised is trainable (everything frozen).
    """
    groups = param_groups(model, lrs, include_frozen=include_frozen)
    if not any(p.requires_grad for g in groups for p in g["params"]):
        raise ValueError("no trainable parameters in the requested groups (everything is frozen), so "
                         "training would do nothing. Unfreeze something first: ftlib.unfreeze(model) "
                         "or ftlib.freeze_to(model, n).")
    return torch.optim.Adam(groups, weight_decay=weight_decay)


def group_lrs(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """Current learning rate of each named group of ``optimizer``."""
    return {g.get("name", str(i)): g["lr"] for i, g in enumerate(optimizer.param_groups)}
