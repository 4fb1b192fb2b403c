"""The course backbone "Net-B", pretrained weights and head replacement (lessons 03-04).

Net-B is a small CNN with *named blocks* so that lessons can freeze and unfreeze it
block by block::

    block1: Conv(1→32)-BN-ReLU, MaxPool            28×28 → 14×14
    block2: Conv(32→64)-BN-ReLU, MaxPool           14×14 → 7×7
    block3: Conv(64→128)-BN-ReLU, Conv(128→128)-BN-ReLU, MaxPool   7×7 → 3×3
    pool:   global average pooling → 128 features
    head:   Linear(128 → num_classes)

Weights are stored as safetensors plus a JSON sidecar; loading never unpickles.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ftlib.data import DATA_DIR, verify_file

BLOCKS = ("block1", "block2", "block3", "head")
PRETRAINED = "netb_source"  # data/netb_source.safetensors + .json


def conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    """A 3×3 convolution (no bias: BatchNorm has one), BatchNorm and ReLU."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class NetB(nn.Module):
    """The course backbone; see the module docstring for its blocks (lesson 03)."""

    def __init__(self, num_classes: int = 5, widths: Sequence[int] = (32, 64, 128),
                 convs: Sequence[int] = (1, 1, 2), dropout: float = 0.0) -> None:
        super().__init__()
        if len(widths) != 3 or len(convs) != 3:
            raise ValueError(f"NetB has three blocks: widths and convs need 3 entries, got {widths}, {convs}")
        self.config = {"num_classes": num_classes, "widths": list(widths), "convs": list(convs),
                       "dropout": dropout}
        c_in = 1
        for i, (width, n) in enumerate(zip(widths, convs), start=1):
            layers: list[nn.Module] = []
            for j in range(n):
                layers += conv_bn_relu(c_in if j == 0 else width, width)
            layers.append(nn.MaxPool2d(2))
            self.add_module(f"block{i}", nn.Sequential(*layers))
            c_in = width
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, num_classes)

    def block_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Feature maps after each block plus pooled features — used for probing by depth."""
        out = {}
        for name in ("block1", "block2", "block3"):
            x = getattr(self, name)(x)
            out[name] = x
        out["pooled"] = self.pool(x)
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 128-dimensional pooled features the head sees."""
        return self.pool(self.block3(self.block2(self.block1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"NetB expects a float batch of shape (N, 1, H, W), got {tuple(x.shape)}; "
                             "convert uint8 images with ftlib.to_input")
        return self.head(self.dropout(self.features(x)))


def replace_head(model: NetB, num_classes: int, seed: int | None = None) -> NetB:
    """Give ``model`` a fresh linear head with ``num_classes`` outputs (lesson 04); returns it."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if seed is not None:
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    model.head = nn.Linear(model.head.in_features, num_classes)
    if seed is not None:
        torch.random.set_rng_state(state)
    model.config["num_classes"] = num_classes
    return model


def read_sidecar(name: str = PRETRAINED, data_dir: Path | str = DATA_DIR) -> dict:
    """The JSON sidecar of shipped weights: architecture, classes, recipe, metrics."""
    path = verify_file(f"{name}.json", Path(data_dir))
    return json.loads(path.read_text())


def load_pretrained(name: str = PRETRAINED, *, data_dir: Path | str = DATA_DIR,
                    num_classes: int | None = None) -> NetB:
    """Net-B with shipped pretrained weights (checksummed safetensors; no pickle).

    With ``num_classes`` the source head is replaced by a fresh one of that size.
    """
    from safetensors.torch import load_file

    meta = read_sidecar(name, data_dir)
    arch = meta["architecture"]
    if arch.get("name") != "NetB":
        raise ValueError(f"{name}.json describes a {arch.get('name')!r}, not a NetB")
    model = NetB(arch["num_classes"], arch["widths"], arch["convs"])
    state = load_file(str(verify_file(f"{name}.safetensors", Path(data_dir))))
    model.load_state_dict(state)
    model.eval()
    if num_classes is not None:
        replace_head(model, num_classes)
    return model
