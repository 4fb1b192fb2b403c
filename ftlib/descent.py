"""Gradient descent from scratch: quadratic losses, the 2/L threshold, minibatch SGD, momentum (lesson 01).

Everything is a few lines of plain PyTorch in float64, so the numbers the lesson prints are exact
enough to compare with theory.  The update rule itself is one line::

    theta = theta - lr * grad(theta)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Tensor = torch.Tensor
GradFn = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Quadratic:
    """The bowl J(θ) = ½ (θ − θ*)ᵀ A (θ − θ*) with a symmetric positive-definite A.

    Its gradient is A (θ − θ*), its curvature along each eigenvector of A is the eigenvalue,
    and gradient descent on it is stable exactly when the learning rate is below 2 / λ_max(A).
    """

    A: Tensor
    minimum: Tensor

    @classmethod
    def bowl(cls, curvatures: tuple[float, ...] = (1.0, 10.0),
             minimum: tuple[float, ...] | None = None) -> "Quadratic":
        """An axis-aligned bowl with the given curvatures (elongated when they differ)."""
        A = torch.diag(torch.tensor(curvatures, dtype=torch.float64))
        m = torch.zeros(len(curvatures), dtype=torch.float64) if minimum is None else \
            torch.tensor(minimum, dtype=torch.float64)
        return cls(A, m)

    def loss(self, theta: Tensor) -> Tensor:
        """J(θ); θ may also be a batch of points (…, dim), e.g. a whole path."""
        d = theta - self.minimum
        return 0.5 * ((d @ self.A) * d).sum(-1)

    def grad(self, theta: Tensor) -> Tensor:
        """The hand-derived gradient A (θ − θ*)."""
        return self.A @ (theta - self.minimum)

    @property
    def L(self) -> float:
        """The largest curvature λ_max(A) (the gradient's Lipschitz constant)."""
        return float(torch.linalg.eigvalsh(self.A).max())

    @property
    def mu(self) -> float:
        """The smallest curvature λ_min(A)."""
        return float(torch.linalg.eigvalsh(self.A).min())

    def loss_grid(self, xs: Tensor, ys: Tensor) -> Tensor:
        """J on a 2-D grid (for contour plots): returns shape (len(ys), len(xs))."""
        X, Y = torch.meshgrid(xs.double(), ys.double(), indexing="xy")
        pts = torch.stack([X, Y], -1) - self.minimum
        return 0.5 * torch.einsum("...i,ij,...j->...", pts, self.A, pts)


def stable_lr_threshold(L: float) -> float:
    """Gradient descent on a quadratic with curvature L converges iff 0 < lr < 2 / L."""
    return 2.0 / L


def gradient_descent(grad: GradFn, theta0: Tensor, lr: float, steps: int, *,
                     momentum: float = 0.0, blowup: float = 1e8) -> Tensor:
    """Run ``steps`` updates θ ← θ − lr·v, v ← β·v + ∇J(θ) (β = ``momentum``; β = 0 is plain GD).

    Returns the path, shape (steps + 1, dim), starting with ``theta0``.  A diverging run stops
    once |θ| exceeds ``blowup`` and the rest of the path repeats that last point (so plots stay
    finite); :func:`diverged` tells whether that happened.
    """
    theta = torch.as_tensor(theta0, dtype=torch.float64).clone()
    v = torch.zeros_like(theta)
    path = [theta]
    for _ in range(steps):
        v = momentum * v + grad(theta) if momentum else grad(theta)
        theta = theta - lr * v
        path.append(theta)
        if not bool(theta.abs().max() <= blowup):  # also catches NaN
            path.extend([theta] * (steps + 1 - len(path)))
            break
    return torch.stack(path)


def adam(grad: GradFn, theta0: Tensor, lr: float, steps: int, *, betas: tuple[float, float] = (0.9, 0.999),
         eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False) -> Tensor:
    """Adam (Kingma & Ba 2015) written out, as lesson 01 explains it; returns the path like :func:`gradient_descent`.

    m ← β₁m + (1−β₁)g and v ← β₂v + (1−β₂)g² (per parameter), bias-corrected m̂ = m/(1−β₁ᵗ),
    v̂ = v/(1−β₂ᵗ), then θ ← θ − lr·m̂/(√v̂ + ε).  ``weight_decay`` λ either joins the gradient as an L2
    penalty's λθ (``decoupled=False``: ``torch.optim.Adam``) or shrinks θ by lr·λ·θ outside the scaling
    (``decoupled=True``: ``torch.optim.AdamW``, Loshchilov & Hutter 2019).
    """
    b1, b2 = betas
    theta = torch.as_tensor(theta0, dtype=torch.float64).clone()
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    path = [theta]
    for t in range(1, steps + 1):
        g = grad(theta)
        if weight_decay and not decoupled:
            g = g + weight_decay * theta
        if weight_decay and decoupled:
            theta = theta * (1 - lr * weight_decay)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (v_hat.sqrt() + eps)
        path.append(theta)
    return torch.stack(path)


def diverged(path: Tensor, factor: float = 1e3) -> bool:
    """True when the path ends much farther out than it started (or non-finite)."""
    start, end = path[0].norm(), path[-1].norm()
    return bool(not torch.isfinite(end) or end > factor * max(float(start), 1e-12))


def losses_along(loss: Callable[[Tensor], Tensor], path: Tensor) -> Tensor:
    """J at every point of a path (``Quadratic.loss`` also takes the whole path at once)."""
    return torch.stack([loss(p) for p in path])


def steps_to_reach(losses: Tensor, target: float) -> int | None:
    """The first step whose loss is at most ``target`` (None if never)."""
    hits = torch.nonzero(losses <= target).flatten()
    return int(hits[0]) if len(hits) else None


# --- linear regression: J(w) = (1/n) ‖X w − y‖² -------------------------------------------

def make_regression(n: int = 200, dim: int = 2, noise: float = 0.3, seed: int = 0,
                    scales: tuple[float, ...] | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Synthetic data y = X w_true + noise; returns (X, y, w_true) in float64.

    ``scales`` multiplies the feature columns (unequal scales make the loss an elongated bowl).
    """
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, dim, generator=g, dtype=torch.float64)
    if scales is not None:
        X = X * torch.tensor(scales, dtype=torch.float64)
    w_true = torch.randn(dim, generator=g, dtype=torch.float64)
    y = X @ w_true + noise * torch.randn(n, generator=g, dtype=torch.float64)
    return X, y, w_true


def mse_loss(X: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """Mean squared error (1/n) ‖X w − y‖²."""
    r = X @ w - y
    return (r * r).mean()


def mse_grad(X: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """The hand-derived gradient (2/n) Xᵀ (X w − y)."""
    return 2.0 / len(X) * X.T @ (X @ w - y)


def mse_curvature(X: Tensor) -> float:
    """L for the MSE loss: the largest eigenvalue of its Hessian (2/n) XᵀX."""
    return float(torch.linalg.eigvalsh(2.0 / len(X) * X.T @ X).max())


def autograd_grad(loss: Callable[[Tensor], Tensor], theta: Tensor) -> Tensor:
    """The gradient of ``loss`` at ``theta`` computed by PyTorch's autograd (to check hand gradients)."""
    t = theta.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(t), t)
    return g


# --- minibatch SGD ----------------------------------------------------------------------------

def minibatch_grad(X: Tensor, y: Tensor, w: Tensor, idx: Tensor) -> Tensor:
    """The MSE gradient estimated on the rows ``idx`` only."""
    return mse_grad(X[idx], y[idx], w)


def gradient_noise(X: Tensor, y: Tensor, w: Tensor, batch_size: int, samples: int = 2000,
                   seed: int = 0) -> float:
    """Mean squared error of the minibatch gradient around the full gradient, E‖g_B − ∇J‖².

    Batches are drawn with replacement, so the noise falls exactly like 1 / batch_size.
    """
    g = torch.Generator().manual_seed(seed)
    full = mse_grad(X, y, w)
    idx = torch.randint(len(X), (samples, batch_size), generator=g)
    Xb, yb = X[idx], y[idx]                                   # (samples, B, dim), (samples, B)
    r = torch.einsum("sbd,d->sb", Xb, w) - yb
    grads = 2.0 / batch_size * torch.einsum("sbd,sb->sd", Xb, r)
    return float(((grads - full) ** 2).sum(1).mean())


def sgd(X: Tensor, y: Tensor, w0: Tensor, lr: float, steps: int, batch_size: int,
        seed: int = 0) -> Tensor:
    """Minibatch SGD on the MSE loss (batches drawn with replacement); returns the path of w."""
    g = torch.Generator().manual_seed(seed)
    w = torch.as_tensor(w0, dtype=torch.float64).clone()
    path = [w.clone()]
    for _ in range(steps):
        idx = torch.randint(len(X), (batch_size,), generator=g)
        w = w - lr * minibatch_grad(X, y, w, idx)
        path.append(w.clone())
    return torch.stack(path)
