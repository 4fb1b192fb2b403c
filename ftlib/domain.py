"""Domain shift and what to do about it (lesson 08).

- Deterministic shifted versions of the images: :func:`invert_noise` (contrast inversion
  plus Gaussian noise) and :func:`rotate90`, both uint8 → uint8.
- :func:`adabn`: re-estimate every BatchNorm's running mean and variance on target
  images, changing no weight (Li et al. 2016).
- :class:`GradientReversal` / :func:`grad_reverse`: identity forward, gradient times −α
  backward; :func:`dann` trains a domain-adversarial network with it (Ganin et al. 2016).
- :func:`domain_features` and :func:`domain_separability`: is the domain still visible in the
  features after training? A fresh classifier on held-out features answers it.
- :func:`pseudo_labels` and :func:`self_train`: semi-supervised pseudo-labelling (Lee 2013).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ftlib.augment import Augment
from ftlib import guards
from ftlib.probing import train_full_batch
from ftlib.training import as_float_input, fit, predict

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


# --- shifts -------------------------------------------------------------------------------
def _check_images(x: torch.Tensor) -> None:
    if x.dtype != torch.uint8 or x.ndim != 3:
        raise TypeError(f"expected uint8 images of shape (N, H, W), got {x.dtype} {tuple(x.shape)}")


def invert_noise(x: torch.Tensor, noise_std: float = 60.0, seed: int = 0, invert: bool = True) -> torch.Tensor:
    """Contrast inversion (255 − x) plus Gaussian pixel noise of ``noise_std`` grey levels.

    Deterministic: the same images and seed always give the same result.
    """
    _check_images(x)
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    out = (255.0 - x.float()) if invert else x.float()
    if noise_std > 0:
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
        out = out + noise_std * noise
    return out.round().clamp(0, 255).to(torch.uint8)


def rotate90(x: torch.Tensor, times: int = 1) -> torch.Tensor:
    """Every image rotated by ``times`` × 90° counter-clockwise."""
    _check_images(x)
    return torch.rot90(x, times, dims=(1, 2)).contiguous()


SHIFTS = {"invert+noise": invert_noise, "rotate90": rotate90}


def shift(x: torch.Tensor, name: str, seed: int = 0) -> torch.Tensor:
    """Apply a named shift from :data:`SHIFTS` (noise is seeded by ``seed``)."""
    if name not in SHIFTS:
        raise KeyError(f"unknown shift {name!r}; choose one of {sorted(SHIFTS)}")
    return invert_noise(x, seed=seed) if name == "invert+noise" else rotate90(x)


# --- AdaBN ----------------------------------------------------------------------------------
@torch.no_grad()
def adabn(model: nn.Module, x_target: torch.Tensor, batch_size: int = 500) -> nn.Module:
    """Re-estimate BatchNorm statistics on target inputs (no labels, no weight changes).

    Every BatchNorm layer's running mean/variance is reset and recomputed as the plain
    average of the batch statistics over ``x_target`` in batches of ``batch_size``
    (momentum ``None``; one batch gives the exact statistics); returns the model in eval mode.
    """
    bns = [m for m in model.modules() if isinstance(m, _BN)]
    if not bns:
        raise ValueError("the model has no BatchNorm layers: AdaBN has nothing to re-estimate")
    if len(x_target) == 0:
        raise ValueError("x_target is empty: AdaBN needs unlabelled target images")
    inputs = as_float_input(x_target)
    device = next(model.parameters()).device
    saved = [(m, m.momentum) for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = exact mean over batches
        m.train()
    try:
        for start in range(0, len(inputs), batch_size):
            model(inputs[start:start + batch_size].to(device))
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.eval()
    return model


# --- gradient reversal and DANN -------------------------------------------------------------
class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.alpha * grad, None


def grad_reverse(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``−alpha`` in the backward pass."""
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0 (the reversal supplies the minus sign), got {alpha}")
    return _GradReverse.apply(x, float(alpha))


