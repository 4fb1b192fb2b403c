"""Lesson 00's image browser: the plain function and the widget wrapper."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from ftlib.widgets import browse  # noqa: E402


def test_example_returns_image_and_class_name():
    image, label, name = browse.example(0)
    assert image.shape == (28, 28) and 0 <= label <= 9 and isinstance(name, str)
    with pytest.raises(IndexError, match="index must be"):
        browse.example(10**6)


def test_widget_wraps_the_function():
    w = browse.browse("test")
    slider = w.children[0]
    assert slider.max == 4999
    slider.value = 7  # moving the slider re-runs the function without error
    assert w.kwargs["index"] == 7
