"""Freezing and unfreezing by block, in fastai's vocabulary, as plain functions (lesson 04).

``freeze(model)`` freezes everything but the head; ``freeze_to(model, n)`` freezes the
first ``n`` blocks; ``unfreeze(model)`` makes all trainable.  Frozen BatchNorm layers
are also put in eval mode so their running statistics stay those of pretraining —
``model.train()`` undoes that, so :func:`ftlib.training.fit` calls
:func:`set_frozen_bn_eval` after every ``model.train()`` (the "BatchNorm trap").
"""
from __future__ import annotations

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
