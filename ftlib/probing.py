"""Probing by depth: how useful are each block's features? (lesson 03)

A *linear probe* is a logistic regression trained on frozen features.  Probing every block
of a pretrained network and of a randomly initialised one (Yosinski et al. 2014, Alain &
Bengio 2016) shows which layers learned something general and which are specific to the
source task.

- :func:`layer_features` — frozen features of one block, flattened (or pooled).
- :func:`train_probe` — a zero-initialised linear layer trained with full-batch Adam
  (deterministic: no random initialisation, no minibatches) by :func:`train_full_batch`.
- :class:`ProbeModel` — backbone + probe as one module, so ``ftlib.evaluate`` works on it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ftlib import guards
from ftlib.training import as_float_input

LAYERS = ("block1", "block2", "block3", "pooled")


def _check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise KeyError(f"unknown layer {layer!r}; probe one of {list(LAYERS)}")


def forward_to(model: nn.Module, x: torch.Tensor, layer: str, pool: bool = False) -> torch.Tensor:
    """(N, D) features of ``layer`` for a float batch: flattened, or averaged over space with ``pool``."""
    _check_layer(layer)
    out = model.block_outputs(x)[layer]
    if out.ndim == 4:
        out = out.mean(dim=(2, 3)) if pool else out.flatten(1)
    return out


@torch.no_grad()
def layer_features(model: nn.Module, x: torch.Tensor, layer: str, pool: bool = False,
                   batch_size: int = 500) -> torch.Tensor:
    """Frozen features of ``layer`` for images ``x`` (uint8 or float), computed in eval mode."""
    _check_layer(layer)
    was_training = model.training
    model.eval()
    try:
        return torch.cat([forward_to(model, as_float_input(x[i:i + batch_size]), layer, pool)
                          for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


@torch.no_grad()
def all_layer_features(model: nn.Module, x: torch.Tensor, layers: Sequence[str] = LAYERS,
                       batch_size: int = 500) -> dict[str, torch.Tensor]:
    """:func:`layer_features` of several layers from one forward pass (flattened, not pooled)."""
    for layer in layers:
        _check_layer(layer)
    was_training = model.training
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {layer: [] for layer in layers}
    try:
        for i in range(0, len(x), batch_size):
            out = model.block_outputs(as_float_input(x[i:i + batch_size]))
            for layer in layers:
                parts[layer].append(out[layer].flatten(1))
    finally:
        model.train(was_training)
    return {layer: torch.cat(v) for layer, v in parts.items()}


def train_probe(features: torch.Tensor, y: torch.Tensor, num_classes: int | None = None, *,
                steps: int = 200, lr: float = 1e-2, weight_decay: float = 0.0) -> nn.Linear:
    """A linear classifier on fixed ``features`` (N, D): zero init, full-batch Adam, ``steps`` steps."""
    if features.ndim != 2 or len(features) != len(y):
        raise ValueError(f"need features of shape (N, D) and N labels, got {tuple(features.shape)} and {len(y)}")
    y = guards.as_labels(y, num_classes, n=len(features))
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    probe = nn.Linear(features.shape[1], num_classes)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    return train_full_batch(probe, features, y, steps=steps, lr=lr, weight_decay=weight_decay).requires_grad_(False)


def train_full_batch(module: nn.Module, features: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float,
                     weight_decay: float = 0.0) -> nn.Module:
    """Full-batch Adam on cross-entropy, through the guarded step; returns ``module``.

    The loop of a linear probe (lesson 03) and of a fresh domain classifier (lesson 08).
    """
    opt = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    divergence = guards.DivergenceGuard(lambda: f"{lr:.3g}")
    with torch.enable_grad():
        for step in range(steps):
            loss = F.cross_entropy(module(features), y)
            divergence.check(step, loss.detach())
            guards.update(opt, loss)
    return module


def probe_accuracy(probe: nn.Linear, features: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of a trained probe on (features, y)."""
    with torch.no_grad():
        return (probe(features).argmax(1) == y).float().mean().item()


class ProbeModel(nn.Module):
    """A frozen backbone's ``layer`` followed by a linear probe: a model ``evaluate`` accepts."""

    def __init__(self, backbone: nn.Module, layer: str, probe: nn.Linear, pool: bool = False) -> None:
        super().__init__()
        _check_layer(layer)
        self.backbone, self.probe, self.layer, self.pool = backbone, probe, layer, pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.probe(forward_to(self.backbone, x, self.layer, self.pool))


def fit_probe_model(backbone: nn.Module, x: torch.Tensor, y: torch.Tensor, layer: str, *,
                    pool: bool = False, steps: int = 200, lr: float = 1e-2) -> ProbeModel:
    """Train a probe on ``backbone``'s ``layer`` for images (x, y); returns the combined model."""
    backbone.eval().requires_grad_(False)
    probe = train_probe(layer_features(backbone, x, layer, pool), y, steps=steps, lr=lr)
    return ProbeModel(backbone, layer, probe, pool).eval()


def probe_by_depth(backbone: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor,
                   x_test: torch.Tensor, y_test: torch.Tensor, layers: Sequence[str] = LAYERS,
                   test_features: dict[str, torch.Tensor] | None = None, **probe_kwargs) -> dict[str, float]:
    """Test accuracy of a linear probe on each of ``layers`` (cache ``test_features`` to reuse them)."""
    if test_features is None:
        test_features = {}
    missing = [layer for layer in layers if layer not in test_features]
    if missing:
        test_features.update(all_layer_features(backbone, x_test, missing))
    train_features = all_layer_features(backbone, x_train, layers)
    out = {}
    for layer in layers:
        probe = train_probe(train_features[layer], y_train, num_classes=int(y_test.max()) + 1, **probe_kwargs)
        out[layer] = probe_accuracy(probe, test_features[layer], y_test)
    return out
