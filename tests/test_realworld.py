"""The real-world workflow, offline: weights=None on a tiny generated ImageFolder (lesson 11)."""
import socket

import pytest
import torch

from ftlib import realworld as rw


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a network call was made")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_default_path_makes_no_network_call(no_network, tmp_path, monkeypatch):
    ready, reason = rw.check_ready(None)
    assert not ready and "no image folder" in reason
    ready, reason = rw.check_ready(tmp_path / "missing")
    assert not ready and "does not exist" in reason
    rw.make_demo_folder(tmp_path / "imgs", n_per_class=2, size=16)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # nothing cached
    ready, reason = rw.check_ready(tmp_path / "imgs")
    assert not ready and "ALLOW_DOWNLOAD" in reason
    assert "ImageFolder" in rw.describe_plan(None)


def test_offline_download_is_detected(tmp_path, monkeypatch):
    rw.make_demo_folder(tmp_path / "imgs", n_per_class=2, size=16)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(rw, "can_reach", lambda url, timeout=3.0: False)
    ready, reason = rw.check_ready(tmp_path / "imgs", allow_download=True)
    assert not ready and "offline" in reason


def test_transform_matches_the_weights():
    from torchvision.models import ResNet18_Weights
    t = rw.folder_transform("resnet18", "DEFAULT")
    assert t.crop_size == ResNet18_Weights.DEFAULT.transforms().crop_size
    small = rw.folder_transform("resnet18", None, image_size=32)
    from PIL import Image
    assert small(Image.new("RGB", (50, 40))).shape == (3, 32, 32)


def test_finetune_folder_with_random_weights(no_network, tmp_path):
    root = rw.make_demo_folder(tmp_path / "imgs", n_per_class=4, size=32)
    x, y, classes = rw.load_image_folder(root, rw.folder_transform("resnet18", None, 32))
    assert x.shape == (8, 3, 32, 32) and classes == ["horizontal", "vertical"] and y.tolist().count(1) == 4
    run = rw.finetune_folder(root, "resnet18", weights=None, plan="gradual", stages=2, steps_per_stage=2,
                             batch_size=4, image_size=32, val_fraction=0.25)
    assert run.classes == ["horizontal", "vertical"]
    assert run.stages[0]["trainable_blocks"] == ["fc"] and run.stages[0]["trainable_params"] == 512 * 2 + 2
    assert run.stages[1]["trainable_blocks"] == ["layer4", "fc"]
    assert [s["lr"] for s in run.stages] == [1e-2, 1e-3], "the head first at its own rate, then one rate"
    assert run.report["confusion"].sum() == 2
    lpft = rw.finetune_folder(root, "resnet18", weights=None, steps_per_stage=1, batch_size=4, image_size=32)
    assert len(lpft.stages) == 2 and lpft.stages[1]["trainable_params"] == sum(p.numel() for p in lpft.model.parameters())
    with pytest.raises(ValueError, match="exactly 2 stages"):
        rw.finetune_folder(root, "resnet18", weights=None, stages=3, image_size=32)
    with pytest.raises(ValueError, match="plan must be one of"):
        rw.finetune_folder(root, "resnet18", weights=None, plan="ulmfit", image_size=32)
    frozen_bn = [m for m in run.model.layer1.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert frozen_bn and not any(m.training for m in frozen_bn)  # the BatchNorm trap is handled


def test_build_model_heads():
    m = rw.build_model("mobilenet_v3_small", None, num_classes=3)
    assert m.classifier[-1].out_features == 3
    assert rw.build_model("resnet18", None, num_classes=4).fc.out_features == 4
