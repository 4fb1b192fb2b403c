"""Shared helpers: freeze everything, unfreeze by name, count what trains (lesson 13)."""
from __future__ import annotations

from collections.abc import Iterable

from torch import nn


def freeze_all(model: nn.Module) -> nn.Module:
    """``requires_grad = False`` on every parameter."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _matches(name: str, target: str) -> bool:
    """``target`` names a module or parameter by its full name or by its last parts (``"head"``, ``"attn.q"``)."""
    return name == target or name.endswith("." + target) or name.startswith(target + ".")


def train_only(model: nn.Module, names: Iterable[str]) -> nn.Module:
    """Make trainable the parameters inside the modules (or the parameters) called ``names``; leave the rest.

    Raises a ValueError naming the model's modules if a name matches nothing.
    """
    names = list(names)
    params = dict(model.named_parameters())
    for target in names:
        hits = [n for n in params if _matches(n, target) or any(_matches(m, target) and n.startswith(m + ".")
                                                               for m in [n.rsplit(".", 1)[0]])]
        if not hits:
            modules = sorted({n.rsplit(".", 1)[0] for n in params})
            raise ValueError(f"no module or parameter is called {target!r}; the model has: "
                             f"{', '.join(modules[:12])}{' ...' if len(modules) > 12 else ''}")
        for n in hits:
            params[n].requires_grad_(True)
    return model


def count_trainable(model: nn.Module) -> int:
    """Number of trainable parameters (each shared tensor counted once)."""
    seen, total = set(), 0
    for p in model.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total
