"""Median callback time of every slider of the lessons' widgets: compute + draw + PNG, no browser.

Usage: python benchmarks/widget_latency.py [--positions N] [--repeat R] [--only NAME ...]

Each widget is a :class:`ftlib.widgets.LivePlot`; a slider move costs exactly one
``LivePlot.render(**{slider: value})``.  For every slider of every registered widget this
sweeps the slider over up to N of its positions (the other sliders at their defaults), R
times, and prints the median and the 90th percentile against the 50 ms budget
(docs/AUTHORING.md).  What is *not* measured: sending the PNG to the browser and painting it.

To add a lesson's widgets, add ``"lesson/widget": factory`` to ``WIDGETS`` (a factory takes no
arguments and returns a LivePlot; expensive set-up such as precomputed training belongs in
the factory, which is not timed).  Exit status 1 when a median is over budget.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ftlib.widgets import LivePlot, slider_values  # noqa: E402

BUDGET_MS = 50.0


def _descent() -> LivePlot:
    from ftlib.widgets.descent import descent_plot
    return descent_plot()


def _momentum() -> LivePlot:
    from ftlib.widgets.descent import momentum_plot
    return momentum_plot()


def _logits() -> LivePlot:
    from ftlib.widgets.softmax import logits_plot
    return logits_plot()


def _softmax_regression() -> LivePlot:
    from ftlib.widgets.softmax import precompute_runs, softmax_plot
    return softmax_plot(precompute_runs())  # the same settings as lesson 02


def _occlusion() -> LivePlot:
    import ftlib
    from ftlib.widgets.evaluation import occlusion_maps, occlusion_plot
    x, y = ftlib.load_fashion_mnist("test", classes=range(5, 10))
    model = ftlib.load_pretrained(num_classes=5)
    return occlusion_plot(occlusion_maps(model, x[::250][:8], y[::250][:8] - 5), ftlib.CLASS_NAMES[5:])


def _serving_skew() -> LivePlot:
    import ftlib
    from ftlib.widgets.deployment import skew_plot, skew_table
    x, y = ftlib.load_fashion_mnist("test", classes=range(5, 10))
    x, y = x[::5], y[::5] - 5
    return skew_plot(skew_table(ftlib.load_pretrained(num_classes=5), x, y), y, ftlib.CLASS_NAMES[5:])


def _lambda() -> LivePlot:
    from ftlib.forgetting import load_result
    from ftlib.widgets.regularisation import lambda_plot
    return lambda_plot(load_result("regularisation_lambda")["rows"])


def _tradeoff() -> LivePlot:
    from ftlib.forgetting import load_result
    from ftlib.widgets.forgetting import tradeoff_plot
    return tradeoff_plot(load_result("forgetting")["rows"], 0.948)


def _shift() -> LivePlot:
    from ftlib import load_fashion_mnist, load_pretrained
    from ftlib.forgetting import stratified_head
    from ftlib.widgets.domain import shift_plot
    return shift_plot(load_pretrained("netb_all10"), *stratified_head(*load_fashion_mnist("test"), 5))


def _features() -> LivePlot:
    import ftlib
    from ftlib.widgets.features import feature_plot
    x, _ = ftlib.load_fashion_mnist("test", classes=range(5, 10))
    return feature_plot(ftlib.load_pretrained(), x[::250][:8])


def _freezing() -> LivePlot:
    import ftlib
    from ftlib.widgets.freezing import freezing_plot
    return freezing_plot(ftlib.load_pretrained(num_classes=5))


def _method_and_k() -> LivePlot:
    from ftlib.results import load_result
    from ftlib.widgets.text import method_plot
    sweep = load_result("text")
    methods = ["scratch, lr ×10", "head only", "full fine-tune", "attention only", "ULMFiT", "bag of words"]
    return method_plot(sweep["rows"], methods, sweep["settings"]["ks"], sweep["pretrained_source_lm_loss"])


WIDGETS: dict[str, Callable[[], LivePlot]] = {
    "01/learning rate explorer": _descent,
    "01/momentum explorer": _momentum,
    "02/logits explorer": _logits,
    "02/softmax regression lr": _softmax_regression,
    "09/occlusion": _occlusion,
    "10/serving skew": _serving_skew,
    "03/feature explorer": _features,
    "04/freezing explorer": _freezing,
    "06/lambda": _lambda,
    "07/tradeoff": _tradeoff,
    "08/shift": _shift,
    "12/method and k": _method_and_k,
}


def time_slider(plot: LivePlot, name: str, positions: int, repeat: int) -> list[float]:
    """Milliseconds per render while sweeping one slider (the others keep their values)."""
    values = slider_values(plot.sliders[name], positions)
    plot.render(**{name: values[0]})  # warm-up: first draw, background, caches
    times = []
    for _ in range(repeat):
        for v in values:
            start = time.perf_counter()
            plot.render(**{name: v})
            times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=15, help="slider positions per sweep")
    parser.add_argument("--repeat", type=int, default=2, help="sweeps per slider")
    parser.add_argument("--only", nargs="*", default=None, help="substrings of widget names to run")
    args = parser.parse_args(argv)
    import torch

    print(f"torch threads: {torch.get_num_threads()}; budget {BUDGET_MS:.0f} ms median per slider move")
    print(f"{'widget':<30}{'slider':<10}{'moves':>6}{'median ms':>11}{'p90 ms':>9}  verdict")
    over = 0
    for label, factory in WIDGETS.items():
        if args.only and not any(s in label for s in args.only):
            continue
        plot = factory()
        for name in plot.sliders:
            times = time_slider(plot, name, args.positions, args.repeat)
            med = statistics.median(times)
            p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
            ok = med <= BUDGET_MS
            over += not ok
            print(f"{label:<30}{name:<10}{len(times):>6}{med:>11.1f}{p90:>9.1f}  {'ok' if ok else 'OVER'}",
                  flush=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
