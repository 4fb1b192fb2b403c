"""Benchmark: the overhead of ``ftlib.fit`` against a bare PyTorch loop (foundation issue).

Both loops train the same Net-B from the same initial weights on the same data with
the same batches (batch 128, Adam 1e-3, no augmentation); the script reports steps per
second of each and the relative overhead.  Run: ``python benchmarks/fit_overhead.py``
(or ``make bench``).  Target: fit costs under 5 % of throughput.  Run it on an idle
machine: other processes competing for the cores make both numbers noisy.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import ftlib


def bare_loop(model, inputs, y, steps, batch_size, seed):
    """The loop a student would write: sample, forward, loss, backward, step, log .item()."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    order = torch.randperm(len(inputs), generator=generator)
    for i in range(steps):
        start = (i * batch_size) % (len(inputs) - batch_size + 1)
        idx = order[start:start + batch_size]
        loss = F.cross_entropy(model(inputs[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("train"), range(5))
    inputs = ftlib.to_input(x)
    init = ftlib.NetB(5).state_dict()

    def fresh():
        model = ftlib.NetB(5)
        model.load_state_dict(init)
        return model

    timed(lambda: bare_loop(fresh(), inputs, y, 5, args.batch_size, 0))  # warm-up
    bare, fit = [], []
    for r in range(args.repeats):  # interleave so drifting machine load hits both equally
        bare.append(timed(lambda: bare_loop(fresh(), inputs, y, args.steps, args.batch_size, r)))
        fit.append(timed(lambda: ftlib.fit(fresh(), inputs, y, steps=args.steps, batch_size=args.batch_size,
                                           seed=r, progress=True)))
    b, f = statistics.median(bare), statistics.median(fit)
    print(f"threads: {torch.get_num_threads()}, steps: {args.steps}, batch: {args.batch_size}, repeats: {args.repeats}")
    print(f"bare PyTorch loop: {args.steps / b:7.2f} steps/s (median {b:.3f} s)")
    print(f"ftlib.fit        : {args.steps / f:7.2f} steps/s (median {f:.3f} s)")
    print(f"overhead of fit  : {100 * (f - b) / b:+.1f} % of the bare loop's time")


if __name__ == "__main__":
    main()
