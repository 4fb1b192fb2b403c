"""Fine-tuning the pretrained GPT for gloss → category, every method the lessons compare (lessons 12-13).

One recipe for all, fixed before any result was seen: :data:`RECIPE` (100 AdamW steps, batch
``min(5k, 32)``, 10 warm-up steps then linear decay, gradient clipping at 1.0). What differs is *which*
parameters train and their learning rate: 5e-4 when whole weight matrices of the backbone train (scratch, full,
attention-only), 5e-3 when only small added or chosen parameters do (head, BitFit, LoRA, adapters, prompts).
"""
from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ftlib import guards
from ftlib.checkpoint import load_state, resolve_pair
from ftlib.data import DATA_DIR
from ftlib.efficient import add_adapters, apply_lora, bitfit, count_trainable, freeze_all, train_only
from ftlib.schedules import stlr_factor
from ftlib.text import data as D
from ftlib.text.model import GPT, GPTConfig, TextClassifier, lm_loss

PRETRAINED = "gloss_gpt"
SMALL_LR, LARGE_LR = 5e-4, 5e-3
ULMFIT_FACTOR = 2.6


@dataclass(frozen=True)
class Recipe:
    """How every method trains (lesson 12); a value that cannot work is refused when the recipe is made."""
    steps: int = 100
    batch_size: int = 32
    warmup: int = 10
    grad_clip: float = 1.0
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        for name, low in (("steps", 1), ("batch_size", 1), ("warmup", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        for name in ("grad_clip", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
                    or (name == "grad_clip" and value == 0):
                raise ValueError(f"{name} must be a finite number {'> 0' if name == 'grad_clip' else '>= 0'}, "
                                 f"got {value!r}")


RECIPE = Recipe()


def load_gpt(name: str = PRETRAINED, data_dir: Path | str = DATA_DIR) -> GPT:
    """The shipped pretrained GPT (checksummed safetensors and sidecar; no pickle)."""
    weights, meta = resolve_pair(Path(data_dir) / name)
    arch = {k: v for k, v in meta["architecture"].items() if k != "name"}
    if meta["architecture"].get("name") != "GPT":
        raise ValueError(f"{name}.json describes a {meta['architecture'].get('name')!r}, not a GPT")
    model = GPT(GPTConfig(**arch))
    model.load_state_dict(load_state(weights))
    return model.eval()


@lru_cache(maxsize=4)
def _pretrained_state(name: str) -> dict:
    return {k: v.clone() for k, v in load_gpt(name).state_dict().items()}


def fresh_backbone(pretrained: str | None = PRETRAINED, seed: int = 0) -> GPT:
    """A pretrained GPT (a new copy each call) or, with ``None``, a randomly initialised one (seeded)."""
    torch.manual_seed(seed)
    model = GPT()
    if pretrained is not None:
        model.load_state_dict(_pretrained_state(pretrained))
    return model


@dataclass
class Setup:
    """A model ready to train: its parameter groups (each with an ``lr``) and optional per-step hooks."""
    model: TextClassifier
    groups: list[dict]
    schedule: str = "warmup-linear"
    on_step: Callable[[int], None] | None = None
    notes: dict = field(default_factory=dict)


def _classifier(backbone: GPT, num_classes: int, seed: int, prompt_length: int = 0) -> TextClassifier:
    torch.manual_seed(10_000 + seed)  # the head's init depends on the seed only, the same for every method
    return TextClassifier(backbone, num_classes, prompt_length=prompt_length)


def _all_trainable(model: nn.Module, lr: float) -> list[dict]:
    return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr}]


def setup(method: str, num_classes: int = 5, seed: int = 0, pretrained: str = PRETRAINED, **options) -> Setup:
    """Build the model for ``method`` (see :data:`METHODS`), with only its parameters trainable."""
    if method not in METHODS:
        close = difflib.get_close_matches(str(method), METHODS, n=1, cutoff=0.5)
        hint = f" — did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown method {method!r}{hint}; choose one of: {', '.join(METHODS)}")
    allowed = options_of(method)
    for name, value in options.items():
        if name not in allowed:
            close = [ALIASES[name]] if ALIASES.get(name) in allowed else \
                difflib.get_close_matches(name, allowed, n=1, cutoff=0.3)
            hint = f" — did you mean {close[0]}=?" if close else ""
            raise TypeError(f"{method} has no option {name!r}{hint} ({method}'s options: "
                            f"{', '.join(allowed) or 'none'})")
        if name in ("lr", "alpha", "factor") and value is not None and not _positive_number(value):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return METHODS[method](num_classes, seed, pretrained, **options)


