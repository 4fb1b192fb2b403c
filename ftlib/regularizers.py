"""Penalties that keep fine-tuning close to where it started (lessons 06 and 07).

Every function returns a *regularizer*: a callable ``R(model) -> scalar tensor`` that
:func:`ftlib.training.fit` adds to the loss (``fit(..., regularizer=R)``), so the
objective is ``L = L_task + R(θ)``:

- :func:`l2_penalty`    ``λ·Σ‖θ‖²`` added to the loss — pulls every weight towards **zero**.  Under
  Adam this is *coupled* L2 (the penalty's gradient is rescaled with the task gradient); it is not
  AdamW's decoupled weight decay, for which :func:`decoupled_decay_groups` builds the optimizer
  groups (Loshchilov & Hutter 2019; lesson 06 measures both).  ``weight_decay`` is its old name.
- :func:`l2_sp`         ``λ·Σ‖θ − θ₀‖²`` on the pretrained part, ``β·‖θ_head‖²`` on the new
  head — pulls towards the **starting point** (Li, Grandvalet & Davoine 2018).
- :func:`ewc`           ``(λ/2)·Σ Fᵢ(θᵢ − θ*ᵢ)²`` with a diagonal Fisher ``F`` estimated on the
  *source* task — pulls hardest on the weights the source task needs (Kirkpatrick et al. 2017).

Bad input is an error with a message: a negative λ, or a reference whose parameters do
not match the model's names and shapes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

Regularizer = Callable[[nn.Module], torch.Tensor]
HEAD_PREFIX = "head."


def _check_lambda(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0 or value == float("inf"):  # also rejects NaN
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}: a negative penalty would "
                         "reward moving away instead of staying close")
    return value


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every parameter, by name: the θ₀ that L2-SP and EWC pull towards."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _reference_params(reference: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if isinstance(reference, nn.Module):
        return snapshot(reference)
    if isinstance(reference, Mapping):
        return {k: v.detach().clone() for k, v in reference.items()}
    raise TypeError(f"reference must be a model or a dict name -> tensor, got {type(reference).__name__}")


def match_reference(model: nn.Module, reference: Mapping[str, torch.Tensor],
                    names: Iterable[str]) -> None:
    """Raise a clear error unless every name exists in both with the same shape."""
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in reference]
    if missing:
        raise ValueError(f"the reference has no parameter(s) {missing[:4]}{'…' if len(missing) > 4 else ''}: "
                         "it is not a copy of this model's backbone (take it with "
                         "ftlib.regularizers.snapshot(model) before fine-tuning)")
    unknown = [n for n in names if n not in params]
    if unknown:
        raise ValueError(f"the model has no parameter(s) {unknown[:4]} that the reference holds")
    bad = [(n, tuple(params[n].shape), tuple(reference[n].shape)) for n in names
           if params[n].shape != reference[n].shape]
    if bad:
        n, got, want = bad[0]
        raise ValueError(f"parameter {n!r} has shape {got} in the model but {want} in the reference: "
                         "the reference is a different architecture")


def _prefixes(exclude: Iterable[str] | str) -> tuple[str, ...]:
    """Name prefixes to skip; a single string is one prefix ("block1"), not a set of letters."""
    prefixes = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    if any(not isinstance(p, str) or not p for p in prefixes):
        raise TypeError(f"exclude must be parameter-name prefixes such as ('head.',), got {exclude!r}")
    return prefixes


NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
PARAM_SETS = ("all", "weights", "norm_and_bias")


def norm_and_bias_names(model: nn.Module) -> set[str]:
    """Names of every normalisation-layer parameter (BatchNorm/LayerNorm/GroupNorm γ and β) and
    every bias: what common practice leaves out of weight decay (lesson 06)."""
    names = {n for n, _ in model.named_parameters() if n.rsplit(".", 1)[-1] == "bias"}
    for prefix, module in model.named_modules():
        if isinstance(module, NORM_LAYERS):
            names |= {f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters(recurse=False)}
    return names


def _select(model: nn.Module, params: str) -> Callable[[str], bool]:
    if params not in PARAM_SETS:
        raise ValueError(f"params must be one of {PARAM_SETS}, got {params!r}")
    if params == "all":
        return lambda name: True
    special = norm_and_bias_names(model)
    return (lambda name: name not in special) if params == "weights" else (lambda name: name in special)


def l2_penalty(lam: float, exclude: Iterable[str] = (), params: str = "all") -> Regularizer:
    """Coupled L2: ``λ·Σ‖θ‖²`` added to the loss, over the trainable parameters.

    ``params="all"`` (every one), ``"weights"`` (no normalisation parameters, no biases: common
    practice) or ``"norm_and_bias"`` (only those: lesson 06's control); names starting with an
    ``exclude`` prefix are skipped too.  Under Adam the penalty's gradient is divided by the same
    running scale as the task gradient, so this is *not* decoupled weight decay (AdamW).
    """
    lam = _check_lambda("lam", lam)
    prefixes = _prefixes(exclude)
    if params not in PARAM_SETS:
        raise ValueError(f"params must be one of {PARAM_SETS}, got {params!r}")

    def penalty(model: nn.Module) -> torch.Tensor:
        keep = _select(model, params)
        terms = [p.pow(2).sum() for n, p in model.named_parameters()
                 if p.requires_grad and keep(n) and not n.startswith(prefixes or ("\0",))]
        return lam * torch.stack(terms).sum() if terms else torch.zeros(())
    return penalty


weight_decay = l2_penalty  # the name lessons 06-07 used before they said "coupled L2"


def decoupled_decay_groups(model: nn.Module, decay: float, params: str = "weights") -> list[dict]:
    """Parameter groups for ``torch.optim.AdamW``: decoupled decay ``θ ← θ − lr·decay·θ`` on ``params``
    (``"weights"``: not normalisation parameters or biases, common practice; ``"all"``), none on the rest.

    Only trainable parameters are included (lesson 06; Loshchilov & Hutter 2019).
    """
    decay = _check_lambda("decay", decay)
    if params not in ("all", "weights"):
        raise ValueError(f"params must be 'weights' or 'all' for decoupled decay, got {params!r}")
    keep = _select(model, params)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in named if keep(n)], "weight_decay": decay, "name": "decay"},
              {"params": [p for n, p in named if not keep(n)], "weight_decay": 0.0, "name": "no decay"}]
    return [g for g in groups if g["params"]]


def l2_sp(model: nn.Module, reference: nn.Module | Mapping[str, torch.Tensor], lam: float,
          head_lam: float | None = None, head_prefix: str = HEAD_PREFIX) -> Regularizer:
    """L2-SP: ``λ·Σ_backbone‖θ − θ₀‖² + β·‖θ_head‖²`` with ``β = head_lam`` (default ``λ``).

    ``reference`` is the pretrained model (or its :func:`snapshot`); its head may differ
    from ``model``'s — the new head has no starting point and gets plain weight decay.
    """
    lam = _check_lambda("lam", lam)
    head_lam = lam if head_lam is None else _check_lambda("head_lam", head_lam)
    ref = _reference_params(reference)
    body = [n for n, _ in model.named_parameters() if not n.startswith(head_prefix)]
    match_reference(model, ref, body)
    device = next(model.parameters()).device
    ref = {n: ref[n].to(device) for n in body}

    def penalty(m: nn.Module) -> torch.Tensor:
        sp, head = [], []
        for n, p in m.named_parameters():
            if n.startswith(head_prefix):
                head.append(p.pow(2).sum())
            elif n in ref:
                sp.append((p - ref[n]).pow(2).sum())
        total = lam * torch.stack(sp).sum() if sp else torch.zeros((), device=device)
        return total + head_lam * torch.stack(head).sum() if head else total
    return penalty


FISHER_KINDS = ("empirical", "true")


def fisher_diagonal(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *, batch_size: int = 64,
                    exclude: Iterable[str] = (), kind: str = "empirical") -> dict[str, torch.Tensor]:
    """Diagonal Fisher of the model's log-likelihood at its current weights, averaged over ``x``.

    - ``kind="empirical"``: ``Fᵢ = mean_n (∂ log p(y_n|x_n)/∂θᵢ)²`` with the data's labels ``y``.
    - ``kind="true"``: ``Fᵢ = mean_n Σ_c p(c|x_n)·(∂ log p(c|x_n)/∂θᵢ)²``, the expectation over the
      model's *own* predictions (exact, one pass per class; ``y`` is not used).  Only this one is the
      curvature that EWC's derivation uses (Kunstner et al. 2019; lesson 07 compares the two).

    Per-example gradients come from ``torch.func`` (vmap over ``grad``), with the model in eval mode
    (BatchNorm uses its running statistics).  Parameters whose name starts with an ``exclude`` prefix
    are skipped.
    """
    from torch.func import functional_call, grad, vmap

    from ftlib.training import as_float_input

    if kind not in FISHER_KINDS:
        raise ValueError(f"kind must be one of {FISHER_KINDS}, got {kind!r}")
    if kind == "empirical" and (y is None or len(x) != len(y)):
        raise ValueError(f"the empirical Fisher needs one label per input, got {len(x)} inputs and "
                         f"{'no' if y is None else len(y)} labels")
    if len(x) == 0:
        raise ValueError("need at least one input to estimate a Fisher")
    prefixes = _prefixes(exclude) or ("\0",)
    was_training = model.training
    model.eval()
    params = {n: p.detach() for n, p in model.named_parameters() if not n.startswith(prefixes)}
    others = {n: p.detach() for n, p in model.named_parameters() if n.startswith(prefixes)}
    buffers = dict(model.named_buffers())

    def log_lik(p: dict, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, ({**p, **others}, buffers), (xi.unsqueeze(0),))
        return -F.cross_entropy(out, yi.unsqueeze(0))

    per_example = vmap(grad(log_lik), in_dims=(None, 0, 0))
    inputs = as_float_input(x)
    fisher = {n: torch.zeros_like(p) for n, p in params.items()}
    try:
        for start in range(0, len(inputs), batch_size):
            xb = inputs[start:start + batch_size]
            if kind == "empirical":
                labels = [(y[start:start + batch_size], torch.ones(len(xb)))]
            else:
                with torch.no_grad():
                    probs = F.softmax(model(xb), dim=1)
                labels = [(torch.full((len(xb),), c, dtype=torch.long), probs[:, c]) for c in range(probs.shape[1])]
            for yb, weight in labels:
                grads = per_example(params, xb, yb)
                for n, g in grads.items():
                    fisher[n] += torch.einsum("b,b...->...", weight, g.pow(2))
    finally:
        model.train(was_training)
    return {n: f / len(inputs) for n, f in fisher.items()}


def ewc(model: nn.Module, reference: nn.Module | Mapping[str, torch.Tensor],
        fisher: Mapping[str, torch.Tensor], lam: float) -> Regularizer:
    """Elastic weight consolidation: ``(λ/2)·Σᵢ Fᵢ(θᵢ − θ*ᵢ)²`` over the parameters in ``fisher``.

    ``reference`` holds θ* (the source model or its snapshot) and ``fisher`` comes from
    :func:`fisher_diagonal` on the *source* task; parameters not in ``fisher`` (the new
    head) are free.
    """
    lam = _check_lambda("lam", lam)
    ref = _reference_params(reference)
    names = list(fisher)
    if not names:
        raise ValueError("the Fisher dict is empty: compute it with fisher_diagonal on source data")
    match_reference(model, ref, names)
    params = dict(model.named_parameters())
    bad = [n for n in names if fisher[n].shape != params[n].shape]
    if bad:
        raise ValueError(f"Fisher entry {bad[0]!r} has shape {tuple(fisher[bad[0]].shape)} but the "
                         f"parameter has {tuple(params[bad[0]].shape)}")
    if any(bool((fisher[n] < 0).any()) for n in names):
        raise ValueError("Fisher values must be >= 0 (they are squared gradients)")
    device = next(model.parameters()).device
    ref = {n: ref[n].to(device) for n in names}
    fish = {n: fisher[n].detach().to(device) for n in names}

    def penalty(m: nn.Module) -> torch.Tensor:
        p = dict(m.named_parameters())
        return 0.5 * lam * torch.stack([(fish[n] * (p[n] - ref[n]).pow(2)).sum() for n in names]).sum()
    return penalty


def distance_from(model: nn.Module, reference: Mapping[str, torch.Tensor],
                  head_prefix: str = HEAD_PREFIX) -> float:
    """``‖θ − θ₀‖`` over the backbone: how far fine-tuning moved the pretrained weights."""
    total = 0.0
    for n, p in model.named_parameters():
        if not n.startswith(head_prefix) and n in reference:
            total += float((p.detach() - reference[n].to(p.device)).pow(2).sum())
    return total ** 0.5
