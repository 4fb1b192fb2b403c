"""Exercises of lesson 07 (catastrophic forgetting): EWC, the diagonal Fisher, discriminative LRs."""
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


def _lrs(base_lr, n_blocks, factor):
    return [base_lr / factor ** i for i in range(n_blocks)]


discriminative_lrs = FunctionExercise(
    "Exercise 3 — discriminative learning rates",
    reference=_lrs, cases=[(1e-3, 4, 2.6), (0.01, 3, 2.0), (1.0, 1, 10.0)],
    mistakes=[(lambda lr, n, f: [lr * f ** i for i in range(n)],
               "Lower blocks should learn *slower*: divide by the factor, do not multiply."),
              (lambda lr, n, f: [lr / f ** i for i in range(n)][::-1],
               "The list starts at the head (the full learning rate) and goes down to block 1."),
              (lambda lr, n, f: [lr / f * i if i else lr for i in range(n)],
               "Each block divides by the factor once more, so the divisors multiply: they do not grow "
               "linearly.")],
    hint_text="Depth 0 is the head with base_lr; each block below divides by factor once more.",
    solution_text="def layer_lrs(base_lr, n_blocks, factor):\n"
                  "    return [base_lr / factor ** i for i in range(n_blocks)]")