# names other libraries use for the same options (Hugging Face peft and transformers)
ALIASES = {"learning_rate": "lr", "rank": "r", "lora_alpha": "alpha", "target_modules": "targets",
           "num_virtual_tokens": "length", "prompt_length": "length", "reduction_factor": "bottleneck"}


def options_of(method: str) -> list[str]:
    """The keyword options that :func:`setup` accepts for ``method`` (e.g. ``r`` and ``alpha`` for LoRA)."""
    params = inspect.signature(METHODS[method]).parameters
    return [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY or
            (p.default is not p.empty and n != "pretrained")]


def _positive_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def _scratch(lr: float):
    def make(n, seed, pretrained):
        model = _classifier(fresh_backbone(None, seed), n, seed)
        return Setup(model, _all_trainable(model, lr))
    return make


def _full(n, seed, pretrained, lr: float = SMALL_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed)
    return Setup(model, _all_trainable(model, lr))


def _head_only(n, seed, pretrained, lr: float = LARGE_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed)
    train_only(freeze_all(model), ["head"])
    return Setup(model, _all_trainable(model, lr))


def _attention_only(n, seed, pretrained, lr: float = SMALL_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed)
    train_only(freeze_all(model), ["attn.q", "attn.k", "attn.v", "attn.o", "head"])
    return Setup(model, _all_trainable(model, lr))


def _bitfit(n, seed, pretrained, lr: float = LARGE_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed)
    bitfit(model, also=["head"])
    return Setup(model, _all_trainable(model, lr))


def _lora(n, seed, pretrained, r: int = 4, alpha: float | None = None, targets: Sequence[str] = ("q", "v"),
          lr: float = LARGE_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed)
    torch.manual_seed(20_000 + seed)
    apply_lora(model.backbone, targets, r=r, alpha=alpha)
    train_only(model, ["head"])
    return Setup(model, _all_trainable(model, lr), notes={"r": r, "alpha": alpha or 2 * r})


def _adapters(n, seed, pretrained, bottleneck: int = 16, lr: float = LARGE_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed)
    torch.manual_seed(20_000 + seed)
    add_adapters(model.backbone, ["attn.o", "mlp.fc2"], bottleneck=bottleneck)
    train_only(model, ["head"])
    return Setup(model, _all_trainable(model, lr), notes={"bottleneck": bottleneck})


def _prompt(n, seed, pretrained, length: int = 8, lr: float = LARGE_LR):
    model = _classifier(fresh_backbone(pretrained), n, seed, prompt_length=length)
    freeze_all(model)
    train_only(model, ["head", "prompt"])
    return Setup(model, _all_trainable(model, lr), notes={"prompt_length": length})


def ulmfit_groups(model: TextClassifier, lr: float = LARGE_LR, factor: float = ULMFIT_FACTOR) -> list[dict]:
    """Layer groups from the top (head + final norm) down to the embeddings, each ``factor`` × slower."""
    bb = model.backbone
    layers = [list(model.head.parameters()) + list(bb.ln_f.parameters())]
    layers += [list(b.parameters()) for b in reversed(bb.blocks)]
    layers.append([bb.tok_emb.weight, bb.pos_emb.weight])
    return [{"params": ps, "lr": lr / factor ** i, "name": f"group {i}"} for i, ps in enumerate(layers)]


