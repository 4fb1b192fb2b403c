"""Can a model's confidence be trusted? Calibration, temperature scaling and abstaining (lesson 10).

A classifier is *calibrated* when, among the inputs it answers with confidence p, a fraction p is
right.  :func:`reliability` bins predictions by their top probability and compares each bin's mean
confidence with its accuracy (the reliability diagram); :func:`expected_calibration_error` is the
support-weighted mean gap (ECE, Naeini et al. 2015; Guo et al. 2017).  :func:`fit_temperature`
divides all logits by one T fitted on **validation** data (temperature scaling, Guo et al. 2017):
it changes no prediction, only the confidence.  :func:`coverage_curve` says how accurate the model is
on the inputs it answers when it abstains below a confidence threshold.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ftlib.softmax import best_temperature


def _check(probs: Tensor, y: Tensor) -> None:
    if probs.ndim != 2 or len(probs) != len(y) or len(y) == 0:
        raise ValueError(f"need probabilities of shape (N, classes) and N labels, got {tuple(probs.shape)} "
                         f"and {tuple(y.shape)}")
    if not torch.allclose(probs.sum(1), torch.ones(len(probs), dtype=probs.dtype), atol=1e-4) or (probs < 0).any():
        raise ValueError("probs must be probabilities (rows >= 0 that sum to 1): apply softmax to logits first")


def reliability(probs: Tensor, y: Tensor, bins: int = 10) -> dict[str, list[float]]:
    """Per confidence bin (equal width on [0, 1]): mean top probability, accuracy and count (empty bins: 0)."""
    _check(probs, y)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a whole number >= 1, got {bins!r}")
    conf, pred = probs.max(1)
    correct = (pred == y).double()
    index = torch.clamp((conf.double() * bins).long(), max=bins - 1)
    out: dict[str, list[float]] = {"lower": [i / bins for i in range(bins)], "confidence": [], "accuracy": [],
                                   "count": []}
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        out["count"].append(n)
        out["confidence"].append(float(conf.double()[mask].mean()) if n else 0.0)
        out["accuracy"].append(float(correct[mask].mean()) if n else 0.0)
    return out


def expected_calibration_error(probs: Tensor, y: Tensor, bins: int = 10) -> float:
    """ECE = Σ_b (n_b / N)·|accuracy_b − confidence_b| over the bins of :func:`reliability`."""
    r = reliability(probs, y, bins)
    total = sum(r["count"])
    return sum(n / total * abs(a - c) for n, a, c in zip(r["count"], r["accuracy"], r["confidence"]))


def fit_temperature(logits: Tensor, y: Tensor) -> float:
    """The T > 0 (log grid from 0.1 to 1000) that minimises the cross-entropy of ``logits / T`` on these
    examples — fit it on validation data, never on the test set."""
    if logits.ndim != 2 or len(logits) != len(y) or len(y) == 0:
        raise ValueError(f"need logits of shape (N, classes) and N labels, got {tuple(logits.shape)} and {tuple(y.shape)}")
    return best_temperature(logits.double(), y)


def coverage_curve(probs: Tensor, y: Tensor, thresholds: Sequence[float]) -> list[dict[str, float]]:
    """For each threshold: the fraction of inputs answered (top probability >= threshold) and the
    accuracy on those (None when none is answered)."""
    _check(probs, y)
    conf, pred = probs.max(1)
    out = []
    for t in thresholds:
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"thresholds are probabilities between 0 and 1, got {t}")
        answered = conf >= t
        n = int(answered.sum())
        out.append({"threshold": t, "coverage": n / len(y),
                    "accuracy": float((pred[answered] == y[answered]).double().mean()) if n else None})
    return out
