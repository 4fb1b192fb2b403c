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


def test_mse_gradient():
    assert ex.mse_gradient.check(lambda X, y, w: 2 / len(X) * X.T @ (X @ w - y), quiet=True)
    fb = ex.mse_gradient.check(lambda X, y, w: 1 / len(X) * X.T @ (X @ w - y), quiet=True)
    assert not fb and "factor 2" in fb.message
    fb = ex.mse_gradient.check(lambda X, y, w: 2 / len(X) * X.T @ (y - X @ w), quiet=True)
    assert not fb and "sign" in fb.message and "wrong sign in every entry" in fb.message
    assert "(2/n)Xᵀ(Xw − y)" not in fb.message, "the explanation must not state the answer"


def test_oscillation():
    assert ex.oscillation.check("b", quiet=True)
    fb = ex.oscillation.check("c", quiet=True)
    assert not fb and "2/L" in fb.message


@pytest.mark.parametrize("exercise", [ex.update_rule, ex.threshold, ex.mse_gradient, ex.oscillation])
def test_every_exercise_has_hint_solution_and_accepts_unanswered(exercise, capsys):
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "💡" in out and "📖" in out
    fb = exercise.check(..., quiet=True)
    assert not fb and not fb.answered


def test_solutions_as_printed_pass():
    """The printed solution code is itself a correct answer."""
    namespace: dict = {}
    exec(ex.update_rule.solution_text, namespace)
    assert ex.update_rule.check(namespace["step"], quiet=True)
    exec(ex.mse_gradient.solution_text, namespace)
    assert ex.mse_gradient.check(namespace["mse_grad"], quiet=True)
    exec(ex.threshold.solution_text, namespace)
    assert ex.threshold.check(namespace["answer"], quiet=True)
    exec(ex.oscillation.solution_text, namespace)
    assert ex.oscillation.check(namespace["answer"], quiet=True)
