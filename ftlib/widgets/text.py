"""Widgets of the text track (lessons 12-13), over the precomputed sweep ``results/text.json``.

``paired_points`` (compute, tested) gives one method's paired differences against a baseline, seed by seed;
``method_points`` adds its accuracy and forgetting per seed, and ``method_plot`` shows them for the chosen
method and k (lesson 12). ``rank_points`` / ``rank_plot`` do the same for LoRA's rank: accuracy and
forgetting against r at the largest k. Lesson 12's live run is ``ftlib.widgets.text_run.TextRun``.
"""
from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence


def paired_points(rows: Sequence[Mapping], method: str, baseline: str, k: int,
                  metric: str = "accuracy") -> list[tuple[int, float]]:
    """``(seed, method − baseline)`` for every seed both ran at ``k``."""
    by = {(r["method"], r["seed"]): r[metric] for r in rows if r["k"] == k and metric in r}
    seeds = sorted(s for (m, s) in by if m == method and (baseline, s) in by)
    if not seeds:
        raise ValueError(f"no paired runs of {method!r} and {baseline!r} at k={k}")
    return [(s, by[(method, s)] - by[(baseline, s)]) for s in seeds]


def method_points(rows: Sequence[Mapping], method: str, k: int, baseline: str = "scratch",
                  pretrained_loss: float | None = None) -> dict:
    """What lesson 12's widget shows for one method at one k, seed by seed, from the sweep's rows.

    ``accuracy`` and ``baseline_accuracy`` per seed, the paired ``gain`` (method − baseline), and ``forgetting``
    (the rise of the held-out source LM loss over ``pretrained_loss``) where the method has a pretrained backbone.
    """
    pts = paired_points(rows, method, baseline, k)
    own = {r["seed"]: r for r in rows if r["method"] == method and r["k"] == k}
    base = {r["seed"]: r for r in rows if r["method"] == baseline and r["k"] == k}
    seeds = [s for s, _ in pts]
    out = {"seeds": seeds, "accuracy": [own[s]["accuracy"] for s in seeds],
           "baseline_accuracy": [base[s]["accuracy"] for s in seeds], "gain": [d for _, d in pts],
           "forgetting": None}
    if pretrained_loss is not None and all("source_lm_loss" in own[s] for s in seeds):
        out["forgetting"] = [own[s]["source_lm_loss"] - pretrained_loss for s in seeds]
    return out


