"""ftlib.descent: the update rule, the 2/L threshold, hand gradients vs autograd, SGD noise, momentum."""
from __future__ import annotations

import pytest
import torch

from ftlib.descent import (Quadratic, autograd_grad, diverged, gradient_descent, gradient_noise,
                           losses_along, make_regression, mse_curvature, mse_grad, mse_loss, sgd,
                           stable_lr_threshold, steps_to_reach)


def test_one_step_is_theta_minus_lr_grad():
    q = Quadratic.bowl((2.0, 8.0))
    theta0 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    path = gradient_descent(q.grad, theta0, lr=0.1, steps=1)
    assert torch.allclose(path[1], theta0 - 0.1 * q.grad(theta0))
    assert path.shape == (2, 2)


def test_quadratic_loss_works_on_points_and_paths():
    q = Quadratic.bowl((1.0, 10.0), minimum=(1.0, -1.0))
    assert float(q.loss(torch.tensor([1.0, -1.0], dtype=torch.float64))) == 0.0
    path = torch.randn(5, 2, dtype=torch.float64)
    assert torch.allclose(q.loss(path), losses_along(q.loss, path))
    assert q.L == 10.0 and q.mu == 1.0


@pytest.mark.parametrize("L", [0.5, 4.0, 10.0])
def test_threshold_two_over_L_separates_convergence_from_divergence(L):
    q = Quadratic.bowl((L,))
    lr_star = stable_lr_threshold(L)
    below = gradient_descent(q.grad, torch.tensor([1.0]), 0.99 * lr_star, 2000)
    above = gradient_descent(q.grad, torch.tensor([1.0]), 1.01 * lr_star, 2000)
    assert abs(float(below[-1, 0])) < 1e-3 and not diverged(below)
    assert diverged(above)


def test_divergent_path_stays_finite_for_plots():
    q = Quadratic.bowl((1.0, 10.0))
    path = gradient_descent(q.grad, torch.tensor([1.0, 1.0]), 1.0, 200)
    assert path.shape == (201, 2) and torch.isfinite(path).all() and diverged(path)


def test_hand_gradients_agree_with_autograd():
    q = Quadratic(torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64),
                  torch.tensor([0.5, -1.0], dtype=torch.float64))
    theta = torch.tensor([2.0, 3.0], dtype=torch.float64)
    assert torch.allclose(q.grad(theta), autograd_grad(q.loss, theta))
    X, y, _ = make_regression(50, 3)
    w = torch.randn(3, dtype=torch.float64)
    assert torch.allclose(mse_grad(X, y, w), autograd_grad(lambda v: mse_loss(X, y, v), w))


def test_gd_on_linear_regression_reaches_least_squares_and_respects_threshold():
    X, y, _ = make_regression(200, 2, scales=(1.0, 3.0))
    w_ls = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
    lr_star = stable_lr_threshold(mse_curvature(X))
    path = gradient_descent(lambda w: mse_grad(X, y, w), torch.zeros(2), 0.9 * lr_star, 500)
    assert torch.allclose(path[-1], w_ls, atol=1e-6)
    assert diverged(gradient_descent(lambda w: mse_grad(X, y, w), torch.zeros(2), 1.05 * lr_star, 500))


def test_gradient_noise_falls_like_one_over_batch_size():
    X, y, _ = make_regression(500, 2)
    w = torch.zeros(2, dtype=torch.float64)
    n4, n16, n64 = (gradient_noise(X, y, w, b, samples=4000) for b in (4, 16, 64))
    assert 3.0 < n4 / n16 < 5.3 and 3.0 < n16 / n64 < 5.3


def test_sgd_is_noisier_with_small_batches():
    X, y, _ = make_regression(500, 2)
    w_ls = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
    spread = {}
    for b in (2, 64):
        path = sgd(X, y, torch.zeros(2), lr=0.05, steps=400, batch_size=b)
        spread[b] = float((path[200:] - w_ls).norm(dim=1).mean())
    assert spread[2] > 2 * spread[64]


def test_momentum_speeds_up_the_elongated_bowl():
    q = Quadratic.bowl((1.0, 10.0))
    theta0 = torch.tensor([-4.0, 1.5])
    J0 = float(q.loss(theta0.double()))
    steps = {b: steps_to_reach(q.loss(gradient_descent(q.grad, theta0, 0.02, 400, momentum=b)), 1e-4 * J0)
             for b in (0.0, 0.8)}
    assert steps[0.8] is not None and steps[0.0] is not None and steps[0.8] < steps[0.0] / 3
    assert steps_to_reach(torch.tensor([5.0, 3.0, 1.0]), 2.0) == 2
    assert steps_to_reach(torch.tensor([5.0, 3.0]), 1.0) is None


def test_adam_written_out_is_torch_adam_and_adamw():
    """Lesson 01's Adam: the same path as torch.optim.Adam (L2 in the gradient) and AdamW (decoupled decay)."""
    from ftlib.descent import Quadratic, adam
    bowl = Quadratic.bowl((1.0, 10.0), minimum=(2.0, -1.0))
    start = torch.tensor([-4.0, 1.5], dtype=torch.float64)
    for optimizer, decoupled in [(torch.optim.Adam, False), (torch.optim.AdamW, True)]:
        p = start.clone().requires_grad_(True)
        opt = optimizer([p], lr=0.1, weight_decay=0.3)
        for _ in range(40):
            opt.zero_grad()
            bowl.loss(p).backward()
            opt.step()
        ours = adam(bowl.grad, start, 0.1, 40, weight_decay=0.3, decoupled=decoupled)
        assert torch.allclose(ours[-1], p.detach(), atol=1e-12), optimizer.__name__
    first = adam(bowl.grad, start, 0.1, 1)
    assert torch.allclose((first[1] - first[0]).abs(), torch.full((2,), 0.1, dtype=torch.float64)), "the first step is lr in every coordinate"
