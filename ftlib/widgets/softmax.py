"""Widgets of lesson 02: the logits explorer and the softmax-regression learning-rate explorer.

``logits_view`` and ``lookup_run`` compute what is shown (tested in tests/); ``*_plot`` build a
:class:`ftlib.widgets.LivePlot`; ``*_widget`` return the ipywidgets control.  Softmax regression
is trained *once* for every position of the learning-rate slider (all runs batched together,
about a second), so a slider move only looks the run up and redraws.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ftlib.softmax import SoftmaxRun, cross_entropy, fashion_rows, grad_logits, lr_grid, softmax, \
    train_softmax_regression
from ftlib.widgets import LivePlot, new_figure

CLASSES3 = ("cat", "dog", "bird")


def logits_view(z1: float, z2: float, z3: float, target: int) -> dict:
    """Probabilities, loss −log p_target and gradient p − y for three logits."""
    z = torch.tensor([z1, z2, z3], dtype=torch.float64)
    y = torch.tensor(target)
    p = softmax(z)
    return {"probs": p.numpy(), "loss": float(cross_entropy(z, y)),
            "grad": grad_logits(z, y).numpy(), "target": int(target)}


def logits_plot(names: tuple[str, str, str] = CLASSES3) -> LivePlot:
    """Three logit sliders and a true-class choice; bars for p and for ∂L/∂z = p − y."""
    import ipywidgets as widgets

    fig, (ax_p, ax_g) = new_figure(8.5, 3.0, ncols=2)
    x = np.arange(3)
    p_bars = ax_p.bar(x, [1 / 3] * 3, color="tab:blue")
    g_bars = ax_g.bar(x, [0.0] * 3, color="tab:orange")
    for ax in (ax_p, ax_g):
        ax.set_xticks(x, names)
    ax_p.set_ylim(0, 1)
    ax_p.set_ylabel("probability p")
    ax_g.set_ylim(-1, 1)
    ax_g.axhline(0, color="k", lw=0.8)
    ax_g.set_ylabel("gradient p − y")
    ax_g.set_title("∂L/∂z = p − y   (gradient descent moves z against it)", fontsize=9)
    labels = [ax_p.text(i, 0.02, "", ha="center", va="bottom", fontsize=9) for i in x]

    def draw(z1: float, z2: float, z3: float, target: int) -> dict:
        view = logits_view(z1, z2, z3, target)
        for i, (pb, gb) in enumerate(zip(p_bars, g_bars)):
            pb.set_height(view["probs"][i])
            pb.set_color("tab:green" if i == target else "tab:blue")
            gb.set_height(view["grad"][i])
            labels[i].set_text(f"{view['probs'][i]:.3f}")
        ax_p.set_title(f"true class: {names[target]}   loss −log p = {view['loss']:.3f}", fontsize=10)
        return view

    def slider(name: str, value: float):
        return widgets.FloatSlider(value=value, min=-6.0, max=6.0, step=0.1, description=name,
                                   continuous_update=True)

    sliders = {"z1": slider(f"z ({names[0]})", 2.0), "z2": slider(f"z ({names[1]})", 1.0),
               "z3": slider(f"z ({names[2]})", -1.0),
               "target": widgets.ToggleButtons(options=[(n, i) for i, n in enumerate(names)],
                                               value=0, description="true class")}
    return LivePlot(fig, draw, sliders, [*p_bars, *g_bars, *labels, ax_p.title])


def logits_widget(names: tuple[str, str, str] = CLASSES3):
    """The logits explorer: move the logits, watch probabilities, loss and gradient."""
    return logits_plot(names).widget()


LR_GRID = lr_grid(-3.0, 1.0, 1 / 3)  # 13 slider positions from 0.001 to 10


def precompute_runs(n_train: int = 1000, n_test: int = 1000, steps: int = 60,
                    lrs: list[float] | None = None, seed: int = 0) -> list[SoftmaxRun]:
    """Softmax regression on a Fashion-MNIST subset for every learning rate of the slider."""
    x, y, xt, yt = fashion_rows(n_train, n_test, seed)
    return train_softmax_regression(x, y, lrs or LR_GRID, steps, x_test=xt, y_test=yt)


def lookup_run(runs: list[SoftmaxRun], lr: float) -> SoftmaxRun:
    """The precomputed run whose learning rate is nearest to ``lr`` on a log scale."""
    return min(runs, key=lambda r: abs(math.log10(r.lr) - math.log10(lr)))


def verdict(run: SoftmaxRun, runs: list[SoftmaxRun]) -> str:
    """'too small', 'about right' or 'too large', judged against the other runs of the grid."""
    best = min(runs, key=lambda r: r.train_loss[-1])
    if max(run.train_loss) > run.train_loss[0]:
        return "too large (the loss jumps up)"
    if run.train_loss[-1] <= 1.2 * best.train_loss[-1]:
        return "about right"
    return "too small (the loss falls slowly)" if run.lr < best.lr else "too large"


def softmax_plot(runs: list[SoftmaxRun]) -> LivePlot:
    """Learning-rate slider over the precomputed runs; loss (left) and accuracy (right) per step."""
    import ipywidgets as widgets

    steps = len(runs[0].train_loss) - 1
    fig, (ax_l, ax_a) = new_figure(9.5, 3.4, ncols=2)
    t = np.arange(steps + 1)
    (loss_line,) = ax_l.plot(t, runs[0].train_loss, color="tab:red")
    ax_l.set_yscale("log")
    ax_l.set_ylim(0.3, 300)
    ax_l.set_xlim(0, steps)
    ax_l.axhline(math.log(10), color="0.5", ls=":", lw=1)
    ax_l.set_xlabel("full-batch step")
    ax_l.set_ylabel("training loss")
    ax_l.grid(alpha=0.3)
    (train_acc,) = ax_a.plot(t, runs[0].train_acc, color="tab:blue", label="train")
    (test_acc,) = ax_a.plot(t, runs[0].test_acc, color="tab:green", label="test")
    ax_a.set_ylim(0, 1)
    ax_a.set_xlim(0, steps)
    ax_a.set_xlabel("full-batch step")
    ax_a.set_ylabel("accuracy")
    ax_a.grid(alpha=0.3)
    ax_a.legend(loc="lower right", fontsize=8)
    lrs = [r.lr for r in runs]
    exps = [math.log10(v) for v in lrs]

    def draw(lr: float) -> SoftmaxRun:
        run = lookup_run(runs, lr)
        loss_line.set_ydata(run.train_loss)
        train_acc.set_ydata(run.train_acc)
        test_acc.set_ydata(run.test_acc)
        ax_l.set_title(f"η = {run.lr:.3g}: {verdict(run, runs)}", fontsize=10)
        ax_a.set_title(f"final test accuracy {run.test_acc[-1]:.3f}", fontsize=10)
        return run

    step = (exps[-1] - exps[0]) / (len(exps) - 1) if len(exps) > 1 else 1.0
    sliders = {"lr": widgets.FloatLogSlider(value=lookup_run(runs, 0.1).lr, base=10, min=exps[0],
                                            max=exps[-1], step=step, description="learning rate η",
                                            readout_format=".3g", style={"description_width": "initial"},
                                            layout=widgets.Layout(width="480px"))}
    return LivePlot(fig, draw, sliders, [loss_line, train_acc, test_acc, ax_l.title, ax_a.title])



def softmax_widget(runs: list[SoftmaxRun] | None = None):
    """The softmax-regression explorer (trains the grid first when ``runs`` is not given)."""
    return softmax_plot(runs or precompute_runs()).widget()
