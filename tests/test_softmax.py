"""ftlib.softmax: stability, agreement with PyTorch, the p − y gradient, label smoothing, training."""
from __future__ import annotations

import math

import pytest

import torch
import torch.nn.functional as F

from ftlib.softmax import (cross_entropy, grad_logits, grad_weights, log_softmax, logsumexp, lr_grid,
                           naive_cross_entropy, naive_softmax, smooth_targets, softmax,
                           train_softmax_regression)


def test_softmax_matches_torch_and_sums_to_one():
    z = torch.randn(5, 4)
    assert torch.allclose(softmax(z), torch.softmax(z, -1), atol=1e-6)
    assert torch.allclose(softmax(z).sum(-1), torch.ones(5))
    assert torch.allclose(log_softmax(z), torch.log_softmax(z, -1), atol=1e-6)
    assert torch.allclose(logsumexp(z), torch.logsumexp(z, -1), atol=1e-6)


def test_naive_softmax_overflows_and_stable_one_does_not():
    z = torch.tensor([1000.0, 1001.0, 1002.0])
    assert torch.isnan(naive_softmax(z)).all()
    assert torch.allclose(softmax(z), torch.softmax(torch.tensor([0.0, 1.0, 2.0]), -1))
    assert not math.isfinite(float(naive_cross_entropy(z, torch.tensor(0))))
    assert math.isclose(float(cross_entropy(z, torch.tensor(0))), float(F.cross_entropy(z[None], torch.tensor([0]))),
                        rel_tol=1e-4)


def test_cross_entropy_matches_torch_with_and_without_smoothing():
    z, y = 4 * torch.randn(8, 5), torch.randint(0, 5, (8,))
    for eps in (0.0, 0.1, 0.3):
        assert torch.allclose(cross_entropy(z, y, eps), F.cross_entropy(z, y, label_smoothing=eps), atol=1e-5)
    q = smooth_targets(torch.tensor([2]), 10, 0.1)
    assert math.isclose(float(q[0, 2]), 0.91, rel_tol=1e-6) and math.isclose(float(q.sum()), 1.0, rel_tol=1e-6)


