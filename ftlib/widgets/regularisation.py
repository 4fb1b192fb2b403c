"""λ explorer for lesson 06: pick a penalty and its strength, see the measured effect.

``lambda_table`` (compute, tested) turns the rows of ``results/regularisation.json`` into
one entry per λ with the mean target accuracy, its spread and the paired difference to
plain fine-tuning (λ = 0); ``lambda_plot`` draws both curves and highlights the chosen λ.
"""
from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence


def lambda_table(rows: Sequence[Mapping], family: str, metric: str = "accuracy") -> list[dict]:
    """Per λ of ``family`` ("weight_decay" or "l2_sp"), plus λ=0 = plain: mean, std, paired diff, wins."""
    plain = {r["seed"]: r[metric] for r in rows if r["family"] == "plain"}
    if not plain:
        raise ValueError("the rows have no 'plain' baseline")
    lams = sorted({r["lam"] for r in rows if r["family"] == family})
    if not lams:
        raise ValueError(f"no rows for family {family!r}")
    out = [{"lam": 0.0, "mean": statistics.fmean(plain.values()), "std": statistics.stdev(plain.values()),
            "diff": 0.0, "wins": 0, "n": len(plain)}]
    for lam in lams:
        vals = {r["seed"]: r[metric] for r in rows if r["family"] == family and r["lam"] == lam}
        diffs = [vals[s] - plain[s] for s in vals if s in plain]
        out.append({"lam": lam, "mean": statistics.fmean(vals.values()),
                    "std": statistics.stdev(vals.values()) if len(vals) > 1 else 0.0,
                    "diff": statistics.fmean(diffs), "wins": sum(d > 0 for d in diffs), "n": len(diffs)})
    return out


PLAIN_AT = 3e-5  # where λ = 0 (plain fine-tuning) is drawn on the log-scale λ axis


def lambda_plot(rows: Sequence[Mapping]):
    """A :class:`ftlib.widgets.LivePlot`: accuracy against λ for both penalties; a slider picks λ."""
    from ipywidgets import Dropdown, SelectionSlider

    from ftlib.widgets import LivePlot, new_figure

    tables = {f: lambda_table(rows, f) for f in ("weight_decay", "l2_sp")}
    fig, ax = new_figure(7.5, 3.4)
    for i, (family, table) in enumerate(tables.items()):
        xs = [t["lam"] if t["lam"] > 0 else PLAIN_AT for t in table]  # λ = 0 drawn at PLAIN_AT (log axis)
        ax.errorbar(xs, [100 * t["mean"] for t in table], [100 * t["std"] for t in table], fmt="o-",
                    color=f"C{i}", capsize=3, label=family.replace("_", "-"))
    ax.set_xscale("log")
    ax.set_xlabel("λ  (leftmost point, at 3e-5: λ = 0, plain fine-tuning)")
    ax.set_ylabel("target accuracy (%)")
    ax.legend(loc="lower left")
    marker, = ax.plot([], [], "s", ms=14, mfc="none", mec="k", mew=2)
    title = ax.set_title("")
    all_lams = sorted({t["lam"] for table in tables.values() for t in table if t["lam"] > 0})

    def draw(family: str = "l2_sp", lam: float = all_lams[0]) -> None:
        table = {t["lam"]: t for t in tables[family]}
        t = table.get(lam)
        if t is None:
            marker.set_data([], [])
            title.set_text(f"{family}: λ={lam:g} was not measured")
            return
        marker.set_data([lam], [100 * t["mean"]])
        title.set_text(f"{family} λ={lam:g}: {100 * t['mean']:.1f} ± {100 * t['std']:.1f} %, "
                       f"vs plain {100 * t['diff']:+.1f} points, wins {t['wins']}/{t['n']}")
    sliders = {"family": Dropdown(options=list(tables), value="l2_sp", description="penalty"),
               "lam": SelectionSlider(options=all_lams, value=all_lams[0], description="λ")}
    return LivePlot(fig, draw, sliders, animated=[marker, title])


def lambda_explorer(rows: Sequence[Mapping]):
    """The widget."""
    return lambda_plot(rows).widget()