def _spread(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def bar_heights(collection) -> list[float]:
    """The heights of :func:`method_plot`'s bars (vertical segments from 0), for tests."""
    return [float(seg[1][1]) for seg in collection.get_segments()]


def method_plot(rows: Sequence[Mapping], methods: Sequence[str], ks: Sequence[int], pretrained_loss: float,
                baseline: str = "scratch", reference: str = "full fine-tune"):
    """A LivePlot (lesson 12, section 6): choose a method and k; see its accuracy on every seed beside the
    baseline's on the same draw, and the rise of its language-model loss (forgetting) beside ``reference``'s."""
    from ipywidgets import Dropdown, SelectionSlider

    from ftlib.widgets import LivePlot, new_figure

    fig, (a1, a2) = new_figure(9.6, 3.2, ncols=2)
    at_k = {k: [r for r in rows if r["k"] == k] for k in ks}  # each redraw scans one k's rows, not all
    n = len({r["seed"] for r in rows if r["k"] == ks[0] and r["method"] == baseline})
    xs = list(range(n))
    # bars as one LineCollection of thick vertical segments: one artist to redraw instead of one per bar
    bars = a1.vlines(xs, 0, [0.0] * n, color="C0", lw=16, label="chosen method")
    base_marks, = a1.plot(xs, [0.0] * n, "_", color="k", ms=22, mew=2.5, label=baseline)
    a1.set_xticks(xs)
    a1.set_xlabel("seed (the same k-shot draw for both)")
    a1.set_ylabel("test accuracy (%)")
    a1.set_ylim(0, 100)
    a1.axhline(20, color="0.5", lw=0.8, ls=":")
    a1.legend(fontsize=9, loc="upper left", ncols=2)
    fbars = a2.vlines(xs, 0, [0.0] * n, color="C1", lw=16, label="chosen method")
    ref_line = a2.axhline(0.0, color="k", ls="--", label=f"{reference} (mean)")
    a2.set_xticks(xs)
    a2.set_xlabel("seed")
    a2.set_ylabel("forgetting: LM loss rise (nats)")
    top = max((r["source_lm_loss"] - pretrained_loss for r in rows if "source_lm_loss" in r), default=1.0)
    a2.set_ylim(0, 1.1 * top)
    a2.legend(fontsize=9, loc="upper right")
    none_text = a2.text(0.5, 0.5, "", ha="center", va="center", transform=a2.transAxes, fontsize=11)
    title1, title2 = a1.set_title("", fontsize=10), a2.set_title("", fontsize=10)

    def draw(method: str = methods[0], k: int = ks[0]) -> dict:
        p = method_points(at_k[k], method, k, baseline, pretrained_loss)
        bars.set_segments([[(x, 0), (x, 100 * a)] for x, a in zip(xs, p["accuracy"])])
        base_marks.set_ydata([100 * a for a in p["baseline_accuracy"]])
        mean, sd = _spread(p["accuracy"])
        gain = statistics.fmean(p["gain"])
        title1.set_text(f"{method}, k={k}: {100 * mean:.1f} ± {100 * sd:.1f} %; vs {baseline} "
                        f"{100 * gain:+.1f} points, {sum(d > 0 for d in p['gain'])}/{len(p['gain'])} seeds won")
        ref = method_points(at_k[k], reference, k, baseline, pretrained_loss)["forgetting"]
        ref_line.set_ydata([statistics.fmean(ref)] * 2)
        if p["forgetting"] is None:
            fbars.set_segments([[(x, 0), (x, 0)] for x in xs])
            none_text.set_text(f"{method} has no pretrained backbone:\nnothing to forget")
            title2.set_text(f"{reference}: +{statistics.fmean(ref):.2f} nats")
        else:
            fbars.set_segments([[(x, 0), (x, f)] for x, f in zip(xs, p["forgetting"])])
            none_text.set_text("")
            title2.set_text(f"{method}: {statistics.fmean(p['forgetting']):+.2f} nats; "
                            f"{reference}: {statistics.fmean(ref):+.2f}")
        return p
    return LivePlot(fig, draw, {"method": Dropdown(options=list(methods), value=methods[0], description="method"),
                                "k": SelectionSlider(options=list(ks), value=ks[0], description="k per class")},
                    animated=[bars, base_marks, fbars, ref_line, none_text, title1, title2])


def method_explorer(rows: Sequence[Mapping], methods: Sequence[str], ks: Sequence[int], pretrained_loss: float,
                    baseline: str = "scratch"):
    """The widget of lesson 12: accuracy with its seed spread, and forgetting, per method and k."""
    return method_plot(rows, methods, ks, pretrained_loss, baseline).widget()


def rank_points(rows: Sequence[Mapping], k: int) -> dict[int, dict]:
    """Per LoRA rank at ``k``: trainable parameters and mean accuracy and source LM loss over seeds."""
    out = {}
    for r in rows:
        if r["k"] == k and r["method"].startswith("LoRA r="):
            out.setdefault(int(r["method"].split("=")[1]), []).append(r)
    return {rank: {"trainable": rs[0]["trainable"], "n": len(rs),
                   "accuracy": statistics.fmean(x["accuracy"] for x in rs),
                   "source_lm_loss": statistics.fmean(x["source_lm_loss"] for x in rs)}
            for rank, rs in sorted(out.items())}


def rank_plot(rows: Sequence[Mapping], k: int, full: Mapping, pretrained_loss: float):
    """A LivePlot: accuracy and forgetting against LoRA's rank, the chosen rank marked (lesson 13).

    ``full`` holds full fine-tuning's mean ``accuracy`` and ``source_lm_loss`` at ``k`` (the dashed lines);
    ``pretrained_loss`` is the source LM loss before fine-tuning, so the right panel shows the increase.
    """
    from ipywidgets import SelectionSlider

    from ftlib.widgets import LivePlot, new_figure

    pts = rank_points(rows, k)
    if not pts:
        raise ValueError(f"no LoRA rank sweep at k={k}: the rows hold methods named 'LoRA r=<rank>' at other k")
    ranks = list(pts)
    fig, (a1, a2) = new_figure(10, 3.4, ncols=2)
    a1.plot(ranks, [100 * pts[r]["accuracy"] for r in ranks], "o-", label="LoRA")
    a1.axhline(100 * full["accuracy"], color="k", ls="--", label="full fine-tune")
    a2.plot(ranks, [pts[r]["source_lm_loss"] - pretrained_loss for r in ranks], "o-", label="LoRA")
    a2.axhline(full["source_lm_loss"] - pretrained_loss, color="k", ls="--", label="full fine-tune")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("rank r (α = 2r)")
        ax.legend(fontsize=8)
    a1.set_ylabel(f"test accuracy at k={k} (%)")
    a2.set_ylabel("forgetting: source LM loss − before")
    m1, = a1.plot([], [], "s", ms=14, mfc="none", mec="k", mew=2)
    m2, = a2.plot([], [], "s", ms=14, mfc="none", mec="k", mew=2)
    title = fig.suptitle("", fontsize=10)

    def draw(r: int = ranks[0]) -> None:
        p = pts[r]
        m1.set_data([r], [100 * p["accuracy"]])
        m2.set_data([r], [p["source_lm_loss"] - pretrained_loss])
        title.set_text(f"r={r}: {p['trainable']:,} trainable parameters, accuracy {100 * p['accuracy']:.1f} %, "
                       f"forgetting {p['source_lm_loss'] - pretrained_loss:+.3f} nats (mean of {p['n']} seeds)")
    return LivePlot(fig, draw, {"r": SelectionSlider(options=ranks, value=ranks[0], description="rank r")},
                    animated=[m1, m2, title])


def rank_explorer(rows: Sequence[Mapping], k: int, full: Mapping, pretrained_loss: float):
    """The widget of lesson 13."""
    return rank_plot(rows, k, full, pretrained_loss).widget()
