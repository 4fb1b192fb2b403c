"""Occlusion and saliency find the pixel a toy model looks at (lesson 09)."""
import torch
from torch import nn

from ftlib import explain


class OnePixel(nn.Module):
    """Logit of class 1 = value of pixel (20, 7); class 0 = its negative."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        v = x[:, 0, 20, 7] * 5 + self.dummy
        return torch.stack([-v, v], dim=1)


def _image():
    img = torch.zeros(28, 28, dtype=torch.uint8)
    img[20, 7] = 255
    return img


def test_occlusion_peaks_at_the_pixel_that_matters():
    m = explain.occlusion_map(OnePixel(), _image(), target=1, patch=4, stride=1)
    assert m.shape == (28, 28)
    peak = divmod(int(m.argmax()), 28)
    assert abs(peak[0] - 20) <= 1 and abs(peak[1] - 7) <= 1
    assert float(m[0, 27]) == 0.0


def test_saliency_and_deletion():
    model, img = OnePixel(), _image()
    s = explain.gradient_saliency(model, img, target=1)
    assert divmod(int(s.argmax()), 28) == (20, 7)
    drop = explain.deletion_drop(model, img, 1, s, fraction=0.01)
    rand = explain.deletion_drop(model, img, 1, explain.random_saliency((28, 28), seed=1), fraction=0.01)
    assert drop > 0.5 and abs(rand) < 1e-6


def test_occlusion_argument_errors():
    import pytest
    with pytest.raises(ValueError):
        explain.occlusion_map(OnePixel(), _image(), 1, patch=40)
    with pytest.raises(ValueError):
        explain.occlusion_map(OnePixel(), _image(), 1, patch=0)


def test_widget_view_lookup():
    from ftlib.widgets.evaluation import explain_view, occlusion_maps
    images = torch.stack([_image(), _image()])
    maps = occlusion_maps(OnePixel(), images, torch.tensor([1, 1]), patches=(4,), stride=2)
    view = explain_view(maps, 1, 4)
    assert view["pred"] == 1 and view["label"] == 1 and view["map"].shape == (28, 28)
    assert abs(view["peak"][0] - 20) <= 2 and abs(view["peak"][1] - 7) <= 2
