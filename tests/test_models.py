"""ftlib.models and ftlib.checkpoint: Net-B, the shipped weights, head replacement, safe saving."""
from __future__ import annotations

import json

import pytest
import torch

import ftlib
from ftlib import checkpoint, models


def test_netb_has_named_blocks_and_241k_parameters():
    model = ftlib.NetB(5)
    assert [n for n, _ in model.named_children()][:3] == ["block1", "block2", "block3"]
    assert sum(p.numel() for p in model.parameters()) == 241_253
    out = model.block_outputs(torch.zeros(2, 1, 28, 28))
    assert out["block3"].shape == (2, 128, 3, 3) and out["pooled"].shape == (2, 128)


def test_shipped_weights_load_and_match_their_sidecar():
    meta = models.read_sidecar()
    model = ftlib.load_pretrained()
    assert not model.training
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("test"), meta["classes"])
    acc = ftlib.evaluate(model, x, y)["accuracy"]
    assert acc == pytest.approx(meta["metrics"]["source_test_accuracy"], abs=1e-4)
    assert acc > 0.9, "the pretrained source model should be good at its own task"


def test_load_pretrained_with_fresh_head():
    model = ftlib.load_pretrained(num_classes=3)
    assert model.head.out_features == 3 and model.config["num_classes"] == 3
    a = ftlib.replace_head(ftlib.NetB(5), 4, seed=1).head.weight
    b = ftlib.replace_head(ftlib.NetB(5), 4, seed=1).head.weight
    assert torch.equal(a, b)
    with pytest.raises(ValueError):
        ftlib.replace_head(ftlib.NetB(5), 0)


def test_save_weights_never_overwrites_and_round_trips(tmp_path):
    model = ftlib.NetB(5)
    w, s = checkpoint.save_weights(model, tmp_path / "m", {"architecture": {"name": "NetB", **model.config}})
    with pytest.raises(FileExistsError, match="overwrite=True"):
        checkpoint.save_weights(model, tmp_path / "m", {})
    state = checkpoint.load_state(w)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert json.loads(s.read_text())["weights_sha256"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(checkpoint.os, "replace", boom)
    with pytest.raises(OSError):
        checkpoint.atomic_write_bytes(path, b"new", overwrite=True)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"], "no temporary file left behind"