def _ulmfit(n, seed, pretrained, lr: float = LARGE_LR, factor: float = ULMFIT_FACTOR, steps: int = RECIPE.steps):
    """Gradual unfreezing (one more group from the top every ``steps / groups`` steps), discriminative
    learning rates (÷2.6 per group) and the slanted-triangular schedule (Howard & Ruder 2018)."""
    model = _classifier(fresh_backbone(pretrained), n, seed)
    groups = ulmfit_groups(model, lr, factor)
    freeze_all(model)
    every = max(1, steps // len(groups))

    def on_step(step: int) -> None:
        for g in groups[: 1 + step // every]:
            for p in g["params"]:
                p.requires_grad_(True)
    on_step(0)
    return Setup(model, groups, schedule="stlr", on_step=on_step)


METHODS: dict[str, Callable[..., Setup]] = {
    "scratch": _scratch(SMALL_LR),
    "scratch, lr ×10": _scratch(LARGE_LR),
    "head only": _head_only,
    "full fine-tune": _full,
    "attention only": _attention_only,
    "ULMFiT": _ulmfit,
    "BitFit": _bitfit,
    "LoRA": _lora,
    "adapters": _adapters,
    "prompt tuning": _prompt,
}


def _lr_factor(schedule: str, step: int, steps: int, warmup: int) -> float:
    if schedule == "stlr":
        return stlr_factor(step, steps)
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (steps - step) / max(1, steps - warmup))


def train(s: Setup, texts: Sequence[str], labels, *, seed: int = 0, recipe: Recipe = RECIPE,
          tokenizer=None, callback: Callable[[int, float], None] | None = None) -> list[float]:
    """Train ``s.model`` on the texts; return the loss of every step. ``callback(step, loss)`` after each.

    Every step goes through the course's guarded step (:mod:`ftlib.guards`, lesson 04): labels, batch size and
    optimizer are checked once up front, a NaN or exploding loss stops training with one sentence.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, e.g. Recipe(steps=50), got {type(recipe).__name__}")
    ids, mask = encode_for(s.model, texts, tokenizer)
    labels = guards.as_labels(labels, s.model.head.out_features, n=len(ids))
    opt = torch.optim.AdamW(s.groups, weight_decay=recipe.weight_decay)
    guards.check_optimizer(s.model, opt)
    for g in opt.param_groups:
        g["base_lr"] = g["lr"]
    n, batch = len(ids), guards.check_batch_size(recipe.batch_size, len(ids))
    gen = torch.Generator().manual_seed(30_000 + seed)
    order, pos, losses = torch.randperm(n, generator=gen), 0, []
    divergence = guards.DivergenceGuard(lambda: guards.lr_text(opt))
    guards.training_mode(s.model)
    try:
        for step in range(recipe.steps):
            if s.on_step is not None:
                s.on_step(step)
            if pos + batch > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos:pos + batch]
            pos += batch
            m = mask[idx]
            width = int(m.sum(1).max())
            loss = F.cross_entropy(s.model(ids[idx, :width], m[:, :width]), labels[idx])
            factor = _lr_factor(s.schedule, step, recipe.steps, recipe.warmup)
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * factor
            losses.append(divergence.check(step, loss.detach()))
            guards.update(opt, loss, recipe.grad_clip)
            if callback is not None:
                callback(step, losses[-1])
    finally:
        s.model.eval()
    return losses


def encode_for(model: TextClassifier, texts: Sequence[str], tokenizer=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode texts for ``model``: truncated to the context left after its prompt, if it has one."""
    prompt = 0 if model.prompt is None else model.prompt.shape[0]
    return D.encode_batch(texts, tokenizer, max_tokens=model.backbone.cfg.context - prompt)


def predict(model: TextClassifier, texts: Sequence[str], batch_size: int = 500, tokenizer=None) -> torch.Tensor:
    """Predicted class of every text (a list of texts; one text is ``predict(model, [text])``)."""
    batch_size = guards.check_batch_size(batch_size, len(D.as_texts(texts)))
    ids, mask = encode_for(model, texts, tokenizer)
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(ids), batch_size):
            m = mask[i:i + batch_size]
            width = int(m.sum(1).max())
            out.append(model(ids[i:i + batch_size, :width], m[:, :width]).argmax(1))
    return torch.cat(out)


