"""ftlib.probing: features by depth, deterministic linear probes, probe models."""
import pytest
import torch

import ftlib
from ftlib import probing as P


@pytest.fixture(scope="module")
def data():
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("train"), range(5, 10))
    return ftlib.k_shot(x, y, 4, seed=0), ftlib.k_shot(x, y, 10, seed=1)


def test_feature_shapes_by_layer():
    model = ftlib.NetB(5)
    x = torch.zeros(3, 28, 28, dtype=torch.uint8)
    dims = {layer: P.layer_features(model, x, layer).shape[1] for layer in P.LAYERS}
    assert dims == {"block1": 32 * 14 * 14, "block2": 64 * 7 * 7, "block3": 128 * 3 * 3, "pooled": 128}
    assert P.layer_features(model, x, "block3", pool=True).shape == (3, 128)
    both = P.all_layer_features(model, x)
    assert torch.equal(both["block2"], P.layer_features(model, x, "block2"))
    with pytest.raises(KeyError, match="unknown layer 'block9'"):
        P.layer_features(model, x, "block9")


def test_probe_is_deterministic_and_learns_separable_data():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(40, 6, generator=g)
    y = (f[:, 0] > 0).long()
    a = P.train_probe(f, y, steps=100, lr=0.1)
    b = P.train_probe(f, y, steps=100, lr=0.1)
    assert torch.equal(a.weight, b.weight)
    assert P.probe_accuracy(a, f, y) == 1.0
    with pytest.raises(ValueError, match="shape"):
        P.train_probe(f[:, :, None], y)


def test_probe_by_depth_and_probe_model_agree(data):
    (x, y), (xt, yt) = data
    model = ftlib.load_pretrained()
    cache = {}
    accs = P.probe_by_depth(model, x, y, xt, yt, layers=("block3", "pooled"), test_features=cache, steps=50)
    assert set(cache) == {"block3", "pooled"} and all(0.2 <= a <= 1 for a in accs.values())
    probe_model = P.fit_probe_model(ftlib.load_pretrained(), x, y, "block3", steps=50)
    assert ftlib.evaluate(probe_model, xt, yt)["accuracy"] == pytest.approx(accs["block3"], abs=1e-6)
