"""Saving, loading, preprocessing, export and model card (lesson 10)."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import ftlib
from ftlib import deploy
from ftlib.checkpoint import save_weights


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ftlib.NetB(num_classes=5).eval()


@pytest.fixture(scope="module")
def images():
    return ftlib.load_fashion_mnist("test")[0][:16]


def _meta(model):
    return deploy.make_sidecar(model, [5, 6, 7, 8, 9], ftlib.CLASS_NAMES[5:], metrics={"accuracy": 0.5})


def test_round_trip_and_no_overwrite(tmp_path, model, images):
    w, s = deploy.save_model(model, tmp_path / "m", _meta(model))
    assert w.exists() and s.exists()
    before = w.read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        deploy.save_model(model, tmp_path / "m", _meta(model))
    assert w.read_bytes() == before
    loaded, meta = deploy.load_model(tmp_path / "m")
    assert meta["class_names"] == list(ftlib.CLASS_NAMES[5:])
    with torch.no_grad():
        assert torch.equal(loaded(deploy.prepare(images)), model(ftlib.to_input(images)))
    assert not list(tmp_path.glob(".*.tmp"))


def test_sidecar_mismatch_is_detected(tmp_path, model):
    deploy.save_model(model, tmp_path / "m", _meta(model))
    other = ftlib.NetB(num_classes=5)
    save_weights(other, tmp_path / "x", {})
    (tmp_path / "m.safetensors").write_bytes((tmp_path / "x.safetensors").read_bytes())
    with pytest.raises(deploy.SidecarMismatch, match="does not match its sidecar"):
        deploy.load_model(tmp_path / "m")


def test_crash_mid_save_keeps_old_file(tmp_path, model):
    """A process killed while writing (os._exit inside fsync) leaves the old file intact."""
    deploy.save_model(model, tmp_path / "m", _meta(model))
    old = (tmp_path / "m.safetensors").read_bytes()
    code = ("import os, sys, torch, ftlib\n"
            "from ftlib import deploy\n"
            "os.fsync = lambda fd: os._exit(3)\n"  # the power goes out after the bytes are written
            "m = ftlib.NetB(num_classes=5)\n"
            f"deploy.save_model(m, {str(tmp_path / 'm')!r}, {{}}, overwrite=True)\n")
    done = subprocess.run([sys.executable, "-c", code], env=deploy._child_env(), capture_output=True)
    assert done.returncode == 3, done.stderr.decode()[-500:]
    assert (tmp_path / "m.safetensors").read_bytes() == old
    deploy.load_model(tmp_path / "m")  # still loads and matches its sidecar


@pytest.mark.parametrize("bad, kind, words", [
    (np.zeros((28, 28), np.float32), TypeError, "uint8"),
    (np.zeros((32, 32), np.uint8), ValueError, "28×28"),
    (np.zeros((28, 28, 3), np.uint8), ValueError, "3 channels"),
    (np.zeros((4, 28, 28, 3), np.uint8), ValueError, "3 channels"),
    (Image.new("RGB", (28, 28)), ValueError, "convert('L')"),
    (Image.new("L", (30, 28)), ValueError, "28×28"),
    ("image.png", TypeError, "PIL image"),
])
def test_prepare_rejects_wrong_inputs(bad, kind, words):
    with pytest.raises(kind, match=None) as info:
        deploy.prepare(bad)
    assert words in str(info.value)


def test_prepare_accepts_raw_forms(images):
    expected = ftlib.to_input(images[:2])
    arr = images[:2].numpy()
    for form in (arr, images[:2], arr[..., None], [Image.fromarray(a) for a in arr]):
        assert torch.equal(deploy.prepare(form), expected)
    assert torch.equal(deploy.prepare(arr[0]), expected[:1])
    assert torch.equal(deploy.prepare(Image.fromarray(arr[0])), expected[:1])


def test_predictor_outputs(tmp_path, model, images):
    deploy.save_model(model, tmp_path / "m", _meta(model))
    out = deploy.Predictor.load(tmp_path / "m")(Image.fromarray(images[0].numpy()))
    assert len(out) == 1 and out[0]["class_name"] in ftlib.CLASS_NAMES[5:]
    assert abs(sum(out[0]["probabilities"].values()) - 1) < 1e-5


def test_fresh_process_and_export(tmp_path, model, images):
    deploy.save_model(model, tmp_path / "m", _meta(model))
    here = deploy.Predictor.load(tmp_path / "m").logits(images)
    assert torch.equal(deploy.predict_in_fresh_process(tmp_path / "m", images, tmp_path), here)
    deploy.export_program(model, tmp_path / "m.pt2", _meta(model))
    with pytest.raises(FileExistsError):
        deploy.export_program(model, tmp_path / "m.pt2", _meta(model))
    assert torch.allclose(deploy.load_program(tmp_path / "m.pt2")(images), here, atol=1e-5)
    exported = deploy.run_export_in_fresh_process(tmp_path / "m.pt2", images, tmp_path)
    assert torch.allclose(exported, here, atol=1e-5)
    assert torch.equal(exported.argmax(1), here.argmax(1))


def test_model_card(tmp_path, model):
    deploy.save_model(model, tmp_path / "m", _meta(model))
    card = deploy.model_card(json.loads((tmp_path / "m.json").read_text()))
    for words in ("# Model card", "NetB", "Sandal", "mean 0.286", "accuracy: 0.5000", "Limitations", "sha256"):
        assert words in card


def test_skew_table(model, images):
    from ftlib.widgets.deployment import SKEWS, skew_table
    labels = torch.zeros(len(images), dtype=torch.int64)
    table = skew_table(model, images, labels)
    assert list(table) == list(SKEWS)
    first = table[next(iter(SKEWS))]
    with torch.no_grad():
        expected = torch.softmax(model(ftlib.to_input(images)), 1).numpy()
    assert np.allclose(first["probs"], expected, atol=1e-6)
    assert all(0 <= row["accuracy"] <= 1 for row in table.values())
