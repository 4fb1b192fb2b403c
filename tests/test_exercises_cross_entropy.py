"""Lesson 02's checkers accept a correct answer and reject (and diagnose) the typical wrong ones."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ftlib.exercises import cross_entropy as ex


def test_stable_softmax():
    def good(z):
        e = torch.exp(z - z.max(-1, keepdim=True).values)
        return e / e.sum(-1, keepdim=True)

    def naive(z):
        return torch.exp(z) / torch.exp(z).sum(-1, keepdim=True)

    assert ex.stable_softmax.check(good, quiet=True)
    fb = ex.stable_softmax.check(naive, quiet=True)
    assert not fb and "NaN" in fb.message
    fb = ex.stable_softmax.check(lambda z: torch.exp(z) / torch.exp(z).sum(0, keepdim=True), quiet=True)
    assert not fb and "dim" in fb.message


def test_cross_entropy_loss():
    def good(z, y):
        logp = z - torch.logsumexp(z, -1, keepdim=True)
        return -logp[torch.arange(len(y)), y].mean()

    assert ex.cross_entropy_loss.check(good, quiet=True)
    fb = ex.cross_entropy_loss.check(lambda z, y: torch.log_softmax(z, -1)[torch.arange(len(y)), y].mean(),
                                     quiet=True)
    assert not fb and "minus sign" in fb.message
    fb = ex.cross_entropy_loss.check(lambda z, y: F.cross_entropy(z, y, reduction="sum"), quiet=True)
    assert not fb and "mean" in fb.message


def test_logit_gradient():
    def good(z, y):
        return (torch.softmax(z, -1) - F.one_hot(y, z.shape[-1]).float()) / len(z)

    assert ex.logit_gradient.check(good, quiet=True)
    fb = ex.logit_gradient.check(lambda z, y: -good(z, y), quiet=True)
    assert not fb and "sign is flipped" in fb.message
    assert "p − y" not in fb.message
    fb = ex.logit_gradient.check(lambda z, y: good(z, y) * len(z), quiet=True)
    assert not fb and "batch size" in fb.message and "about 4 times too large" in fb.message


def test_smoothed_target():
    import math
    q, o = 1 - 0.2 + 0.2 / 5, 0.2 / 5
    assert ex.smoothed_target.check(-(q * math.log(q) + 4 * o * math.log(o)), quiet=True)
    fb = ex.smoothed_target.check(-math.log(q), quiet=True)
    assert not fb and "sums over every class" in fb.message
    fb = ex.smoothed_target.check(-(0.8 * math.log(0.8) + 4 * 0.05 * math.log(0.05)), quiet=True)
    assert not fb and "ε/K" in fb.message
    assert "0.66" not in fb.message
    fb = ex.smoothed_target.check(0.3, quiet=True)
    assert not fb and "too small" in fb.message


@pytest.mark.parametrize("exercise", [ex.stable_softmax, ex.cross_entropy_loss, ex.logit_gradient,
                                      ex.smoothed_target])
def test_every_exercise_has_hint_solution_and_accepts_unanswered(exercise, capsys):
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "[hint]" in out and "[solution]" in out
    assert not exercise.check(None, quiet=True).answered


def test_solutions_as_printed_pass(capsys):
    """The printed solution code is itself a correct answer."""
    for exercise, name in [(ex.stable_softmax, "softmax"), (ex.cross_entropy_loss, "cross_entropy"),
                           (ex.logit_gradient, "grad_logits")]:
        namespace = {"torch": torch, "F": F}
        exec(exercise.solution_text, namespace)
        assert exercise.check(namespace[name], quiet=True), name