def test_gradient_is_p_minus_y_and_agrees_with_autograd():
    z, y = torch.randn(6, 3, requires_grad=True), torch.tensor([0, 1, 2, 2, 1, 0])
    (auto,) = torch.autograd.grad(F.cross_entropy(z, y), z)
    assert torch.allclose(grad_logits(z.detach(), y), auto, atol=1e-6)
    z1 = torch.tensor([2.0, 1.0, -1.0])
    assert torch.allclose(grad_logits(z1, 1), softmax(z1) - torch.tensor([0.0, 1.0, 0.0]))
    x = torch.randn(6, 4)
    W = torch.randn(3, 4, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    gW, gb = torch.autograd.grad(F.cross_entropy(x @ W.T + b, y), (W, b))
    hW, hb = grad_weights(x, (x @ W.T + b).detach(), y)
    assert torch.allclose(hW, gW, atol=1e-6) and torch.allclose(hb, gb, atol=1e-6)


def test_label_smoothing_penalises_overconfidence():
    y = torch.tensor([0])
    confident, moderate = torch.tensor([[12.0, 0.0, 0.0]]), torch.tensor([[4.0, 0.0, 0.0]])
    assert cross_entropy(confident, y) < cross_entropy(moderate, y)
    assert cross_entropy(confident, y, 0.1) > cross_entropy(moderate, y, 0.1)


def test_batched_softmax_regression_matches_a_single_run_and_learns():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(60, 12, generator=g)
    y = (x[:, :3].argmax(1))
    runs = train_softmax_regression(x, y, [0.01, 0.5], steps=30, num_classes=3)
    single = train_softmax_regression(x, y, [0.5], steps=30, num_classes=3)[0]
    assert [r.lr for r in runs] == [0.01, 0.5]
    assert all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(runs[1].train_loss, single.train_loss))
    assert math.isclose(runs[0].train_loss[0], math.log(3), rel_tol=1e-6)
    assert runs[1].train_loss[-1] < runs[0].train_loss[-1] < runs[0].train_loss[0]
    # the hand gradient step equals one autograd gradient-descent step
    W = torch.zeros(12, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    F.cross_entropy(x @ W + b, y).backward()
    z1 = x @ (-0.5 * W.grad) - 0.5 * b.grad
    assert math.isclose(float(F.cross_entropy(z1, y)), runs[1].train_loss[1], rel_tol=1e-5)
    assert torch.get_num_threads() >= 1


def test_lr_grid_is_log_spaced():
    grid = lr_grid(-3, 1, 1 / 3)
    assert len(grid) == 13 and math.isclose(grid[0], 1e-3) and math.isclose(grid[-1], 10.0)
    assert math.isclose(grid[6], 0.1)


def test_lesson_02_claims_about_the_chaotic_run_hold_on_every_data_draw():
    """Lesson 02's claims about η ≈ 4.6 must not depend on one chaotic trajectory.

    A run far above the stable range amplifies the last bits of the arithmetic, so another CPU, kernel or
    thread count gives another trajectory (issue: portable checks). Eight different draws of the 1,000 training
    images stand in for those perturbations: every statement the lesson asserts must hold on each of them.
    """
    import numpy as np

    from ftlib.widgets import softmax as ws

    jumpiness = lambda r: float(np.abs(np.diff(r.test_acc)).mean())
    for seed in range(8):
        runs = ws.precompute_runs(n_train=1000, n_test=1000, steps=60, seed=seed)
        right, large = ws.lookup_run(runs, 0.2), ws.lookup_run(runs, 4.6)
        best = min(runs, key=lambda r: r.train_loss[-1])
        assert 0.05 <= best.lr <= 0.5, seed
        assert all((max(r.train_loss) > r.train_loss[0]) == (r.lr > 0.4) for r in runs), seed
        assert min(large.train_loss[1:]) > large.train_loss[0], seed
        assert float(np.mean(large.train_loss[-20:])) > 3 * right.train_loss[-1], seed
        assert jumpiness(large) > 1.2 * jumpiness(right), seed
        assert all(math.isfinite(v) for r in runs for v in r.train_loss), seed


def test_too_large_a_rate_is_mostly_over_confident_on_every_draw():
    """Lesson 02's 'loss and accuracy disagree': on 8 draws of the images, eta = 1 is ahead in accuracy on at
    most 3, and one temperature chosen on the training images closes most of its test-loss gap (74-86 % here)
    without changing a prediction."""
    from ftlib.softmax import best_temperature, fashion_rows, train_softmax_regression
    from ftlib.widgets import softmax as ws
    right_lr = min(ws.LR_GRID, key=lambda v: abs(math.log10(v) - math.log10(0.2)))  # the lesson's 0.215
    one_lr = 1.0
    ahead = 0
    for seed in range(8):
        x, y, xt, yt = fashion_rows(1000, 1000, seed)
        right, one = train_softmax_regression(x, y, [right_lr, one_lr], 60, x_test=xt, y_test=yt)
        ahead += one.test_acc[-1] > right.test_acc[-1]
        T = best_temperature(one.logits(x), y)
        z = one.logits(xt)
        assert torch.equal((z / T).argmax(1), z.argmax(1))
        raw, at_T = F.cross_entropy(z, yt).item(), F.cross_entropy(z / T, yt).item()
        closed = (raw - at_T) / (raw - F.cross_entropy(right.logits(xt), yt).item())
        assert T > 2 and 0.6 < closed < 1, (seed, T, closed)
        assert one.weights.norm() > 2 * right.weights.norm()
    assert ahead <= 3


def test_a_run_without_weights_says_so():
    from ftlib.softmax import SoftmaxRun
    with pytest.raises(ValueError, match="kept no weights"):
        SoftmaxRun(0.1).logits(torch.zeros(2, 3))
