"""Measuring catastrophic forgetting and the recipes that move it (lessons 06 and 07).

The fine-tuned model gets a fresh head for the target task, but we *keep the source
head*: putting it back on the current backbone tells how much of the source task the
network still solves **at the output** (:func:`source_accuracy`).  A fresh linear probe
trained on the current features tells how much survives **in the representation**
(:func:`probe_accuracy`).

:func:`finetune_run` is one run of a named recipe (plain, frozen, discriminative LRs,
gradual unfreezing, L2-SP, EWC, dropout, early stopping, augmentation) on a k-shot set;
the precompute scripts and the lessons share it so they measure the same thing.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ftlib import guards
from ftlib.data import class_subset, load_fashion_mnist
from ftlib.freezing import block_names, freeze_to
from ftlib.models import load_pretrained, replace_head
from ftlib.results import load_result  # noqa: F401  (lessons 06-08 import it from here)
from ftlib.regularizers import decoupled_decay_groups, ewc, fisher_diagonal, l2_penalty, l2_sp, snapshot
from ftlib.training import History, as_float_input, evaluate, fit

SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)


def stratified_head(x: torch.Tensor, y: torch.Tensor, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``per_class`` examples of every class: a fixed, balanced evaluation subset."""
    idx = torch.cat([torch.nonzero(y == c).flatten()[:per_class] for c in torch.unique(y).tolist()])
    return x[idx], y[idx]


