"""Exercises of lesson 07 (catastrophic forgetting): EWC, the empirical and the true diagonal Fisher."""
from __future__ import annotations

import torch

from ftlib.exercises import FunctionExercise


def _ewc(theta, theta_star, fisher, lam):
    return lam / 2 * (fisher * (theta - theta_star) ** 2).sum()


_g = torch.Generator().manual_seed(7)
_EWC_CASES = [(torch.randn(6, generator=_g), torch.randn(6, generator=_g), torch.rand(6, generator=_g), 10.0),
              (torch.tensor([1.0, 2.0]), torch.tensor([0.0, 2.0]), torch.tensor([3.0, 100.0]), 1.0),
              (torch.randn(2, 3, generator=_g), torch.zeros(2, 3), torch.rand(2, 3, generator=_g), 0.5)]

ewc_penalty = FunctionExercise(
    "Exercise 1 — the EWC penalty",
    reference=_ewc, cases=_EWC_CASES,
    mistakes=[(lambda t, s, f, lam: lam * (f * (t - s) ** 2).sum(), "The factor ½ in front of λ is missing."),
              (lambda t, s, f, lam: lam / 2 * ((t - s) ** 2).sum(),
               "Without the Fisher weights this is L2-SP; EWC weights each parameter by Fᵢ."),
              (lambda t, s, f, lam: lam / 2 * (f * (t - s)).sum(), "Square the difference θ − θ*.")],
    hint_text="EWC is a squared distance to the old weights θ* in which each parameter has its own weight, "
              "the Fisher value Fᵢ (how much it mattered for the old task). Mind the constant in front of λ.",
    solution_text="def ewc_penalty(theta, theta_star, fisher, lam):\n"
                  "    return lam / 2 * (fisher * (theta - theta_star) ** 2).sum()")


def _fisher(grads):
    return (grads ** 2).mean(0)


_FISHER_CASES = [(torch.randn(8, 5, generator=_g),), (torch.tensor([[1.0, -1.0], [3.0, 1.0]]),),
                 (torch.randn(4, 2, 3, generator=_g),)]

fisher_diagonal = FunctionExercise(
    "Exercise 2 — the diagonal Fisher from per-example gradients",
    reference=_fisher, cases=_FISHER_CASES,
    mistakes=[(lambda g: g.mean(0) ** 2, "That is the square of the mean gradient (which is ≈ 0 at a minimum); "
                                        "the Fisher does the two operations in the other order."),
              (lambda g: (g ** 2).sum(0), "Average over examples instead of summing."),
              (lambda g: g.abs().mean(0), "Square the gradients, do not take absolute values.")],
    hint_text="The diagonal Fisher is the average over examples of the *squared* per-example gradient. Which "
              "dimension of grads runs over the examples?",
    solution_text="def fisher(grads):\n    return (grads ** 2).mean(0)")


def _true_fisher(grads, probs):
    return (probs.unsqueeze(-1) * grads ** 2).sum(1).mean(0)


_TRUE_CASES = [(torch.randn(6, 3, 4, generator=_g), torch.softmax(torch.randn(6, 3, generator=_g), 1)),
               (torch.tensor([[[1.0], [-2.0]]]), torch.tensor([[0.9, 0.1]])),
               (torch.randn(3, 5, 2, generator=_g), torch.softmax(3 * torch.randn(3, 5, generator=_g), 1))]

true_fisher = FunctionExercise(
    "Exercise 3 — the true Fisher from the model's own predictions",
    reference=_true_fisher, cases=_TRUE_CASES,
    mistakes=[(lambda g, p: (g ** 2).mean(1).mean(0),
               "That weights every class equally; weight class c by the model's probability p(c|x) instead."),
              (lambda g, p: (p.unsqueeze(-1) * g ** 2).sum(1).sum(0), "Average over examples instead of summing."),
              (lambda g, p: ((p.unsqueeze(-1) * g).sum(1) ** 2).mean(0),
               "That squares the probability-weighted mean gradient, which is exactly 0 for a softmax: "
               "square each class's gradient first, then weight by p(c|x)."),
              (lambda g, p: (p.unsqueeze(-1) ** 2 * g ** 2).sum(1).mean(0),
               "The probability weights the squared gradient once; it is not squared itself.")],
    hint_text="For each example, the true Fisher averages the squared gradient of log p(c|x) over the classes c "
              "the model itself would predict, each with its probability. grads has shape (examples, classes, "
              "parameters) and probs (examples, classes).",
    solution_text="def true_fisher(grads, probs):\n"
                  "    return (probs.unsqueeze(-1) * grads ** 2).sum(1).mean(0)")
