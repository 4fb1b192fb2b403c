"""Lesson 01's checkers accept a correct answer and reject (and diagnose) the typical wrong ones."""
from __future__ import annotations

import pytest

from ftlib.exercises import gradient_descent as ex


def test_update_rule():
    assert ex.update_rule.check(lambda theta, grad, lr: theta - lr * grad, quiet=True)
    fb = ex.update_rule.check(lambda theta, grad, lr: theta + lr * grad, quiet=True)
    assert not fb and "subtracts" in fb.message
    assert "learning rate is missing" in ex.update_rule.check(lambda t, g, lr: t - g, quiet=True).message


def test_threshold():
    assert ex.threshold.check(2 / 8, quiet=True)
    fb = ex.threshold.check(1.0, quiet=True)
    assert not fb and "smallest" in fb.message and "about 4 times too large" in fb.message
    assert "0.25" not in fb.message and "2/8" not in fb.message and "(curvature 8)" not in fb.message
    fb = ex.threshold.check(0.125, quiet=True)
    assert "oscillate" in fb.message and "about 2 times too small" in fb.message and "2/L" not in fb.message
    fb = ex.threshold.check(0.3, quiet=True)
    assert not fb and "too large, by 10–50 %" in fb.message


def test_ridge_gradient():
    from ftlib.descent import mse_grad
    assert ex.ridge_gradient.check(lambda X, y, w, lam: mse_grad(X, y, w) + 2 * lam * w, quiet=True)
    fb = ex.ridge_gradient.check(lambda X, y, w, lam: mse_grad(X, y, w), quiet=True)
    assert not fb and "penalty" in fb.message
    fb = ex.ridge_gradient.check(lambda X, y, w, lam: mse_grad(X, y, w) + lam * w, quiet=True)
    assert not fb and "2λw" in fb.message
    fb = ex.ridge_gradient.check(lambda X, y, w, lam: 1 / len(X) * X.T @ (X @ w - y) + 2 * lam * w, quiet=True)
    assert not fb and "factor 2" in fb.message
    assert "(2/n)Xᵀ(Xw − y)" not in fb.message, "the explanation must not state the answer"


def test_adam_step():
    import torch
    from ftlib.descent import adam
    from ftlib.widgets import descent as wd
    namespace: dict = {}
    exec(ex.adam_step.solution_text, namespace)
    assert ex.adam_step.check(namespace["adam_step"], quiet=True)
    bowl = wd.default_bowl()
    theta, m, v = torch.tensor(wd.START, dtype=torch.float64), torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    for t in range(1, 4):
        theta, m, v = namespace["adam_step"](theta, bowl.grad(theta), m, v, t, 0.1)
    assert torch.allclose(theta, adam(bowl.grad, torch.tensor(wd.START), 0.1, 3)[-1]), "the solution is ftlib's adam"
    fb = ex.adam_step.check(lambda theta, g, m, v, t, lr: (theta - lr * g, m, v), quiet=True)
    assert not fb and "plain gradient-descent step" in fb.message
    fb = ex.adam_step.check(ex._adam_mistake(bias_correction=False), quiet=True)
    assert not fb and "bias correction" in fb.message


def test_oscillation():
    assert ex.oscillation.check("b", quiet=True)
    fb = ex.oscillation.check("c", quiet=True)
    assert not fb and "2/L" in fb.message


@pytest.mark.parametrize("exercise", [ex.update_rule, ex.threshold, ex.ridge_gradient, ex.oscillation, ex.adam_step])
def test_every_exercise_has_hint_solution_and_accepts_unanswered(exercise, capsys):
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "[hint]" in out and "[solution]" in out
    fb = exercise.check(..., quiet=True)
    assert not fb and not fb.answered


def test_solutions_as_printed_pass():
    """The printed solution code is itself a correct answer."""
    namespace: dict = {}
    exec(ex.update_rule.solution_text, namespace)
    assert ex.update_rule.check(namespace["step"], quiet=True)
    exec(ex.ridge_gradient.solution_text, namespace)
    assert ex.ridge_gradient.check(namespace["ridge_grad"], quiet=True)
    exec(ex.threshold.solution_text, namespace)
    assert ex.threshold.check(namespace["answer"], quiet=True)
    exec(ex.oscillation.solution_text, namespace)
    assert ex.oscillation.check(namespace["answer"], quiet=True)
