"""Lesson 11's checkers accept right answers and explain the typical wrong ones."""
from ftlib.exercises import real_world as ex


def test_weights_api():
    assert ex.weights_api.check("b", quiet=True)
    assert "deprecated" in ex.weights_api.check("a", quiet=True).message


def test_frozen_params():
    from torchvision.models import resnet18

    import ftlib
    model = resnet18(weights=None, num_classes=3)
    ftlib.freeze(model)
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert ex.frozen_params.check(n, quiet=True)
    assert "1000 classes" in ex.frozen_params.check(513000, quiet=True).message
    fb = ex.frozen_params.check(1536, quiet=True)
    assert "2-class" in ex.frozen_params.check(1026, quiet=True).message
    assert "biases" in fb.message and "1539" not in fb.message


def test_matching_transforms():
    assert ex.matching_transforms.check("b", quiet=True)
    assert not ex.matching_transforms.check("d", quiet=True)
