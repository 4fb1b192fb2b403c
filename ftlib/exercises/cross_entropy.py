"""Exercises of lesson 02 (softmax and cross-entropy): ``check()``, ``hint()``, ``solution()`` each.

    from ftlib.exercises import cross_entropy as ex
    ex.stable_softmax.check(my_softmax)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ftlib.exercises import FunctionExercise, ValueExercise

__all__ = ["stable_softmax", "cross_entropy_loss", "logit_gradient", "smoothed_target"]

_t = torch.tensor


def _softmax(z):
    e = torch.exp(z - z.max(-1, keepdim=True).values)
    return e / e.sum(-1, keepdim=True)


stable_softmax = FunctionExercise(
    "Exercise 2 — a softmax that does not overflow",
    reference=_softmax,
    cases=[(_t([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]]),),
           (_t([[1.0, -1.0], [3.0, 5.0], [-2.0, 0.5]]),),
           (_t([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 5.0]]),)],
    mistakes=[
        (lambda z: torch.exp(z) / torch.exp(z).sum(0, keepdim=True),
         "You normalised over the batch (dim 0): each *row* is one example and must sum to 1 — use dim=-1."),
        (lambda z: torch.exp(z) / torch.exp(z).sum(),
         "You divided by the sum over the whole batch: normalise each row on its own (dim=-1, keepdim=True)."),
    ],
    hint_text="softmax(z) = softmax(z − c) for any constant c in a row: which c keeps every exp(·) at "
              "most 1? Each row is one example and is normalised on its own (dim=-1, keepdim=True). "
              "If the last test gave NaN, exp(1000) overflowed.",
    solution_text="def softmax(z):\n    e = torch.exp(z - z.max(-1, keepdim=True).values)\n"
                  "    return e / e.sum(-1, keepdim=True)",
)

_g = torch.Generator().manual_seed(2)
_Z1, _Y1 = torch.randn(4, 3, generator=_g), _t([0, 2, 1, 2])
_Z2, _Y2 = 3 * torch.randn(6, 5, generator=_g), _t([4, 0, 0, 3, 1, 2])


def _neg_log_p_sum(z, y):
    return -torch.log_softmax(z, -1)[torch.arange(len(y)), y].sum()


cross_entropy_loss = FunctionExercise(
    "Exercise 3 — mean cross-entropy from logits",
    reference=lambda z, y: F.cross_entropy(z, y),
    cases=[(_Z1, _Y1), (_Z2, _Y2)],
    mistakes=[
        (lambda z, y: torch.log_softmax(z, -1)[torch.arange(len(y)), y].mean(),
         "The minus sign is missing: the loss is −log p of the true class (log p ≤ 0, the loss ≥ 0)."),
        (_neg_log_p_sum, "You summed over the batch: F.cross_entropy takes the *mean*."),
        (lambda z, y: -z[torch.arange(len(y)), y].mean(),
         "You used the raw logit of the true class: take log_softmax first, so the other classes count too."),
    ],
    hint_text="log p = z − logsumexp(z), row by row (torch.logsumexp is the stable way). Each row needs "
              "log p of *its* true class: index with one tensor of rows and one of columns. Then average "
              "over the batch — and mind the sign.",
    solution_text="def cross_entropy(z, y):\n    logp = z - torch.logsumexp(z, -1, keepdim=True)\n"
                  "    return -logp[torch.arange(len(y)), y].mean()",
)


def _grad(z, y):
    return (torch.softmax(z, -1) - F.one_hot(y, z.shape[-1]).float()) / len(z)


logit_gradient = FunctionExercise(
    "Exercise 1 — the gradient with respect to the logits",
    reference=_grad,
    cases=[(_Z1, _Y1), (_Z2, _Y2)],
    mistakes=[
        (lambda z, y: (F.one_hot(y, z.shape[-1]).float() - torch.softmax(z, -1)) / len(z),
         "The sign is flipped: raising the true class's logit lowers the loss, so its entry of the "
         "gradient must be negative. You computed the direction gradient *descent* moves in."),
        (lambda z, y: torch.softmax(z, -1) - F.one_hot(y, z.shape[-1]).float(),
         "The batch size is missing: the loss is the *mean* over the batch, so each row contributes "
         "only a share of it."),
    ],
    hint_text="Start from the gradient the lesson derived for one example; F.one_hot turns the labels "
              "into rows you can subtract. The batch loss is a mean over the N rows.",
    solution_text="def grad_logits(z, y):\n    p = torch.softmax(z, -1)\n"
                  "    return (p - F.one_hot(y, z.shape[-1]).float()) / len(z)",
)

smoothed_target = ValueExercise(
    "Exercise 4 — the smallest label-smoothed loss",
    expected=-(0.84 * math.log(0.84) + 4 * 0.04 * math.log(0.04)),
    mistakes=[
        (0.0, "With hard targets the loss can approach 0; with smoothing the best prediction is p = q, "
              "and q is not one-hot. What is the loss there?"),
        (-math.log(0.84), "That is −log of the true class's target alone. With a smoothed target the loss sums "
                          "over every class: each class k contributes −q_k log p_k."),
        (-(0.8 * math.log(0.8) + 4 * 0.05 * math.log(0.05)),
         "Check q: the uniform part ε/K goes to every class, the true one too."),
        (-(0.84 * math.log(0.84) + 0.04 * math.log(0.04)),
         "There are K − 1 = 4 wrong classes, and each contributes."),
        (-(0.84 * math.log(0.84) + 4 * 0.04 * math.log(0.04)) / math.log(2),
         "That is in bits: the course's cross-entropy uses the natural logarithm."),
    ],
    hint_text="Work out q for K = 5 and ε = 0.2 (what the true class and each other class get). The loss "
              "−Σ q_k log p_k is smallest at p = q: put p = q into it.",
    solution_text="q_true = 1 - 0.2 + 0.2 / 5\nq_other = 0.2 / 5\n"
                  "answer = -(q_true * math.log(q_true) + 4 * q_other * math.log(q_other))   # = 0.6615",
)
