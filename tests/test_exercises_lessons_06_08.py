"""Checkers of lessons 06-08 accept the solutions and explain the typical mistakes."""
from __future__ import annotations

import torch

from ftlib.exercises import domain_shift as ex8
from ftlib.exercises import forgetting as ex7
from ftlib.exercises import regularisation as ex6


def test_lesson06_checkers():
    assert ex6.l2_sp_penalty.check(lambda t, t0, lam: lam * ((t - t0) ** 2).sum(), quiet=True)
    fb = ex6.l2_sp_penalty.check(lambda t, t0, lam: lam * (t ** 2).sum(), quiet=True)
    assert not fb and "weight decay" in fb.message
    assert ex6.l2_sp_gradient.check(lambda t, t0, lam: 2 * lam * (t - t0), quiet=True)
    assert "factor 2" in ex6.l2_sp_gradient.check(lambda t, t0, lam: lam * (t - t0), quiet=True).message
    assert ex6.early_stopping_step.check(lambda s, v: s[min(range(len(v)), key=lambda j: v[j])], quiet=True)
    assert "last evaluation" in ex6.early_stopping_step.check(lambda s, v: s[-1], quiet=True).message
    assert ex6.pulls_towards.check("c", quiet=True)
    fb = ex6.pulls_towards.check("a", quiet=True)
    assert not fb and "θ₀ at all" in fb.message and "other way round" not in fb.message


def test_lesson07_checkers():
    assert ex7.ewc_penalty.check(lambda t, s, f, lam: lam / 2 * (f * (t - s) ** 2).sum(), quiet=True)
    fb = ex7.ewc_penalty.check(lambda t, s, f, lam: lam * (f * (t - s) ** 2).sum(), quiet=True)
    assert "½" in fb.message and "about 2 times too large" in fb.message
    assert "L2-SP" in ex7.ewc_penalty.check(lambda t, s, f, lam: lam / 2 * ((t - s) ** 2).sum(), quiet=True).message
    assert ex7.fisher_diagonal.check(lambda g: (g ** 2).mean(0), quiet=True)
    assert "other order" in ex7.fisher_diagonal.check(lambda g: g.mean(0) ** 2, quiet=True).message
    assert ex7.true_fisher.check(lambda g, p: (p.unsqueeze(-1) * g ** 2).sum(1).mean(0), quiet=True)
    assert "probability" in ex7.true_fisher.check(lambda g, p: (g ** 2).mean(1).mean(0), quiet=True).message
    assert "exactly 0" in ex7.true_fisher.check(lambda g, p: ((p.unsqueeze(-1) * g).sum(1) ** 2).mean(0),
                                                quiet=True).message


def test_lesson08_checkers():
    assert ex8.transfer_gain.check(lambda p, s: sum(a - b for a, b in zip(p, s)) / len(p), quiet=True)
    assert "sign" in ex8.transfer_gain.check(lambda p, s: sum(b - a for a, b in zip(p, s)) / len(p),
                                             quiet=True).message
    assert ex8.adabn_mean.check(lambda m: m.mean(dim=(0, 2, 3)), quiet=True)
    assert "per channel" in ex8.adabn_mean.check(lambda m: m.mean(dim=(1, 2, 3)), quiet=True).message
    assert ex8.pseudo_label.check(
        lambda p, t: torch.where(p.max(1).values >= t, p.argmax(1), torch.full((len(p),), -1)), quiet=True)
    assert "−1" in ex8.pseudo_label.check(lambda p, t: p.argmax(1), quiet=True).message


def test_unanswered_stubs_are_not_errors():
    def stub(*args):
        raise NotImplementedError
    for exercise in (ex6.l2_sp_penalty, ex7.ewc_penalty, ex8.pseudo_label):
        fb = exercise.check(stub, quiet=True)
        assert not fb and not fb.answered
