"""Exercises of lesson 01 (gradient descent): ``check()``, ``hint()``, ``solution()`` each.

    from ftlib.exercises import gradient_descent as ex
    ex.update_rule.check(step)
"""
from __future__ import annotations

import torch

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise

__all__ = ["update_rule", "threshold", "mse_gradient", "oscillation"]

_t = torch.tensor
_f64 = torch.float64


def _step(theta, grad, lr):
    return theta - lr * grad


update_rule = FunctionExercise(
    "Exercise 1 — the update rule",
    reference=_step,
    cases=[(_t([1.0, -2.0]), _t([0.5, 4.0]), 0.1), (3.0, -1.5, 0.2), (_t([0.0, 1.0, 2.0]), _t([1.0, 1.0, -1.0]), 1.0)],
    mistakes=[
        (lambda theta, grad, lr: theta + lr * grad,
         "You added the gradient: the gradient points uphill, so gradient descent subtracts it."),
        (lambda theta, grad, lr: theta - grad,
         "The learning rate is missing: the step is lr times the gradient."),
        (lambda theta, grad, lr: -lr * grad,
         "You returned only the step: where does the new θ start from?"),
    ],
    hint_text="The gradient points in the direction where J grows fastest. Which way should theta move, "
              "and how does the learning rate set the length of the step?",
    solution_text="def step(theta, grad, lr):\n    return theta - lr * grad",
)

threshold = ValueExercise(
    "Exercise 3 — the largest stable learning rate",
    expected=0.25,
    mistakes=[
        (1.0, "That is 2 divided by the *smallest* curvature — but as η grows, which direction "
              "diverges first?"),
        (0.125, "That is where the steep direction starts to oscillate; an oscillating θ can still "
                "converge. How much larger may η get before it diverges?"),
        (0.2, "That is 2/(2 + 8): the curvatures do not add up; each direction has its own "
              "condition |1 − η·aᵢ| < 1."),
    ],
    hint_text="Along each axis the update multiplies θᵢ by (1 − η·aᵢ). Every factor must have "
              "absolute value below 1: as η grows, which axis breaks that condition first?",
    solution_text="answer = 2 / 8   # L = largest curvature = 8, threshold 2/L = 0.25",
)


def _mse_grad(X, y, w):
    return 2.0 / len(X) * X.T @ (X @ w - y)


_g = torch.Generator().manual_seed(1)
_X1, _y1, _w1 = torch.randn(6, 2, generator=_g, dtype=_f64), torch.randn(6, generator=_g, dtype=_f64), \
    torch.randn(2, generator=_g, dtype=_f64)
_X2, _y2, _w2 = torch.randn(10, 3, generator=_g, dtype=_f64), torch.randn(10, generator=_g, dtype=_f64), \
    torch.randn(3, generator=_g, dtype=_f64)

mse_gradient = FunctionExercise(
    "Exercise 4 — the gradient of the mean squared error",
    reference=_mse_grad,
    cases=[(_X1, _y1, _w1), (_X2, _y2, _w2)],
    mistakes=[
        (lambda X, y, w: 1.0 / len(X) * X.T @ (X @ w - y),
         "The factor 2 is missing: the derivative of r² is 2r."),
        (lambda X, y, w: 2.0 / len(X) * X.T @ (y - X @ w),
         "The sign is flipped: with the residual r = Xw − y, ∂r/∂w is +X, not −X."),
        (lambda X, y, w: 2.0 * X.T @ (X @ w - y),
         "You forgot to divide by n: the loss is a *mean* over the n examples."),
    ],
    hint_text="Write the residual r = Xw − y, so J = (1/n) Σ rᵢ². Differentiate rᵢ² with the chain rule, "
              "then write the sum over the n examples as one matrix product with Xᵀ.",
    solution_text="def mse_grad(X, y, w):\n    return 2 / len(X) * X.T @ (X @ w - y)",
)

oscillation = ChoiceExercise(
    "Exercise 2 — between 1/L and 2/L",
    options={
        "a": "θ shrinks towards the minimum monotonically, without changing sign",
        "b": "θ changes sign at every step, but its size shrinks: it oscillates and converges",
        "c": "θ grows: gradient descent diverges",
        "d": "θ stays where it is",
    },
    correct="b",
    explanations={
        "a": "That is what happens for η < 1/L, where the factor 1 − ηL is between 0 and 1.",
        "b": "Right: the factor 1 − ηL lies between −1 and 0, so each step overshoots the minimum "
             "but lands closer to it.",
        "c": "Divergence needs |1 − ηL| > 1, that is η > 2/L.",
        "d": "θ only stays put at the minimum itself (or with η = 0).",
    },
    hint_text="On J(θ) = ½Lθ² one step gives θ ← (1 − ηL)θ. What is the sign and the size of "
              "1 − ηL when 1/L < η < 2/L?",
    solution_text="answer = 'b'   # 1 − ηL is in (−1, 0): sign flips, size shrinks",
)
