"""Softmax, cross-entropy and softmax regression from scratch (lesson 02).

The functions work on a batch of logits of shape (N, K) (a single example may be (K,)) and
integer labels of shape (N,).  The loss is the mean over the batch, as in
``torch.nn.functional.cross_entropy``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

Tensor = torch.Tensor


def naive_softmax(z: Tensor) -> Tensor:
    """exp(z) / Σ exp(z), straight from the formula: overflows for logits above about 88 (float32)."""
    e = torch.exp(z)
    return e / e.sum(-1, keepdim=True)


def logsumexp(z: Tensor) -> Tensor:
    """log Σ exp(z) computed as m + log Σ exp(z − m) with m = max(z): never overflows."""
    m = z.max(-1, keepdim=True).values
    return (m + torch.log(torch.exp(z - m).sum(-1, keepdim=True))).squeeze(-1)


def log_softmax(z: Tensor) -> Tensor:
    """log p = z − logsumexp(z), the stable way."""
    return z - logsumexp(z).unsqueeze(-1)


def softmax(z: Tensor) -> Tensor:
    """Stable softmax: subtracting the max changes nothing mathematically but avoids overflow."""
    e = torch.exp(z - z.max(-1, keepdim=True).values)
    return e / e.sum(-1, keepdim=True)


def one_hot(y: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Labels (N,) -> one-hot rows (N, K)."""
    return torch.nn.functional.one_hot(y, num_classes).to(dtype)