def source_data(split: str = "test", per_class: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Source-task images (classes 0-4, relabelled 0..4), optionally the first ``per_class`` of each."""
    x, y = class_subset(*load_fashion_mnist(split), SOURCE_CLASSES)
    return stratified_head(x, y, per_class) if per_class else (x, y)


@torch.no_grad()
def features(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Pooled penultimate features in eval mode (the mode is restored)."""
    was = model.training
    model.eval()
    try:
        return torch.cat([model.features(as_float_input(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was)


def source_accuracy(model: nn.Module, source_head: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of the *old* source head on the *current* backbone: forgetting at the output."""
    with torch.no_grad():
        return (source_head(features(model, x)).argmax(1) == y).float().mean().item()


def probe_accuracy(model: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                   y_test: torch.Tensor, steps: int = 300, lr: float = 0.05, seed: int = 0) -> float:
    """A fresh linear probe on the current features: what the representation still knows."""
    y_train = guards.as_labels(y_train, n=len(x_train))
    f_train, f_test = features(model, x_train), features(model, x_test)
    mean, std = f_train.mean(0), f_train.std(0) + 1e-6
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    g = torch.Generator().manual_seed(seed)
    probe = nn.Linear(f_train.shape[1], int(y_train.max()) + 1)
    with torch.no_grad():
        probe.weight.copy_(0.01 * torch.randn(probe.weight.shape, generator=g))
        probe.bias.zero_()
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    divergence = guards.DivergenceGuard(lambda: f"{lr:.3g}")
    for step in range(steps):
        loss = F.cross_entropy(probe(f_train), y_train) + 1e-3 * probe.weight.pow(2).sum()
        divergence.check(step, loss.detach())
        guards.update(opt, loss)
    with torch.no_grad():
        return (probe(f_test).argmax(1) == y_test).float().mean().item()


def discriminative_param_groups(model: nn.Module, lr: float, factor: float = 2.6) -> list[dict]:
    """One optimizer group per block, the learning rate divided by ``factor`` per block down
    from the head (ULMFiT, Howard & Ruder 2018)."""
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    names = block_names(model)
    groups = []
    for depth, name in enumerate(reversed(names)):
        params = [p for p in getattr(model, name).parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr / factor ** depth, "name": name})
    return groups


def gradual_unfreezing(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float,
                       seed: int = 0, **fit_kwargs) -> History:
    """Head first, then one more block every ``steps / n_blocks`` steps (ULMFiT's schedule)."""
    names = block_names(model)
    stage = max(1, steps // len(names))
    history = History()
    done = 0
    for i in range(len(names)):
        n = stage if i < len(names) - 1 else steps - done
        freeze_to(model, len(names) - 1 - i)
        fit(model, x, y, steps=n, lr=lr, seed=seed + i, progress=False, history=history, **fit_kwargs)
        done += n
    return history


class SourceReference:
    """The pretrained source model, its head, θ₀ and (lazily) its diagonal Fisher on source data."""

    def __init__(self, weights: str = "netb_source", fisher_per_class: int = 100) -> None:
        self.model = load_pretrained(weights)
        self.head = copy.deepcopy(self.model.head).eval()
        self.theta0 = snapshot(self.model)
        self.fisher_per_class = fisher_per_class
        self._fisher: dict[str, dict[str, torch.Tensor]] = {}

    def fisher_of(self, kind: str = "empirical") -> dict[str, torch.Tensor]:
        """The backbone's diagonal Fisher on ``fisher_per_class`` source training images per class
        (``kind``: "empirical", with the labels, or "true", over the model's own predictions)."""
        if kind not in self._fisher:
            x, y = source_data("train", self.fisher_per_class)
            self._fisher[kind] = fisher_diagonal(self.model, x, y, exclude=("head.",), kind=kind)
        return self._fisher[kind]

    @property
    def fisher(self) -> dict[str, torch.Tensor]:
        """The empirical Fisher (the one lesson 07's first sweep used)."""
        return self.fisher_of("empirical")

    def fresh(self, num_classes: int, seed: int) -> nn.Module:
        """A copy of the source model with a new seeded head of ``num_classes``."""
        return replace_head(copy.deepcopy(self.model), num_classes, seed=seed)


def _norm_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def with_statistics_of(model: nn.Module, donor: nn.Module) -> nn.Module:
    """A copy of ``model`` whose BatchNorm running statistics are ``donor``'s (lesson 07's control:
    the fine-tuned weights with the *source* statistics put back)."""
    out = copy.deepcopy(model)
    theirs = _norm_layers(donor)
    mine = _norm_layers(out)
    if set(mine) != set(theirs):
        raise ValueError("the donor's BatchNorm layers differ from the model's: it is another architecture")
    for name, layer in mine.items():
        layer.running_mean.copy_(theirs[name].running_mean)
        layer.running_var.copy_(theirs[name].running_var)
    return out


@torch.no_grad()
def statistics_only(model: nn.Module, x: torch.Tensor, passes: int = 100) -> nn.Module:
    """A copy of ``model`` after ``passes`` full-batch forward passes over ``x`` in training mode: the
    BatchNorm running statistics move to ``x``'s exactly as during fine-tuning, and no weight changes
    (lesson 07's forward-only control)."""
    out = copy.deepcopy(model)
    out.train()
    inputs = as_float_input(x)
    for _ in range(passes):
        out(inputs)
    return out.eval()


def torchvision_augment(degrees: float = 10.0, translate: float = 0.1):
    """A ``fit(augment=...)`` function built from torchvision transforms (lesson 06).

    RandomAffine (small rotations and shifts) and RandomHorizontalFlip, applied image by
    image; the torch RNG is forked and seeded from fit's generator so runs are repeatable.
    """
    from torchvision.transforms import v2

    transform = v2.Compose([v2.RandomAffine(degrees=degrees, translate=(translate, translate)),
                            v2.RandomHorizontalFlip()])

    def augment(xb: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            background = float(xb.min())
            return torch.stack([transform(img - background) + background for img in xb])
    return augment


METHODS = ("plain", "lr", "lr1e-4", "weight_decay", "l2_weights", "l2_norm_bias", "adamw", "adamw_all", "l2_sp",
           "l2_sp_free_head", "ewc", "ewc_true", "dropout", "early_stopping", "augment", "frozen", "freeze_to_block3",
           "discriminative", "gradual")


def _recipe(ref: SourceReference, method: str, model: nn.Module, lr: float, lam: float) -> dict:
    """fit() keyword arguments of one named recipe (the model is changed in place where it must be)."""
    penalties = {"weight_decay": lambda: l2_penalty(lam), "l2_weights": lambda: l2_penalty(lam, params="weights"),
                 "l2_norm_bias": lambda: l2_penalty(lam, params="norm_and_bias"),
                 "l2_sp": lambda: l2_sp(model, ref.theta0, lam),
                 "l2_sp_free_head": lambda: l2_sp(model, ref.theta0, lam, head_lam=0.0),
                 "ewc": lambda: ewc(model, ref.theta0, ref.fisher_of("empirical"), lam),
                 "ewc_true": lambda: ewc(model, ref.theta0, ref.fisher_of("true"), lam)}
    if method in penalties:
        return {"regularizer": penalties[method]()}
    if method in ("adamw", "adamw_all"):
        params = "weights" if method == "adamw" else "all"
        return {"optimizer": torch.optim.AdamW(decoupled_decay_groups(model, lam, params), lr=lr)}
    if method == "lr1e-4":
        return {"lr": 1e-4}
    if method == "augment":
        return {"augment": torchvision_augment()}
    elif method == "frozen":
        freeze_to(model, -1)
    elif method == "freeze_to_block3":
        freeze_to(model, "block3")
    elif method == "discriminative":
        return {"optimizer": torch.optim.Adam(discriminative_param_groups(model, lr))}
    return {}


def finetune_run(ref: SourceReference, method: str, x: torch.Tensor, y: torch.Tensor, seed: int, *,
                 steps: int = 100, lr: float = 1e-3, lam: float = 0.0,
                 val: tuple[torch.Tensor, torch.Tensor] | None = None, dropout: float = 0.5) -> tuple[nn.Module, History]:
    """Fine-tune a fresh copy of the source model on (x, y) with one named recipe (lessons 06-07).

    All recipes: full-batch Adam, ``steps`` steps, learning rate ``lr`` ("lr1e-4": 1e-4), no augmentation
    unless the method is ``augment``.  ``lam`` is λ of the penalties (weight_decay = coupled L2 on every
    parameter, l2_weights / l2_norm_bias on the weights only / on normalisation parameters and biases only,
    l2_sp, l2_sp_free_head, ewc with the empirical Fisher, ewc_true with the true Fisher) and the decoupled
    decay of AdamW ("adamw": weights only, "adamw_all": every parameter).  ``early_stopping`` needs ``val``
    (evaluated every 10 steps, patience 3, best weights restored).
    """
    if method not in METHODS:
        raise KeyError(f"unknown method {method!r}; choose one of {METHODS}")
    torch.manual_seed(seed)  # dropout draws from the global generator: make every run independent of history
    model = ref.fresh(int(y.max()) + 1, seed)
    kw: dict = {"steps": steps, "lr": lr, "batch_size": None, "seed": seed, "progress": False}
    if method == "dropout":
        model.dropout = nn.Dropout(dropout)
    elif method == "early_stopping":
        if val is None:
            raise ValueError("early_stopping needs a validation set val=(x, y)")
        kw.update(val=val, eval_every=10, patience=3)
    else:
        kw.update(_recipe(ref, method, model, lr, lam))
    if method == "gradual":
        history = gradual_unfreezing(model, x, y, steps=steps, lr=lr, seed=seed, batch_size=None)
    else:
        history = fit(model, x, y, **kw)
    return model, history


def run_metrics(model: nn.Module, ref: SourceReference, target_test: tuple[torch.Tensor, torch.Tensor],
                source_test: tuple[torch.Tensor, torch.Tensor],
                probe_train: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
    """Target accuracy, source accuracy through the old head (with the current BatchNorm statistics, and
    with the source statistics put back) and (optionally) a fresh probe's."""
    out = {"accuracy": evaluate(model, *target_test)["accuracy"],
           "source_accuracy": source_accuracy(model, ref.head, *source_test),
           "source_accuracy_source_bn": source_accuracy(with_statistics_of(model, ref.model), ref.head, *source_test)}
    if probe_train is not None:
        out["probe_accuracy"] = probe_accuracy(model, *probe_train, *source_test)
    return out


def summarize_metric(rows: Sequence[Mapping], metric: str) -> dict[str, dict[str, float]]:
    """Per method: mean and std of ``metric`` over seeds (a compact helper for plots)."""
    import statistics

    out: dict[str, dict[str, float]] = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        v = [r[metric] for r in rows if r["method"] == m and metric in r]
        if v:
            out[m] = {"mean": statistics.fmean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0, "n": len(v)}
    return out


def sweep(configs: Sequence[Mapping], *, k: int, seeds: Sequence[int], steps: int = 100, lr: float = 1e-3,
          test_per_class: int = 200, probe_per_class: int = 100, fisher_per_class: int = 100,
          probe: bool = True, verbose: bool = False, on_row=None, done: Sequence[Mapping] = ()) -> list[dict]:
    """Run every config (``{"name", "method", "lam"?}``) on the same k-shot subset per seed.

    Target task: classes 5-9 of the shipped Fashion-MNIST (k per class drawn from the
    training split with ``k_shot(seed)``), evaluated on the first ``test_per_class`` test
    images of each class; source retention on the first ``test_per_class`` source test
    images of each class.  Early stopping's validation set is another k per class drawn
    with seed ``10_000 + seed``.  A config may set its own ``"lr"``.  One row per (config, seed);
    rows in ``done`` (from a stopped sweep) are kept and not run again.
    """
    from ftlib.data import k_shot

    ref = SourceReference(fisher_per_class=fisher_per_class)
    x_pool, y_pool = class_subset(*load_fashion_mnist("train"), TARGET_CLASSES)
    target_test = stratified_head(*class_subset(*load_fashion_mnist("test"), TARGET_CLASSES), test_per_class)
    source_test = source_data("test", test_per_class)
    probe_train = source_data("train", probe_per_class) if probe else None
    rows = list(done)
    finished = {(r["method"], r["seed"]) for r in rows}
    for seed in seeds:
        x_k, y_k = k_shot(x_pool, y_pool, k, seed=seed)
        val = k_shot(x_pool, y_pool, k, seed=10_000 + seed)
        for cfg in configs:
            if (cfg["name"], seed) in finished:
                continue
            run_lr = 1e-4 if cfg["method"] == "lr1e-4" else cfg.get("lr", lr)  # the rate it trains at
            model, history = finetune_run(ref, cfg["method"], x_k, y_k, seed, steps=steps, lr=run_lr,
                                          lam=cfg.get("lam", 0.0), val=val)
            row = {"method": cfg["name"], "family": cfg["method"], "lam": cfg.get("lam", 0.0), "lr": run_lr, "k": k,
                   "seed": seed, **run_metrics(model, ref, target_test, source_test, probe_train),
                   "final_train_loss": history.loss[-1], "steps_run": len(history.step)}
            rows.append(row)
            if on_row is not None:
                on_row(rows)
            if verbose:
                print(f"seed={seed} {cfg['name']}: target {row['accuracy']:.4f} source {row['source_accuracy']:.4f}",
                      flush=True)
    return rows


def paired(rows: Sequence[Mapping], method: str, baseline: str, metric: str = "accuracy",
           key: str = "method", baseline_metric: str | None = None) -> dict[str, float]:
    """Mean of ``method`` and ``baseline``, mean paired difference, 95 % interval and wins over seeds.

    ``baseline_metric`` (default ``metric``) compares two metrics of the same runs, e.g. the source accuracy
    with the source BatchNorm statistics put back against the one without (lesson 07).
    """
    import statistics

    from ftlib.experiments import paired_interval

    a = {r["seed"]: r[metric] for r in rows if r[key] == method}
    b = {r["seed"]: r[baseline_metric or metric] for r in rows if r[key] == baseline}
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise KeyError(f"no seeds with both {method!r} and {baseline!r}")
    diffs = [a[s] - b[s] for s in seeds]
    lo, hi = paired_interval(diffs)
    return {"mean": statistics.fmean(a[s] for s in seeds), "std": statistics.stdev(a[s] for s in seeds)
            if len(seeds) > 1 else 0.0, "base": statistics.fmean(b[s] for s in seeds),
            "diff": statistics.fmean(diffs), "lo": lo, "hi": hi, "wins": sum(d > 0 for d in diffs),
            "n": len(seeds)}


def tradeoff_curve(rows: Sequence[Mapping], families: Sequence[str], x: str = "source_accuracy",
                   y: str = "accuracy") -> list[dict]:
    """The points of one trade-off curve (lesson 07): every method whose ``family`` is in ``families``,
    ordered by strength (λ, or a falling learning rate), each with the seed means of ``x`` and ``y``."""
    import statistics

    names = list(dict.fromkeys(r["method"] for r in rows if r.get("family") in families))
    if not names:
        raise KeyError(f"no rows of the families {list(families)}")
    points = []
    for name in names:
        runs = [r for r in rows if r["method"] == name]
        first = runs[0]
        strength = 0.0 if first["family"] == "plain" else \
            1.0 / first["lr"] if first["family"] == "lr" else first.get("lam", 0.0)  # plain fine-tuning starts every curve
        points.append({"method": name, "strength": strength, "n": len(runs),
                       "x": statistics.fmean(r[x] for r in runs), "y": statistics.fmean(r[y] for r in runs)})
    return sorted(points, key=lambda p: p["strength"])


def verdict(p: Mapping[str, float]) -> str:
    """"helps" / "hurts" when the 95 % interval of the paired difference excludes 0, else "no clear effect"."""
    if p["lo"] > 0:
        return "helps"
    if p["hi"] < 0:
        return "hurts"
    return "no clear effect"