def accuracy(model: TextClassifier, texts: Sequence[str], labels) -> float:
    """Share of ``texts`` whose predicted class is its label (one label per text, checked)."""
    texts = D.as_texts(texts)
    labels = guards.as_labels(labels, model.head.out_features, n=len(texts))
    return float((predict(model, texts) == labels).float().mean())


@lru_cache(maxsize=2)
def _heldout(limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    return D.encode_batch(D.source_texts("heldout")[:limit])


def source_lm_loss(model: TextClassifier | GPT, limit: int | None = None) -> float:
    """Language-model loss of the (fine-tuned) backbone on the held-out source glosses: forgetting, lesson 13."""
    backbone = model.backbone if isinstance(model, TextClassifier) else model
    ids, mask = _heldout(limit)
    return lm_loss(backbone, ids, mask)


def run(method: str, texts: Sequence[str], labels: torch.Tensor, seed: int, *, test: tuple | None = None,
        forgetting: bool = False, recipe: Recipe = RECIPE, pretrained: str = PRETRAINED,
        heldout_limit: int | None = None, **options) -> dict:
    """Set up ``method``, train it, and measure it: a result row (accuracy, trainable count, final loss...)."""
    if method == "ULMFiT":  # its unfreezing schedule is spread over the steps actually trained
        options.setdefault("steps", recipe.steps)
    s = setup(method, int(torch.as_tensor(labels).max()) + 1 if test is None else len(set(test[1].tolist())),
              seed, pretrained, **options)
    trainable = count_trainable(s.model) if s.on_step is None else sum(
        p.numel() for g in s.groups for p in g["params"])
    losses = train(s, texts, labels, seed=seed, recipe=recipe)
    row = {"trainable": trainable, "final_loss": round(losses[-1], 5), **s.notes}
    if test is not None:
        row["accuracy"] = accuracy(s.model, *test)
    if forgetting:
        row["source_lm_loss"] = source_lm_loss(s.model, heldout_limit)
    row["model"] = s.model
    return row


class BagOfWords:
    """The baseline: logistic regression on counts of BPE tokens (scikit-learn, lbfgs, C = 1), lesson 12.

    4,096 × 5 weights + 5 biases = 20,485 parameters; it sees which tokens occur, never their order.
    """

    def __init__(self, C: float = 1.0, tokenizer=None):
        from sklearn.linear_model import LogisticRegression

        self.tokenizer = tokenizer or D.load_tokenizer()
        self.clf = LogisticRegression(C=C, max_iter=2000)

    def features(self, texts: Sequence[str]):
        texts = D.as_texts(texts)
        x = torch.zeros(len(texts), self.tokenizer.get_vocab_size())
        for i, e in enumerate(self.tokenizer.encode_batch(list(texts))):
            x[i].index_add_(0, torch.tensor(e.ids, dtype=torch.long), torch.ones(len(e.ids)))
        return x.numpy()

    def fit(self, texts: Sequence[str], labels) -> "BagOfWords":
        x = self.features(texts)
        self.clf.fit(x, guards.as_labels(labels, n=len(x)).numpy())
        return self

    def predict(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.as_tensor(self.clf.predict(self.features(texts)))

    def accuracy(self, texts: Sequence[str], labels) -> float:
        predicted = self.predict(texts)
        return float((predicted == guards.as_labels(labels, n=len(predicted))).float().mean())

    @property
    def num_parameters(self) -> int:
        return int(self.clf.coef_.size + self.clf.intercept_.size)
