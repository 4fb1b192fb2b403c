"""Trade-off explorer for lesson 07: target accuracy against source retention, one method at a time.

``tradeoff_points`` (compute, tested) gives, per method, the mean and spread over seeds of
target accuracy and of source accuracy through the old head; ``tradeoff_plot`` draws all
methods and highlights the one chosen in a dropdown.
"""
from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence


def tradeoff_points(rows: Sequence[Mapping], x: str = "source_accuracy", y: str = "accuracy") -> dict[str, dict]:
    """Per method: mean and std of ``x`` and ``y`` over seeds, and the number of seeds."""
    out = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        xs = [r[x] for r in rows if r["method"] == m]
        ys = [r[y] for r in rows if r["method"] == m]
        out[m] = {"x": statistics.fmean(xs), "y": statistics.fmean(ys), "n": len(xs),
                  "x_std": statistics.stdev(xs) if len(xs) > 1 else 0.0,
                  "y_std": statistics.stdev(ys) if len(ys) > 1 else 0.0}
    return out


def tradeoff_plot(rows: Sequence[Mapping], source_before: float):
    """A :class:`ftlib.widgets.LivePlot` of the trade-off; the dropdown highlights one method."""
    from ipywidgets import Dropdown

    from ftlib.widgets import LivePlot, new_figure

    points = tradeoff_points(rows)
    fig, ax = new_figure(8, 4.2)
    for i, (m, p) in enumerate(points.items()):
        ax.errorbar(100 * p["x"], 100 * p["y"], xerr=100 * p["x_std"], yerr=100 * p["y_std"], fmt="o",
                    color=f"C{i % 10}", capsize=2, label=m)
    ax.axvline(100 * source_before, color="k", ls=":", lw=1)
    ax.set_xlabel("source accuracy, old head (%)  — dotted: before fine-tuning")
    ax.set_ylabel("target accuracy (%)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    marker, = ax.plot([], [], "s", ms=16, mfc="none", mec="k", mew=2)
    title = ax.set_title("", fontsize=9)

    def draw(method: str = "plain") -> None:
        p = points[method]
        marker.set_data([100 * p["x"]], [100 * p["y"]])
        title.set_text(f"{method}: target {100 * p['y']:.1f} ± {100 * p['y_std']:.1f} %, source kept "
                       f"{100 * p['x']:.1f} ± {100 * p['x_std']:.1f} % (of {100 * source_before:.1f}), n={p['n']}")
    return LivePlot(fig, draw, {"method": Dropdown(options=list(points), value="plain", description="method")},
                    animated=[marker, title])


def tradeoff_explorer(rows: Sequence[Mapping], source_before: float):
    """The widget."""
    return tradeoff_plot(rows, source_before).widget()