def smooth_targets(y: Tensor, num_classes: int, smoothing: float = 0.0,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """Target distributions (1 − ε)·onehot + ε/K (PyTorch's definition of label smoothing)."""
    return (1.0 - smoothing) * one_hot(y, num_classes, dtype) + smoothing / num_classes


def cross_entropy(z: Tensor, y: Tensor, smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy −Σ_k q_k log p_k over the batch; with no smoothing this is −log p_y."""
    if z.ndim == 1:
        z, y = z.unsqueeze(0), torch.as_tensor(y).reshape(1)
    logp = log_softmax(z)
    q = smooth_targets(y, z.shape[-1], smoothing, z.dtype)
    return -(q * logp).sum(-1).mean()


def naive_cross_entropy(z: Tensor, y: Tensor) -> Tensor:
    """−log(naive_softmax(z)[y]): NaN or inf once the logits are large."""
    if z.ndim == 1:
        z, y = z.unsqueeze(0), torch.as_tensor(y).reshape(1)
    p = naive_softmax(z)
    return -torch.log(p[torch.arange(len(y)), y]).mean()


def grad_logits(z: Tensor, y: Tensor, smoothing: float = 0.0) -> Tensor:
    """∂(mean cross-entropy)/∂z = (p − q) / N — the famous p − y, divided by the batch size."""
    if z.ndim == 1:
        return softmax(z) - smooth_targets(torch.as_tensor(y).reshape(1), z.shape[-1], smoothing, z.dtype)[0]
    return (softmax(z) - smooth_targets(y, z.shape[-1], smoothing, z.dtype)) / len(z)


def grad_weights(x: Tensor, z: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """For z = x Wᵀ + b: ∂L/∂W = Σ_n (p − y)_n x_nᵀ / N (shape (K, D)) and ∂L/∂b = Σ_n (p − y)_n / N."""
    g = grad_logits(z, y)
    return g.T @ x, g.sum(0)


# --- softmax regression trained from scratch with full-batch gradient descent -------------

@dataclass
class SoftmaxRun:
    """Loss and accuracy curves of one softmax-regression run."""

    lr: float
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    weights: Tensor | None = None  # the final (D + 1, K) weights, bias last

    def logits(self, x: Tensor) -> Tensor:
        """The trained model's logits for float rows ``x`` (N, D)."""
        if self.weights is None:
            raise ValueError("this run kept no weights: train it with train_softmax_regression")
        return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1) @ self.weights.to(x.dtype)


def best_temperature(logits: Tensor, y: Tensor, temperatures: Tensor | None = None) -> float:
    """The T (on a log grid from 0.1 to 1000) that minimises the cross-entropy of ``logits / T`` (lesson 02).

    Dividing every logit by one T > 0 changes no prediction, only the confidence: it separates what a
    loss pays for ranking the classes from what it pays for confidence.
    """
    temps = torch.logspace(-1, 3, 161, dtype=logits.dtype) if temperatures is None else temperatures
    losses = torch.stack([-log_softmax(logits / t)[torch.arange(len(y)), y].mean() for t in temps])
    return float(temps[losses.argmin()])


def flatten_images(images: Tensor) -> Tensor:
    """uint8 images (N, 28, 28) -> float rows (N, 784) with pixels scaled to [0, 1]."""
    return images.reshape(len(images), -1).float() / 255.0


def train_softmax_regression(x: Tensor, y: Tensor, lrs: list[float] | Tensor, steps: int = 60,
                             num_classes: int = 10, x_test: Tensor | None = None,
                             y_test: Tensor | None = None, threads: int | None = 1) -> list[SoftmaxRun]:
    """Full-batch gradient descent W ← W − lr·(p − Y)ᵀX/N from W = 0, for several learning rates at once.

    All runs are trained together as one batched computation (one weight matrix per learning
    rate), so a whole grid of learning rates costs little more than one run.  ``x`` are float
    rows (N, D).  Returns one :class:`SoftmaxRun` per learning rate, with the loss and accuracy
    *before* each step (so index 0 is the untrained model).

    ``threads`` caps PyTorch's CPU threads while training (restored afterwards): these small
    matrix products gain little from a second thread, and on a busy machine an oversubscribed
    thread pool is many times slower.  ``None`` leaves the setting alone.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train_batched(x, y, lrs, steps, num_classes, x_test, y_test)
    finally:
        torch.set_num_threads(previous)


def _train_batched(x: Tensor, y: Tensor, lrs: list[float] | Tensor, steps: int, num_classes: int,
                   x_test: Tensor | None, y_test: Tensor | None) -> list[SoftmaxRun]:
    lr = torch.as_tensor(lrs, dtype=x.dtype).reshape(-1, 1, 1)
    R, (N, D) = len(lr), x.shape
    W = torch.zeros(R, D + 1, num_classes, dtype=x.dtype)             # last row is the bias
    xb = torch.cat([x, torch.ones(N, 1, dtype=x.dtype)], 1)
    Y = one_hot(y, num_classes, x.dtype)
    xt = None if x_test is None else torch.cat([x_test, torch.ones(len(x_test), 1, dtype=x.dtype)], 1)
    runs = [SoftmaxRun(float(v)) for v in (lrs.tolist() if isinstance(lrs, Tensor) else lrs)]
    rows = torch.arange(N)
    for step in range(steps + 1):
        z = torch.einsum("nd,rdk->rnk", xb, W)                        # (R, N, K)
        logp = log_softmax(z)
        loss = -logp[:, rows, y].mean(1)
        acc = (z.argmax(-1) == y).float().mean(1)
        test_acc = None if xt is None else \
            (torch.einsum("nd,rdk->rnk", xt, W).argmax(-1) == y_test).float().mean(1)
        for r, run in enumerate(runs):
            run.train_loss.append(float(loss[r]))
            run.train_acc.append(float(acc[r]))
            if test_acc is not None:
                run.test_acc.append(float(test_acc[r]))
        if step == steps:
            for r, run in enumerate(runs):
                run.weights = W[r].clone()
            break
        grad = torch.einsum("nd,rnk->rdk", xb, (logp.exp() - Y) / N)   # Xᵀ (p − Y) / N
        W = W - lr * grad
    return runs


def fashion_rows(n_train: int = 1000, n_test: int = 1000, seed: int = 0
                 ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A random subset of the shipped Fashion-MNIST as float rows: (x_train, y_train, x_test, y_test)."""
    from ftlib.data import load_fashion_mnist

    g = torch.Generator().manual_seed(seed)
    x, y = load_fashion_mnist("train")
    idx = torch.randperm(len(x), generator=g)[:n_train]
    xt, yt = load_fashion_mnist("test")
    tidx = torch.randperm(len(xt), generator=g)[:n_test]
    return flatten_images(x[idx]), y[idx], flatten_images(xt[tidx]), yt[tidx]


def lr_grid(lo_exp: float = -3.0, hi_exp: float = 1.0, step: float = 0.25) -> list[float]:
    """Learning rates 10**lo_exp … 10**hi_exp, evenly spaced in log10 (the widget's slider positions)."""
    n = int(round((hi_exp - lo_exp) / step)) + 1
    return [float(10 ** (lo_exp + i * step)) for i in range(n)]
