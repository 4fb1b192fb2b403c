"""Saving and loading weights safely: safetensors plus a JSON sidecar (lessons 00 and 10).

Writes are atomic (a temporary file renamed into place, so a crash mid-save leaves the
old file intact) and never overwrite an existing file unless ``overwrite=True``.
Loading never unpickles anything.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from ftlib.data import sha256_of


def atomic_write_bytes(path: Path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it, "
                              "or choose another name (nothing was written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_weights(model: nn.Module, stem: str | Path, meta: dict, overwrite: bool = False) -> tuple[Path, Path]:
    """Save ``stem.safetensors`` and ``stem.json`` (``meta`` plus the weights' sha256)."""
    from safetensors.torch import save

    stem = Path(stem)
    weights, sidecar = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    for path in (weights, sidecar):
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it "
                                  "(nothing was written)")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(weights, save(state), overwrite=overwrite)
    meta = {**meta, "weights_file": weights.name, "weights_sha256": sha256_of(weights)}
    atomic_write_bytes(sidecar, (json.dumps(meta, indent=2) + "\n").encode(), overwrite=overwrite)
    return weights, sidecar


def load_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file (no pickle involved)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} does not exist")
    return load_file(str(path))
