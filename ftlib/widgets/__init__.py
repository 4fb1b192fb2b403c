"""Widgets of the lessons: a plain *compute* function, a *draw* step, and a thin ipywidgets wrapper.

Each lesson's widgets live in a module named by concept (``ftlib.widgets.descent``,
``ftlib.widgets.softmax``, ...).  :class:`LivePlot` is the shared piece: one matplotlib
figure, created once and redrawn in place on every slider move (creating a new figure per
move is what makes widgets slow), rendered to PNG and shown in the widget's output area.

``LivePlot.render(**values)`` is exactly what a slider move costs (compute + draw + PNG), so
``benchmarks/widget_latency.py`` times it without a browser.

:class:`ExactEntry` puts a number box next to a slider whose typed value is used exactly (a slider
can only take its own positions: a log slider with step 0.05 turns a typed 0.21 into 0.1995); the
slider follows the box to its nearest position.  ``LivePlot(..., exact=["lr"])`` uses one.
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["LivePlot", "ExactEntry", "new_figure", "slider_values", "nearest_position", "round_sig"]


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

    ``exact`` names sliders that get a number box next to them (:class:`ExactEntry`): ``draw``
    then receives the box's value, exactly as typed.  ``caption(result)`` (``result`` is what
    ``draw`` returns) gives a line of text shown under the figure, e.g. the verdict in words.
    """

    def __init__(self, fig, draw: Callable[..., Any], sliders: dict[str, Any],
                 animated: Sequence[Any] = (), exact: Sequence[str] = (),
                 caption: Callable[[Any], str] | None = None) -> None:
        self.fig, self.draw, self.sliders, self.animated = fig, draw, sliders, list(animated)
        unknown = [name for name in exact if name not in sliders]
        if unknown:
            raise KeyError(f"exact names unknown sliders {unknown}; the sliders are {list(sliders)}")
        self.entries = {name: ExactEntry(sliders[name]) for name in exact}
        self.caption = caption
        self._canvas = None
        self._background = None

    @property
    def controls(self) -> dict[str, Any]:
        """The widget whose value ``draw`` receives, per keyword (an exact entry's box, else the slider)."""
        return {name: self.entries[name].text if name in self.entries else s for name, s in self.sliders.items()}

    def _setup(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self._canvas = FigureCanvasAgg(self.fig)
        self.draw(**{name: c.value for name, c in self.controls.items()})  # titles in place for layout
        for artist in self.animated:
            artist.set_animated(True)
        self._canvas.draw()
        self.fig.set_layout_engine("none")  # freeze the layout so the background stays valid
        if self.animated:
            self._background = self._canvas.copy_from_bbox(self.fig.bbox)

    def render(self, **values: Any) -> bytes:
        """Redraw for ``values`` (missing ones take the controls' current values); return PNG bytes."""
        return self._render(**values)[0]

    def _render(self, **values: Any) -> tuple[bytes, Any]:
        from PIL import Image

        if self._canvas is None:
            self._setup()
        kwargs = {name: c.value for name, c in self.controls.items()}
        kwargs.update(values)
        result = self.draw(**kwargs)
        if self._background is not None:
            self._canvas.restore_region(self._background)
            for artist in self.animated:
                self.fig.draw_artist(artist)
        else:
            self._canvas.draw()
        image = Image.frombuffer("RGBA", self._canvas.get_width_height(), self._canvas.buffer_rgba())
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue(), result

    def _show(self, **values: Any) -> None:
        from IPython.display import HTML, Image, display

        png, result = self._render(**values)
        display(Image(data=png, format="png"))
        if self.caption is not None:
            import html

            display(HTML(f'<div class="ftlib-caption" style="font-size:15px">'
                         f'{html.escape(self.caption(result))}</div>'))

    def widget(self):
        """The interactive widget: the sliders above, the figure below (redrawn on every move)."""
        import ipywidgets as widgets

        if not self.entries and self.caption is None:
            return widgets.interactive(self._show, **self.sliders)
        rows = [widgets.HBox([s, self.entries[name].text]) if name in self.entries else s
                for name, s in self.sliders.items()]
        out = widgets.interactive_output(self._show, self.controls)
        return widgets.VBox([*rows, out])


def round_sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits (0.050118723 -> 0.0501)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def slider_range(slider: Any) -> tuple[float, float]:
    """The smallest and largest value a (log) slider can take."""
    if hasattr(slider, "base"):
        return float(slider.base ** slider.min), float(slider.base ** slider.max)
    return slider.min, slider.max


def nearest_position(slider: Any, value: float) -> float:
    """The value of the slider position nearest to ``value`` (in the exponent for a log slider), in range."""
    log = hasattr(slider, "base")
    if log:
        x = math.log(value, slider.base) if value > 0 else slider.min
    else:
        x = value
    x = min(max(x, slider.min), slider.max)
    x = min(slider.min + round((x - slider.min) / slider.step) * slider.step, slider.max)
    return float(slider.base ** x) if log else x


class ExactEntry:
    """A number box next to ``slider`` that keeps the value typed into it.

    - Typed into the box (Enter or leaving the box): the value stands exactly as typed (within
      the slider's range); the slider moves to its nearest position and does *not* write back.
    - The slider moved by hand: the box shows its value, rounded to ``digits`` significant digits,
      and that rounded number is what is used.
    The slider's own readout is hidden, so only one number is shown.  ``text.value`` is the value.
    """

    def __init__(self, slider: Any, digits: int = 3, width: str = "90px") -> None:
        import ipywidgets as widgets

        self.slider, self.digits = slider, digits
        lo, hi = slider_range(slider)
        self.text = widgets.BoundedFloatText(value=round_sig(slider.value, digits), min=lo, max=hi,
                                             layout=widgets.Layout(width=width))
        self.text.add_class("ftlib-exact")
        slider.readout = False
        slider.value = nearest_position(slider, self.text.value)
        self.text.observe(self._typed, names="value")
        slider.observe(self._slid, names="value")

    def _follows_text(self, value: float) -> bool:
        return math.isclose(value, nearest_position(self.slider, self.text.value), rel_tol=1e-6)

    def _typed(self, change: dict) -> None:
        if not self._follows_text(self.slider.value):
            self.slider.value = nearest_position(self.slider, change["new"])

    def _slid(self, change: dict) -> None:
        if not self._follows_text(change["new"]):  # moved by hand, not following the box
            self.text.value = round_sig(change["new"], self.digits)


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
