"""Exercises of lesson 06 (regularisation): L2-SP, its gradient, early stopping's choice."""
from __future__ import annotations

import torch

from ftlib.exercises import ChoiceExercise, FunctionExercise


def _l2_sp(theta, theta0, lam):
    return lam * ((theta - theta0) ** 2).sum()


def _cases():
    g = torch.Generator().manual_seed(6)
    return [(torch.randn(5, generator=g), torch.randn(5, generator=g), 0.1),
            (torch.tensor([1.0, -2.0, 0.5]), torch.tensor([1.0, -1.0, 0.0]), 2.0),
            (torch.randn(3, 4, generator=g), torch.zeros(3, 4), 0.01)]


l2_sp_penalty = FunctionExercise(
    "Exercise 1 — the L2-SP penalty",
    reference=_l2_sp, cases=_cases(),
    mistakes=[(lambda t, t0, lam: lam * (t ** 2).sum(),
               "That is plain weight decay: it pulls θ towards zero. L2-SP measures the distance to θ₀."),
              (lambda t, t0, lam: lam * (t - t0).abs().sum(),
               "That is an L1 distance; L2-SP uses the *squared* Euclidean distance."),
              (lambda t, t0, lam: lam * (t - t0).pow(2).sum().sqrt(),
               "You took the norm ‖θ − θ₀‖; the penalty is the squared norm ‖θ − θ₀‖²."),
              (lambda t, t0, lam: ((t - t0) ** 2).sum(), "Multiply by λ.")],
    hint_text="The penalty measures how far θ has moved from the starting point θ₀: the squared Euclidean "
              "distance, summed over every entry of the tensor, scaled by λ.",
    solution_text="def l2_sp(theta, theta0, lam):\n    return lam * ((theta - theta0) ** 2).sum()")


def _grad(theta, theta0, lam):
    return 2 * lam * (theta - theta0)


l2_sp_gradient = FunctionExercise(
    "Exercise 2 — the pull of L2-SP",
    reference=_grad, cases=_cases(),
    mistakes=[(lambda t, t0, lam: lam * (t - t0), "The derivative of x² is 2x: you lost the factor 2."),
              (lambda t, t0, lam: 2 * lam * (t0 - t), "Wrong sign: the gradient points *away* from θ₀ "
                                                      "(descent then moves θ back towards θ₀)."),
              (lambda t, t0, lam: 2 * lam * t, "That is weight decay's gradient 2λθ; L2-SP's involves θ − θ₀.")],
    hint_text="Differentiate λ·Σ(θᵢ − θ₀ᵢ)² with respect to each θᵢ.",
    solution_text="def l2_sp_grad(theta, theta0, lam):\n    return 2 * lam * (theta - theta0)")


def _best(eval_steps, val_losses):
    i = min(range(len(val_losses)), key=lambda j: val_losses[j])
    return eval_steps[i]


early_stopping_step = FunctionExercise(
    "Exercise 3 — which weights does early stopping keep?",
    reference=_best,
    cases=[([10, 20, 30, 40, 50], [0.9, 0.6, 0.5, 0.55, 0.7]),
           ([5, 10, 15], [1.2, 1.1, 1.0]),
           ([10, 20, 30, 40], [0.4, 0.8, 0.3, 0.9])],
    mistakes=[(lambda s, v: s[-1], "That is the last evaluation: early stopping keeps the *best* one."),
              (lambda s, v: s[max(range(len(v)), key=lambda j: v[j])],
               "That is the step with the *highest* validation loss; keep the lowest."),
              (lambda s, v: min(range(len(v)), key=lambda j: v[j]),
               "You returned the index into the list; return the step number at that index.")],
    hint_text="Early stopping restores the weights of the *best* evaluation: which validation loss is best, "
              "and at which step was it recorded?",
    solution_text="def best_step(eval_steps, val_losses):\n"
                  "    i = min(range(len(val_losses)), key=lambda j: val_losses[j])\n    return eval_steps[i]")


pulls_towards = ChoiceExercise(
    "Exercise 4 — where do the penalties pull?",
    options={"a": "Weight decay pulls θ towards θ₀; L2-SP pulls θ towards zero.",
             "b": "Both pull θ towards zero, L2-SP only on the head.",
             "c": "Weight decay pulls θ towards zero; L2-SP pulls the pretrained part towards θ₀ and the new head towards zero.",
             "d": "Neither changes where θ ends up when λ is small."},
    correct="c",
    explanations={"a": "Check each statement against the penalty's formula: which one contains θ₀ at all?",
                  "b": "L2-SP's backbone term is ‖θ − θ₀‖², not ‖θ‖².",
                  "c": "Weight decay assumes good weights are small; L2-SP assumes they are near the pretrained ones.",
                  "d": "Even small λ changes the optimum; the sweep shows how much."},
    hint_text="Look at the minimum of each penalty term: where is ‖θ‖² zero, where is ‖θ − θ₀‖² zero?",
    solution_text="answer = 'c'")
