"""Widgets of lesson 01: the learning-rate explorer and the momentum explorer on an elongated bowl.

The learning rate η has a log slider *and* a number box next to it: a typed η (0.21, just
above 2/L = 0.2) is used exactly, the slider moving to its nearest position
(:class:`ftlib.widgets.ExactEntry`); the verdict is also written under the figure.
``descent_view`` / ``momentum_view`` compute what is shown (tested in tests/), ``*_plot``
build a :class:`ftlib.widgets.LivePlot` (one figure redrawn in place), and ``*_widget``
return the ipywidgets control.
"""
from __future__ import annotations

import numpy as np
import torch

from ftlib.descent import Quadratic, diverged, gradient_descent, stable_lr_threshold
from ftlib.widgets import LivePlot, new_figure

BOWL_CURVATURES = (1.0, 10.0)   # an elongated bowl: curvature 1 along θ₁, 10 along θ₂
START = (-4.0, 1.5)
EXTENT = (-5.0, 5.0, -2.5, 2.5)


def default_bowl() -> Quadratic:
    return Quadratic.bowl(BOWL_CURVATURES)


def descent_view(lr: float, steps: int, problem: Quadratic | None = None,
                 start: tuple[float, float] = START, momentum: float = 0.0) -> dict:
    """Run gradient descent on the bowl; return the path, the losses and what happened."""
    problem = problem or default_bowl()
    path = gradient_descent(problem.grad, torch.tensor(start), lr, steps, momentum=momentum)
    losses = problem.loss(path)  # one batched call for the whole path
    threshold = stable_lr_threshold(problem.L)
    bad = diverged(path) or bool(losses[-1] > losses[0])  # blew up, or ends higher than it started
    # the steep direction θ₂ flips sign every step when 1/L < lr (on an axis-aligned bowl)
    oscillating = not bad and momentum == 0.0 and lr > 1.0 / problem.L
    verdict = "diverges" if bad else "oscillates and converges" if oscillating else "converges"
    return {"path": path.numpy(), "losses": losses.numpy(), "lr": lr, "threshold": threshold,
            "diverged": bad, "verdict": verdict, "momentum": momentum}


def _bowl_axes(ax, problem: Quadratic) -> None:
    xs = torch.linspace(EXTENT[0], EXTENT[1], 120)
    ys = torch.linspace(EXTENT[2], EXTENT[3], 80)
    Z = problem.loss_grid(xs, ys).numpy()
    ax.contour(xs.numpy(), ys.numpy(), Z, levels=np.geomspace(0.05, 60, 12), cmap="viridis",
               linewidths=0.8)
    ax.plot(*problem.minimum.numpy(), "k*", ms=10)
    ax.set_xlim(EXTENT[0], EXTENT[1])
    ax.set_ylim(EXTENT[2], EXTENT[3])
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")


def _loss_axes(ax, max_steps: int) -> None:
    ax.set_yscale("log")
    ax.set_xlim(0, max_steps)
    ax.set_ylim(1e-6, 1e4)
    ax.set_xlabel("step")
    ax.set_ylabel("loss J(θ)")
    ax.grid(alpha=0.3)


def descent_plot(problem: Quadratic | None = None, max_steps: int = 100) -> LivePlot:
    """The learning-rate explorer: path on the contour plot (left) and loss per step (right)."""
    import ipywidgets as widgets

    problem = problem or default_bowl()
    fig, (ax_path, ax_loss) = new_figure(9.5, 3.6, ncols=2)
    _bowl_axes(ax_path, problem)
    (path_line,) = ax_path.plot([], [], "o-", color="tab:red", ms=3, lw=1.2)
    _loss_axes(ax_loss, max_steps)
    (loss_line,) = ax_loss.plot([], [], color="tab:red")
    threshold = stable_lr_threshold(problem.L)

    def draw(lr: float, steps: int) -> dict:
        view = descent_view(lr, steps, problem)
        path_line.set_data(view["path"][:, 0], view["path"][:, 1])
        loss_line.set_data(np.arange(steps + 1), np.clip(view["losses"], 1e-12, 1e12))
        ax_path.set_title(f"η = {lr:.4g}  (2/L = {threshold:.3g}): {view['verdict']}")
        ax_loss.set_title(f"final loss {view['losses'][-1]:.3g}")
        return view

    sliders = {
        "lr": widgets.FloatLogSlider(value=0.05, base=10, min=-3, max=0, step=0.05,
                                     description="learning rate η", readout_format=".3g",
                                     style={"description_width": "initial"},
                                     layout=widgets.Layout(width="480px")),
        "steps": widgets.IntSlider(value=40, min=1, max=max_steps, description="steps",
                                   layout=widgets.Layout(width="480px")),
    }
    return LivePlot(fig, draw, sliders, [path_line, loss_line, ax_path.title, ax_loss.title],
                    exact=["lr"], caption=descent_caption)


