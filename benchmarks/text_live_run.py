"""How long lesson 12's live fine-tuning run takes, from pressing **train** to the result line.

Usage: python benchmarks/text_live_run.py [--methods M ...] [--ks K ...] [--repeat R]

Times ``TextRun.train`` (``ftlib.widgets.text_run``) with its widget shown, so the progress bar, the status
line and the loss-curve redraws are included: the k-shot draw, setup, the live recipe's 40 guarded steps of 16
definitions and testing on the 1,000 test definitions. The course's limit for a run a student starts is 10 s (docs/AUTHORING.md); the lesson
opens on full fine-tuning at k = 16. Prints the median of R runs per (method, k); exit status 1 when a median
is over the limit. For comparison (not judged) it also times one run with the sweep's own recipe, which is why
the live run has a quicker one. What is not measured: sending the widget updates to the browser.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LIMIT_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="*", default=["full fine-tune", "ULMFiT", "head only"])
    parser.add_argument("--ks", nargs="*", type=int, default=[16, 64])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    from ftlib.text import data as D
    from ftlib.widgets.text_run import TextRun

    task = D.gloss_task()
    run = TextRun(task, args.methods, args.ks)
    run.widget()
    run.train(args.methods[0], args.ks[0])  # warm-up: first loads of the model, tokenizer and data
    print(f"torch threads: {torch.get_num_threads()}; limit {LIMIT_S:.0f} s per run")
    print(f"{'method':<18}{'k':>4}{'median s':>10}{'max s':>8}  verdict")
    over = 0
    for method in args.methods:
        for k in args.ks:
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                run.train(method, k)
                times.append(time.perf_counter() - start)
            med = statistics.median(times)
            over += med > LIMIT_S
            print(f"{method:<18}{k:>4}{med:>10.1f}{max(times):>8.1f}  {'ok' if med <= LIMIT_S else 'OVER'}",
                  flush=True)
    from ftlib.text import finetune as T
    sweep_run = TextRun(task, [args.methods[0]], [args.ks[0]], recipe=T.RECIPE)
    start = time.perf_counter()
    sweep_run.train()
    print(f"for comparison, the sweep's recipe ({T.RECIPE.steps} steps of {T.RECIPE.batch_size}): "
          f"{args.methods[0]}, k={args.ks[0]}: {time.perf_counter() - start:.1f} s (not judged)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
