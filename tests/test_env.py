"""ftlib.env: seeding, device choice, environment report; no side effects at import."""
import subprocess
import sys

import pytest
import torch

import ftlib


def test_seed_everything_makes_runs_repeatable():
    ftlib.seed_everything(3)
    a = torch.rand(3)
    ftlib.seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError):
        ftlib.seed_everything(-1)


def test_pick_device_says_what_it_picked(capsys):
    device = ftlib.pick_device("cpu")
    assert device.type == "cpu"
    assert "using device cpu" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown device"):
        ftlib.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="not available"):
            ftlib.pick_device("cuda")


def test_environment_report_lists_versions():
    report = ftlib.environment_report()
    assert report["torch"] == torch.__version__
    assert {"python", "torchvision", "ipywidgets", "cuda available"} <= set(report)


def test_import_has_no_side_effects():
    code = ("import torch; s = torch.random.get_rng_state().clone(); import ftlib, ftlib.exercises; "
            "assert torch.equal(s, torch.random.get_rng_state()); import sys; "
            "assert 'ftlib.pretrain' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