def descent_caption(view: dict) -> str:
    """The verdict in words, under the figure: 'η = 0.21 (2/L = 0.2): diverges'."""
    return f"η = {view['lr']:.4g}  (2/L = {view['threshold']:.4g}): {view['verdict']}"


def descent_widget(problem: Quadratic | None = None):
    """Learning-rate slider (log scale) with a box for an exact η, and the number of steps."""
    return descent_plot(problem).widget()


def momentum_view(beta: float, steps: int, lr: float = 0.02, problem: Quadratic | None = None,
                  start: tuple[float, float] = START, plain: dict | None = None) -> dict:
    """Heavy-ball momentum with coefficient β next to plain gradient descent at the same η.

    ``plain`` may be a longer, precomputed ``descent_view`` of plain GD (the widget computes it
    once, since it does not depend on β); it is cut to ``steps``.
    """
    view = descent_view(lr, steps, problem, start, momentum=beta)
    if plain is None or len(plain["path"]) < steps + 1:
        plain = descent_view(lr, steps, problem, start, momentum=0.0)
    view["plain_path"], view["plain_losses"] = plain["path"][:steps + 1], plain["losses"][:steps + 1]
    return view


def momentum_plot(problem: Quadratic | None = None, lr: float = 0.02, max_steps: int = 150) -> LivePlot:
    """The momentum explorer: β slider; plain GD (grey) against momentum (red) at the same η."""
    import ipywidgets as widgets

    problem = problem or default_bowl()
    fig, (ax_path, ax_loss) = new_figure(9.5, 3.6, ncols=2)
    _bowl_axes(ax_path, problem)
    (plain_path,) = ax_path.plot([], [], ".-", color="0.55", ms=2, lw=0.8, label="β = 0")
    (mom_path,) = ax_path.plot([], [], ".-", color="tab:red", ms=2, lw=1.0, label="momentum")
    ax_path.legend(loc="lower right", fontsize=8)
    _loss_axes(ax_loss, max_steps)
    (plain_loss,) = ax_loss.plot([], [], color="0.55", label="β = 0")
    (mom_loss,) = ax_loss.plot([], [], color="tab:red", label="momentum")
    ax_loss.legend(loc="upper right", fontsize=8)

    plain = descent_view(lr, max_steps, problem)  # β = 0 does not depend on the slider

    def draw(beta: float, steps: int) -> dict:
        view = momentum_view(beta, steps, lr, problem, plain=plain)
        t = np.arange(steps + 1)
        plain_path.set_data(view["plain_path"][:, 0], view["plain_path"][:, 1])
        mom_path.set_data(view["path"][:, 0], view["path"][:, 1])
        plain_loss.set_data(t, np.clip(view["plain_losses"], 1e-12, 1e12))
        mom_loss.set_data(t, np.clip(view["losses"], 1e-12, 1e12))
        ax_path.set_title(f"η = {lr:g}, β = {beta:.2f}")
        ax_loss.set_title(f"final loss: β=0 {view['plain_losses'][-1]:.2g}, "
                          f"β={beta:.2f} {view['losses'][-1]:.2g}")
        return view

    sliders = {
        "beta": widgets.FloatSlider(value=0.8, min=0.0, max=0.99, step=0.01, description="momentum β",
                                    style={"description_width": "initial"},
                                    layout=widgets.Layout(width="480px")),
        "steps": widgets.IntSlider(value=80, min=1, max=max_steps, description="steps",
                                   layout=widgets.Layout(width="480px")),
    }
    return LivePlot(fig, draw, sliders, [plain_path, mom_path, plain_loss, mom_loss,
                                         ax_path.title, ax_loss.title])


def momentum_widget(problem: Quadratic | None = None, lr: float = 0.02):
    """Momentum slider β and number of steps at a fixed learning rate."""
    return momentum_plot(problem, lr).widget()
