"""Widgets of the lessons: a plain *compute* function, a *draw* step, and a thin ipywidgets wrapper.

Each lesson's widgets live in a module named by concept (``ftlib.widgets.descent``,
``ftlib.widgets.softmax``, ...).  :class:`LivePlot` is the shared piece: one matplotlib
figure, created once and redrawn in place on every slider move (creating a new figure per
move is what makes widgets slow), rendered to PNG and shown in the widget's output area.

``LivePlot.render(**values)`` is exactly what a slider move costs (compute + draw + PNG), so
``benchmarks/widget_latency.py`` times it without a browser.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["LivePlot", "new_figure", "slider_values"]


def new_figure(width: float, height: float, ncols: int = 1, dpi: int = 80):
    """A matplotlib Figure that pyplot does not manage (so it is never shown twice), with axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


class LivePlot:
    """A figure plus the function that redraws it from slider values.

    ``draw(**values)`` updates the artists of ``fig`` in place; ``sliders`` maps each keyword of
    ``draw`` to its ipywidgets control.  ``animated`` lists the artists that ``draw`` changes
    (lines, titles): everything else (axes, ticks, contours) is drawn once and kept as a
    background bitmap, and a slider move only redraws the animated artists on top of it
    ("blitting") — several times faster than redrawing the whole figure.  With no ``animated``
    artists the whole figure is redrawn every time.  ``widget()`` wraps it in ``ipywidgets.interactive``.
    """

    def __init__(self, fig, draw: Callable[..., Any], sliders: dict[str, Any],
                 animated: Sequence[Any] = ()) -> None:
        self.fig, self.draw, self.sliders, self.animated = fig, draw, sliders, list(animated)
        self._canvas = None
        self._background = None

    def _setup(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self._canvas = FigureCanvasAgg(self.fig)
        self.draw(**{name: s.value for name, s in self.sliders.items()})  # titles in place for layout
        for artist in self.animated:
            artist.set_animated(True)
        self._canvas.draw()
        self.fig.set_layout_engine("none")  # freeze the layout so the background stays valid
        if self.animated:
            self._background = self._canvas.copy_from_bbox(self.fig.bbox)

    def render(self, **values: Any) -> bytes:
        """Redraw for ``values`` (missing ones take the sliders' current values); return PNG bytes."""
        from PIL import Image

        if self._canvas is None:
            self._setup()
        kwargs = {name: s.value for name, s in self.sliders.items()}
        kwargs.update(values)
        self.draw(**kwargs)
        if self._background is not None:
            self._canvas.restore_region(self._background)
            for artist in self.animated:
                self.fig.draw_artist(artist)
        else:
            self._canvas.draw()
        image = Image.frombuffer("RGBA", self._canvas.get_width_height(), self._canvas.buffer_rgba())
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def _show(self, **values: Any) -> None:
        from IPython.display import Image, display

        display(Image(data=self.render(**values), format="png"))

    def widget(self):
        """The interactive widget: the sliders above, the figure below (redrawn on every move)."""
        import ipywidgets as widgets

        return widgets.interactive(self._show, **self.sliders)


def slider_values(slider: Any, limit: int = 40) -> list:
    """Every position a slider can take (at most ``limit`` of them, evenly spread) — for benchmarks."""
    import numpy as np

    if hasattr(slider, "options") and getattr(slider, "options", None):
        values = [v[1] if isinstance(v, tuple) else v for v in slider.options]
        return values[:limit]
    if isinstance(slider.value, bool):  # a Checkbox or ToggleButton
        return [False, True]
    n = int(round((slider.max - slider.min) / slider.step)) + 1
    positions = slider.min + slider.step * np.arange(n)
    if hasattr(slider, "base"):  # FloatLogSlider: min/max/step are exponents
        values = [float(slider.base ** p) for p in positions]
    elif isinstance(slider.value, int):
        values = [int(p) for p in positions]
    else:
        values = [float(p) for p in positions]
    if len(values) > limit:
        values = [values[i] for i in np.linspace(0, len(values) - 1, limit).round().astype(int)]
    return values
