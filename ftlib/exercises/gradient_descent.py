"""Exercises of lesson 01 (gradient descent): ``check()``, ``hint()``, ``solution()`` each.

    from ftlib.exercises import gradient_descent as ex
    ex.update_rule.check(step)
"""
from __future__ import annotations

import torch

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise

__all__ = ["update_rule", "threshold", "ridge_gradient", "oscillation", "adam_step"]

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


def _ridge_grad(X, y, w, lam):
    return 2.0 / len(X) * X.T @ (X @ w - y) + 2.0 * lam * w


_g = torch.Generator().manual_seed(1)
_X1, _y1, _w1 = torch.randn(6, 2, generator=_g, dtype=_f64), torch.randn(6, generator=_g, dtype=_f64), \
    torch.randn(2, generator=_g, dtype=_f64)
_X2, _y2, _w2 = torch.randn(10, 3, generator=_g, dtype=_f64), torch.randn(10, generator=_g, dtype=_f64), \
    torch.randn(3, generator=_g, dtype=_f64)

ridge_gradient = FunctionExercise(
    "Exercise 4 — the gradient of a penalised loss (ridge regression)",
    reference=_ridge_grad,
    cases=[(_X1, _y1, _w1, 0.5), (_X2, _y2, _w2, 0.1), (_X2, _y2, _w2, 0.0)],
    mistakes=[
        (lambda X, y, w, lam: 2.0 / len(X) * X.T @ (X @ w - y) + lam * w,
         "The penalty's part is half what it should be: the derivative of λ·w² is 2λw."),
        (lambda X, y, w, lam: 2.0 / len(X) * X.T @ (X @ w - y),
         "That is the gradient of the mean squared error alone: the penalty λ‖w‖² has a gradient too."),
        (lambda X, y, w, lam: 1.0 / len(X) * X.T @ (X @ w - y) + 2.0 * lam * w,
         "The factor 2 of the squared error is missing: the derivative of r² is 2r."),
        (lambda X, y, w, lam: 2.0 / len(X) * X.T @ (y - X @ w) + 2.0 * lam * w,
         "The sign of the data term is flipped: with the residual r = Xw − y, ∂r/∂w is +X, not −X."),
        (lambda X, y, w, lam: 2.0 / len(X) * X.T @ (X @ w - y) - 2.0 * lam * w,
         "The penalty's sign is flipped: λ‖w‖² grows as w moves away from 0, so its gradient points away from 0."),
    ],
    hint_text="The gradient of a sum is the sum of the gradients. The first term is section 4's loss; for the "
              "second, λ‖w‖² = λ Σ wⱼ²: differentiate one wⱼ² at a time.",
    solution_text="def ridge_grad(X, y, w, lam):\n    return 2 / len(X) * X.T @ (X @ w - y) + 2 * lam * w",
)

def _adam_step(theta, g, m, v, t, lr):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
    return theta - lr * m_hat / (v_hat.sqrt() + 1e-8), m, v


def _adam_mistake(bias_correction=True, root=True, square=True):
    def step(theta, g, m, v, t, lr):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * (g * g if square else g.abs())
        m_hat, v_hat = (m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)) if bias_correction else (m, v)
        return theta - lr * m_hat / ((v_hat.sqrt() if root else v_hat) + 1e-8), m, v
    return step


_t3 = torch.tensor
adam_step = FunctionExercise(
    "Exercise 5 — one Adam step",
    reference=_adam_step,
    cases=[(_t3([-4.0, 1.5], dtype=_f64), _t3([-4.0, 15.0], dtype=_f64), torch.zeros(2, dtype=_f64),
            torch.zeros(2, dtype=_f64), 1, 0.1),
           (_t3([1.0, -2.0, 0.5], dtype=_f64), _t3([0.3, -0.2, 2.0], dtype=_f64), _t3([0.1, -0.1, 0.4], dtype=_f64),
            _t3([0.02, 0.01, 0.3], dtype=_f64), 3, 0.01)],
    mistakes=[
        (_adam_mistake(bias_correction=False),
         "The bias correction is missing: m and v start at 0, so early on they are too small; divide them by "
         "1 − β₁ᵗ and 1 − β₂ᵗ."),
        (_adam_mistake(root=False), "The step divides by v̂ itself: Adam divides by its square root, √v̂ + ε."),
        (_adam_mistake(square=False), "v averages the *squared* gradient, g², not |g|."),
        (lambda theta, g, m, v, t, lr: (theta - lr * g, m, v),
         "That is a plain gradient-descent step, and m and v were not updated."),
    ],
    hint_text="Three lines in order: update m and v from g (β₁ = 0.9, β₂ = 0.999), divide each by its bias "
              "correction (1 − βᵗ), then step θ by lr · m̂ / (√v̂ + ε) with ε = 1e-8. Return θ, m, v.",
    solution_text=("def adam_step(theta, g, m, v, t, lr):\n"
                   "    m = 0.9 * m + 0.1 * g\n"
                   "    v = 0.999 * v + 0.001 * g * g\n"
                   "    m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)\n"
                   "    return theta - lr * m_hat / (v_hat.sqrt() + 1e-8), m, v"),
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
