"""Exercises of lesson 08 (negative transfer and domain shift)."""
from __future__ import annotations

import torch

from ftlib.exercises import FunctionExercise


def _gain(pre, scratch):
    return float(sum(p - s for p, s in zip(pre, scratch)) / len(pre))


transfer_gain = FunctionExercise(
    "Exercise 1 — detect negative transfer with paired seeds",
    reference=_gain,
    cases=[([0.8, 0.7, 0.9], [0.75, 0.72, 0.8]), ([0.3, 0.4], [0.8, 0.82]), ([0.5], [0.5])],
    mistakes=[(lambda p, s: float(sum(si - pi for pi, si in zip(p, s)) / len(p)),
               "Wrong sign: a positive gain should mean that pretraining helped (negative: negative transfer)."),
              (lambda p, s: float(sum(p) / sum(s)), "Use differences per seed, not a ratio."),
              (lambda p, s: float(sum(pi > si for pi, si in zip(p, s))),
               "That counts wins; the question asks for the mean paired difference.")],
    hint_text="Pair the runs by seed: one difference per seed (which way round makes a positive number mean "
              "'pretraining helped'?), then average the differences.",
    solution_text="def transfer_gain(pretrained, scratch):\n"
                  "    return sum(p - s for p, s in zip(pretrained, scratch)) / len(pretrained)")


def _stats(maps):
    return maps.mean(dim=(0, 2, 3))


_g = torch.Generator().manual_seed(8)
adabn_mean = FunctionExercise(
    "Exercise 2 — the statistic AdaBN re-estimates",
    reference=_stats,
    cases=[(torch.randn(4, 3, 5, 5, generator=_g),), (torch.arange(16.0).reshape(2, 2, 2, 2),),
           (torch.randn(10, 1, 2, 3, generator=_g) + 5,)],
    mistakes=[(lambda m: m.mean(dim=(1, 2, 3)), "That is one mean per *image*; BatchNorm keeps one per *channel*."),
              (lambda m: m.mean(dim=0), "Average over the spatial positions too: one number per channel.")],
    hint_text="feature_maps has shape (N, C, H, W); BatchNorm2d keeps one mean per channel C.",
    solution_text="def channel_means(feature_maps):\n    return feature_maps.mean(dim=(0, 2, 3))")


def _pseudo(probs, threshold):
    conf, labels = probs.max(1)
    return torch.where(conf >= threshold, labels, torch.full_like(labels, -1))


_P = torch.tensor([[0.95, 0.05, 0.0], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8], [0.0, 0.9, 0.1]])
pseudo_label = FunctionExercise(
    "Exercise 3 — pseudo-labels with a confidence threshold",
    reference=_pseudo, cases=[(_P, 0.9), (_P, 0.5), (_P, 0.0)],
    mistakes=[(lambda p, t: p.argmax(1), "Keep only confident predictions: mark the others with −1."),
              (lambda p, t: torch.where(p.max(1).values > t, p.argmax(1), torch.full((len(p),), -1)),
               "Use ≥ threshold (a prediction exactly at the threshold counts as confident)."),
              (lambda p, t: torch.where(p.min(1).values >= t, p.argmax(1), torch.full((len(p),), -1)),
               "Confidence is the *largest* probability of a row.")],
    hint_text="A row's confidence is its largest probability and its label the position of it (probs.max(1) "
              "gives both); torch.where chooses, row by row, between the label and −1.",
    solution_text="def pseudo_label(probs, threshold):\n    conf, labels = probs.max(1)\n"
                  "    return torch.where(conf >= threshold, labels, torch.full_like(labels, -1))")
