"""`python -m ftlib.deploy predict`: never overwrites work, one line per mistake (issue 11, lesson 10)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ftlib
from ftlib import deploy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    model = ftlib.NetB(num_classes=5)
    deploy.save_model(model, folder / "m", deploy.make_sidecar(model, classes=[5, 6, 7, 8, 9],
                                                                class_names=list("abcde"), name="t"))
    deploy.save_images(torch.zeros(3, 28, 28, dtype=torch.uint8), folder / "images.safetensors")
    return folder


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ftlib.deploy", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def _one_clear_line(done):
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_predict_writes_and_then_refuses_to_overwrite(saved):
    out = saved / "out.safetensors"
    assert _cli("predict", "m", "images.safetensors", out, cwd=saved).returncode == 0
    first = out.read_bytes()
    line = _one_clear_line(_cli("predict", "m", "images.safetensors", out, cwd=saved))
    assert "already exists" in line and "--overwrite" in line
    assert out.read_bytes() == first
    assert _cli("predict", "m", "images.safetensors", out, "--overwrite", cwd=saved).returncode == 0


@pytest.mark.parametrize("target", ["images.safetensors", "m.safetensors", "m.json"])
def test_predict_never_overwrites_an_input(saved, target):
    before = (saved / target).read_bytes()
    line = _one_clear_line(_cli("predict", "m", "images.safetensors", target, "--overwrite", cwd=saved))
    assert "is one of the inputs" in line
    assert (saved / target).read_bytes() == before


def test_bad_inputs_get_one_line(saved):
    deploy.save_images(torch.zeros(2, 32, 32, dtype=torch.uint8), saved / "big.safetensors")
    assert "28×28" in _one_clear_line(_cli("predict", "m", "big.safetensors", "o1.safetensors", cwd=saved))
    (saved / "photo.safetensors").write_bytes(b"\x89PNG\r\n\x1a\n not tensors")
    assert "not a safetensors file" in _one_clear_line(_cli("predict", "m", "photo.safetensors", "o2.safetensors", cwd=saved))
    torch.save({"images": torch.zeros(1, 28, 28)}, saved / "pickled.safetensors")
    assert "pickled" in _one_clear_line(_cli("predict", "m", "pickled.safetensors", "o3.safetensors", cwd=saved))
    assert "does not exist" in _one_clear_line(_cli("predict", "m", "missing.safetensors", "o4.safetensors", cwd=saved))
    assert "sidecar" in _one_clear_line(_cli("predict", "nomodel", "images.safetensors", "o5.safetensors", cwd=saved))
    assert not list(saved.glob("o[0-9].safetensors")), "a failed command wrote nothing"
