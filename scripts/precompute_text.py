"""Precompute the text track's sweep that lessons 12-13 read: ``results/text.json``.

Usage::

    python scripts/precompute_text.py            # the full sweep (~15-30 min on 2 cores)
    python scripts/precompute_text.py --small    # the test setting -> results/text_small.json

Every method of :mod:`ftlib.text.finetune` on the same k-shot draw per (k, seed) (paired seeds), with the
recipe fixed before any result was seen (``ftlib.text.finetune.RECIPE``). Each row has the test accuracy
on the 1,000 test glosses, the number of trainable parameters and, for methods that start from the pretrained
model, the language-model loss of the fine-tuned backbone on held-out source glosses (forgetting). The
bag-of-words baseline is trained on the same draws. A rank sweep of LoRA runs at the largest k.
Every worker uses one thread, so results do not depend on ``--workers``. Each finished (k, seed) job is
appended to ``<out>.partial.jsonl`` at once; a run that was stopped resumes from it and skips those jobs
(the file is removed when the result is written).
"""
from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
METHODS = ["scratch", "scratch, lr ×10", "head only", "full fine-tune", "attention only", "ULMFiT",
           "BitFit", "LoRA r=4", "adapters", "prompt tuning"]
RANKS = [1, 4, 16, 64]
BASELINE = "scratch"


def options(method: str) -> tuple[str, dict]:
    if method.startswith("LoRA r="):
        return "LoRA", {"r": int(method.split("=")[1])}
    return method, {}


def job(k: int, seed: int, methods: list[str], steps: int, test_per_class: int | None,
        heldout: int | None, bow: bool = True) -> list[dict]:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    from ftlib.text import data as D
    from ftlib.text import finetune as T

    task = D.gloss_task()
    test_x, test_y = list(task.test_texts), task.test_labels
    if test_per_class is not None:
        keep = [i for c in range(task.num_classes) for i in torch.nonzero(test_y == c).flatten()[:test_per_class].tolist()]
        test_x, test_y = [test_x[i] for i in keep], test_y[keep]
    x, y = D.k_shot_texts(task, k, seed)
    recipe = T.Recipe(steps=steps)
    rows = []
    for m in methods:
        name, opts = options(m)
        started = time.perf_counter()
        r = T.run(name, x, y, seed, test=(test_x, test_y), forgetting=name not in ("scratch", "scratch, lr ×10"),
                  recipe=recipe, heldout_limit=heldout, **opts)
        r.pop("model")
        rows.append({"method": m, "k": k, "seed": seed, **r, "seconds": round(time.perf_counter() - started, 1)})
    if not bow:
        return rows
    bow = T.BagOfWords().fit(x, y)
    rows.append({"method": "bag of words", "k": k, "seed": seed, "trainable": bow.num_parameters,
                 "accuracy": bow.accuracy(test_x, test_y)})
    return rows


def _key(job: tuple, settings: dict) -> str:
    """A job's identity, settings included, so a partial file from other settings is never reused."""
    k, seed, methods, bow = job
    return json.dumps([k, seed, methods, bow, settings["steps"], settings["test_per_class"], settings["heldout"]])


def _finished_jobs(partial: Path, settings: dict) -> dict[str, list[dict]]:
    """Jobs already written to ``partial`` (a line cut short by a kill is ignored and run again)."""
    done: dict[str, list[dict]] = {}
    if partial.exists():
        for line in partial.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[entry["key"]] = entry["rows"]
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.small:
        settings = {"ks": [4], "seeds": [0, 1], "steps": 20, "test_per_class": 10, "heldout": 50,
                    "methods": ["scratch", "head only", "LoRA r=4", "prompt tuning"], "ranks": [2], "rank_k": 4}
    else:
        settings = {"ks": [4, 16, 64], "seeds": list(range(8)), "steps": 100, "test_per_class": None,
                    "heldout": 500, "methods": METHODS, "ranks": RANKS, "rank_k": 64}
    from ftlib.results import write_result
    from ftlib.text import finetune as T
    jobs = [(k, s, settings["methods"], True) for k in settings["ks"] for s in settings["seeds"]]
    jobs += [(settings["rank_k"], s, [f"LoRA r={r}" for r in settings["ranks"] if f"LoRA r={r}" not in
                                      settings["methods"]], False) for s in settings["seeds"]]
    out = args.out or ROOT / "results" / ("text_small.json" if args.small else "text.json")
    partial = out.with_suffix(".partial.jsonl")
    done = _finished_jobs(partial, settings)
    started = time.perf_counter()
    todo = [j for j in jobs if _key(j, settings) not in done]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} jobs already in {partial.name}", flush=True)
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(job, k, s, ms, settings["steps"], settings["test_per_class"], settings["heldout"], bow):
                   (k, s, ms, bow) for k, s, ms, bow in todo}
        for f in as_completed(futures):
            key = _key(futures[f], settings)
            done[key] = f.result()
            with partial.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"key": key, "rows": done[key]}) + "\n")
            print(f"{len(done)} of {len(jobs)} jobs after {time.perf_counter() - started:.0f} s", flush=True)
    rows = [r for j in jobs for r in done[_key(j, settings)]]  # in job order, whatever order they finished in
    pretrained_loss = T.source_lm_loss(T.load_gpt(), settings["heldout"])
    result = {"settings": {**settings, "recipe": T.RECIPE.__dict__, "baseline": BASELINE},
              "pretrained_source_lm_loss": pretrained_loss, "rows": rows,
              "environment": {"torch": torch.__version__}, "seconds": round(time.perf_counter() - started)}
    write_result(out, result, digits=5)
    partial.unlink(missing_ok=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