class GradientReversal(nn.Module):
    """The gradient-reversal layer of Ganin et al. (2016) as a module; ``alpha`` may be changed."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.alpha)


def domain_classifier(in_features: int = 128, hidden: int = 64) -> nn.Sequential:
    """A small MLP that guesses 'source (0) or target (1)' from features."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def dann(model: nn.Module, x_source: torch.Tensor, y_source: torch.Tensor, x_target: torch.Tensor, *,
         steps: int = 200, lr: float = 1e-3, batch_size: int = 64, lam: float = 0.3,
         seed: int = 0, augment: Augment | None = None) -> dict:
    """Domain-adversarial training (Ganin et al. 2016) of a model with ``features`` and ``head``.

    Each step: a labelled source batch (cross-entropy through the head) and an unlabelled
    target batch; a domain classifier sees both batches' features through a
    :class:`GradientReversal` layer, so the backbone learns features the classifier cannot
    tell apart.  The reversal strength ramps up as ``lam·(2/(1+e^{−10p}) − 1)``.  Source and
    target batches go through BatchNorm separately, and at the end :func:`adabn` sets the
    statistics on the target images.  Returns the losses per step.
    """
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    if not hasattr(model, "features") or not hasattr(model, "head"):
        raise TypeError("dann needs a model with .features(x) and .head (like ftlib.NetB)")
    y_source = guards.as_labels(y_source, model.head.out_features, n=len(x_source))
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    disc = domain_classifier(model.head.in_features)
    reverse = GradientReversal(0.0)
    params = [p for p in model.parameters() if p.requires_grad] + list(disc.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    xs, xt = as_float_input(guards.check_inputs(x_source)), as_float_input(guards.check_inputs(x_target))
    log = {"task_loss": [], "domain_loss": [], "domain_acc": []}
    divergence = guards.DivergenceGuard(lambda: f"{lr:.3g}")
    guards.training_mode(model)
    for step in range(steps):
        reverse.alpha = lam * (2.0 / (1.0 + torch.exp(torch.tensor(-10.0 * step / max(1, steps))).item()) - 1.0)
        i = torch.randint(len(xs), (batch_size,), generator=g)
        j = torch.randint(len(xt), (batch_size,), generator=g)
        bs, bt = xs[i], xt[j]
        if augment is not None:
            bs, bt = augment(bs, g), augment(bt, g)
        fs, ft = model.features(bs), model.features(bt)
        task = F.cross_entropy(model.head(fs), y_source[i])
        dom_logits = disc(reverse(torch.cat([fs, ft])))
        dom_y = torch.cat([torch.zeros(batch_size), torch.ones(batch_size)]).long()
        domain = F.cross_entropy(dom_logits, dom_y)
        divergence.check(step, (task + domain).detach())  # DANN's two losses, one shared guard
        guards.update(opt, task + domain)
        log["task_loss"].append(task.item())
        log["domain_loss"].append(domain.item())
        log["domain_acc"].append((dom_logits.argmax(1) == dom_y).float().mean().item())
    adabn(model, x_target)
    return log


# --- measuring invariance ----------------------------------------------------------------------
@torch.no_grad()
def domain_features(model: nn.Module, x: torch.Tensor, statistics: torch.Tensor | None = None,
                    batch_size: int = 500) -> torch.Tensor:
    """The pooled features the head sees, in eval mode (lesson 08, section 5).

    With ``statistics`` (unlabelled images of the same domain as ``x``), a copy of the model
    first re-estimates its BatchNorm statistics on them (:func:`adabn`), so each domain is
    normalised by its own statistics, as in DANN's training and in AdaBN.  ``model`` is never
    changed.
    """
    if not hasattr(model, "features"):
        raise TypeError("domain_features needs a model with .features(x) (like ftlib.NetB)")
    net = adabn(copy.deepcopy(model), statistics) if statistics is not None else model
    was_training = net.training
    net.eval()
    inputs = as_float_input(guards.check_inputs(x))
    out = torch.cat([net.features(inputs[i:i + batch_size]) for i in range(0, len(inputs), batch_size)])
    net.train(was_training)
    return out


def domain_separability(features_a: torch.Tensor, features_b: torch.Tensor, *, steps: int = 200,
                        lr: float = 1e-3, seed: int = 0) -> float:
    """Held-out accuracy of a *fresh* domain classifier telling ``features_a`` from ``features_b``.

    Measures invariance after training (lesson 08, section 5): each domain's features are
    split in half by a seeded permutation; a new :func:`domain_classifier` MLP (features
    standardised with the training half's mean and std, full-batch Adam, ``steps`` steps)
    learns 'a or b' on one half and is scored on the other.  0.5 means the two domains'
    features cannot be told apart; 1.0 means they are perfectly separable.
    """
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"need two (N, D) feature tensors with the same D, got {tuple(features_a.shape)} "
                         f"and {tuple(features_b.shape)}")
    if min(len(features_a), len(features_b)) < 4:
        raise ValueError("need at least 4 feature vectors per domain (half to train, half to score)")
    g = torch.Generator().manual_seed(seed)
    halves = []
    for f in (features_a, features_b):
        order = torch.randperm(len(f), generator=g)
        halves.append((f[order[: len(f) // 2]], f[order[len(f) // 2:]]))
    x_fit = torch.cat([halves[0][0], halves[1][0]])
    y_fit = torch.cat([torch.zeros(len(halves[0][0])), torch.ones(len(halves[1][0]))]).long()
    x_out = torch.cat([halves[0][1], halves[1][1]])
    y_out = torch.cat([torch.zeros(len(halves[0][1])), torch.ones(len(halves[1][1]))]).long()
    mean, std = x_fit.mean(0), x_fit.std(0).clamp_min(1e-6)
    x_fit, x_out = (x_fit - mean) / std, (x_out - mean) / std
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    disc = domain_classifier(features_a.shape[1])
    torch.random.set_rng_state(state)  # leave the learner's global generator where it was
    train_full_batch(disc, x_fit, y_fit, steps=steps, lr=lr)
    with torch.no_grad():
        correct = (disc(x_out).argmax(1) == y_out).float()
    return 0.5 * (correct[y_out == 0].mean().item() + correct[y_out == 1].mean().item())


# --- pseudo-labels ----------------------------------------------------------------------------
def pseudo_labels(model: nn.Module, x: torch.Tensor, threshold: float = 0.9) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The model's confident predictions on unlabelled ``x``: (indices, labels, confidences).

    Only examples whose top softmax probability is at least ``threshold`` are kept.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold}")
    probs = predict(model, x).softmax(1)
    conf, labels = probs.max(1)
    keep = torch.nonzero(conf >= threshold).flatten()
    return keep, labels[keep], conf[keep]


def self_train(model: nn.Module, x_labelled: torch.Tensor, y_labelled: torch.Tensor,
               x_unlabelled: torch.Tensor, *, threshold: float = 0.9, steps: int = 100, lr: float = 1e-3,
               seed: int = 0, augment: Augment | None = None, max_pseudo: int = 2000,
               batch_size: int = 128) -> dict:
    """One round of pseudo-labelling: label confident unlabelled images, train on both.

    ``model`` should already be trained on the labelled images.  At most ``max_pseudo``
    pseudo-labelled images (the most confident) are added; training uses minibatches of
    ``batch_size``.  Returns how many pseudo-labels were used, their indices in ``x_unlabelled`` and
    the labels given to them.
    """
    idx, labels, conf = pseudo_labels(model, x_unlabelled, threshold)
    order = conf.argsort(descending=True)[:max_pseudo]
    idx, labels = idx[order], labels[order]
    x = torch.cat([x_labelled, x_unlabelled[idx]])
    y = torch.cat([y_labelled, labels])
    fit(model, x, y, steps=steps, lr=lr, batch_size=batch_size, seed=seed, augment=augment, progress=False)
    return {"pseudo_labels": len(idx), "indices": idx, "labels": labels}


def ensemble_predict(models: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Average the softmax probabilities of several models (combining two sources)."""
    if not models:
        raise ValueError("need at least one model")
    return torch.stack([predict(m, x).softmax(1) for m in models]).mean(0)


def copy_model(model: nn.Module) -> nn.Module:
    """A deep copy (to try several adaptations from the same starting point)."""
    return copy.deepcopy(model)
