"""Pretrain the text track's language model: ``python -m ftlib.tooling.pretrain_lm`` (``make pretrain-text``).

Recipe (lesson 12 explains it): next-token prediction on random 64-token windows of the source text (every
WordNet gloss outside the five target categories, glosses separated by ``<|endoftext|>``), batch 32 × 64
tokens, AdamW (β = 0.9, 0.95), weight decay 0.1 on matrices, peak learning rate 2e-3, 100 warm-up steps,
then cosine decay to 10 % of the peak, gradient clipping at 1.0, seed 0.

**The budget rule.** A fixed number of steps, not a wall-clock time, so that any machine trains the same
model: :data:`STEPS` = 4,000 steps (8.2 M tokens, about 4.4 passes over the 1.85 M-token text). On 2 idle
cores one step took 0.13-0.16 s here (652 s for the shipped run), so the run takes about 11 minutes, inside the course's limit of
20 minutes on 2 cores with room for a busy machine. The held-out loss is measured every 500 steps and
recorded in the sidecar, so the curve shows what the budget bought.

The run also saves its state after :data:`SHORT_STEPS` = 1,000 steps (``gloss_gpt_1k``): the same model
with a quarter of the pretraining, which the lessons use to show that pretraining is the lever.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ftlib import guards
from ftlib.checkpoint import save_weights
from ftlib.data import DATA_DIR, sha256_of
from ftlib.make_data import update_manifest
from ftlib.text import data as D
from ftlib.text.model import GPT, GPTConfig, lm_loss

NAME, SHORT_NAME = "gloss_gpt", "gloss_gpt_1k"
STEPS, SHORT_STEPS, EVAL_EVERY = 4000, 1000, 500
RECIPE = {"objective": "next token", "window": 64, "batch_size": 32, "optimizer": "AdamW", "betas": [0.9, 0.95],
          "weight_decay": 0.1, "lr": 2e-3, "warmup_steps": 100, "schedule": "cosine to 10 %", "grad_clip": 1.0,
          "seed": 0}


def token_stream(texts: list[str], tokenizer) -> torch.Tensor:
    """Every text's tokens, each preceded by ``<|endoftext|>``, as one long 1-D tensor."""
    end = D.end_id(tokenizer)
    out: list[int] = []
    for e in tokenizer.encode_batch(texts):
        out.append(end)
        out.extend(e.ids)
    return torch.tensor(out, dtype=torch.long)


def lr_at(step: int, steps: int, peak: float = RECIPE["lr"], warmup: int = RECIPE["warmup_steps"]) -> float:
    """Linear warm-up, then cosine from ``peak`` down to 10 % of it at ``steps``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def optimizer_for(model: GPT) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not on biases, LayerNorms or positions)."""
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "pos_emb" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "pos_emb" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": RECIPE["weight_decay"]},
                              {"params": rest, "weight_decay": 0.0}], lr=RECIPE["lr"], betas=tuple(RECIPE["betas"]))


def heldout_loss(model: GPT, tokenizer, limit: int | None = None) -> float:
    texts = D.source_texts("heldout")[:limit]
    ids, mask = D.encode_batch(texts, tokenizer)
    return lm_loss(model, ids, mask)


def sidecar(model: GPT, steps: int, total_steps: int, curve: list, seconds: float, tokenizer) -> dict:
    loss = curve[-1]["heldout_loss"]
    return {
        "architecture": {"name": "GPT", **model.cfg.to_dict()},
        "tokenizer": {"file": D.TOKENIZER_FILE, "sha256": sha256_of(DATA_DIR / D.TOKENIZER_FILE)},
        "data": {"file": D.TEXT_FILE, "sha256": sha256_of(DATA_DIR / D.TEXT_FILE), "split": "source/train",
                 "lines": len(D.source_texts("train"))},
        "recipe": {**RECIPE, "steps": steps, "schedule_steps": total_steps},
        "metrics": {"heldout_loss": round(loss, 4), "heldout_perplexity": round(math.exp(loss), 1),
                    "heldout_texts": len(D.source_texts("heldout")), "curve": curve},
        "training_seconds": round(seconds, 1), "torch": torch.__version__, "threads": torch.get_num_threads(),
    }


def pretrain(steps: int = STEPS, short_steps: int | None = SHORT_STEPS, eval_every: int = EVAL_EVERY,
             seed: int = 0, eval_limit: int | None = None, progress: bool = True,
             on_snapshot=None) -> tuple[GPT, dict]:
    """Train the GPT on the source text; ``on_snapshot(model, meta)`` is called at ``short_steps``."""
    torch.manual_seed(seed)
    tokenizer = D.load_tokenizer()
    stream = token_stream(D.source_texts("train"), tokenizer)
    model = GPT(GPTConfig(vocab_size=tokenizer.get_vocab_size()))
    opt = optimizer_for(model)
    g = torch.Generator().manual_seed(seed + 1)
    w, b = RECIPE["window"], RECIPE["batch_size"]
    curve = [{"step": 0, "heldout_loss": round(heldout_loss(model, tokenizer, eval_limit), 4)}]
    divergence = guards.DivergenceGuard(lambda: guards.lr_text(opt))
    started = time.perf_counter()
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps)
        starts = torch.randint(0, len(stream) - w - 1, (b,), generator=g)
        chunk = torch.stack([stream[s:s + w + 1] for s in starts.tolist()])
        logits = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        divergence.check(step, loss.detach())
        guards.update(opt, loss, RECIPE["grad_clip"], clip_params=model.parameters())
        done = step + 1
        if done % eval_every == 0 or done == steps or done == short_steps:
            curve.append({"step": done, "train_loss": round(float(loss.detach()), 4),
                          "heldout_loss": round(heldout_loss(model, tokenizer, eval_limit), 4),
                          "seconds": round(time.perf_counter() - started, 1)})
            if progress:
                print(curve[-1], flush=True)
        if done == short_steps and on_snapshot is not None:
            on_snapshot(model, sidecar(model, done, steps, list(curve), time.perf_counter() - started, tokenizer))
    return model, sidecar(model, steps, steps, curve, time.perf_counter() - started, tokenizer)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--short-steps", type=int, default=SHORT_STEPS)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--overwrite", action="store_true", help="replace existing weights")
    args = parser.parse_args(argv)
    stems = [args.out / NAME, args.out / SHORT_NAME]
    existing = [s for s in stems if s.with_suffix(".json").exists() or s.with_suffix(".safetensors").exists()]
    if existing and not args.overwrite:
        raise FileExistsError(f"{existing[0]} already exists; pass --overwrite to replace it (nothing was trained)")

    def save(model, meta, stem):
        weights, side = save_weights(model, stem, meta, overwrite=args.overwrite)
        if args.out.resolve() == DATA_DIR.resolve():
            update_manifest(DATA_DIR, weights.name)
            update_manifest(DATA_DIR, side.name)
        print(f"{stem.name}: held-out perplexity {meta['metrics']['heldout_perplexity']} after "
              f"{meta['recipe']['steps']} steps in {meta['training_seconds']} s -> {weights}", flush=True)

    model, meta = pretrain(args.steps, args.short_steps, on_snapshot=lambda m, mt: save(m, mt, stems[1]))
    save(model, meta, stems[0])


if __name__ == "__main__":
    main()
