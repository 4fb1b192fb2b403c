"""Seeding, device choice and the environment report (lesson 00).

Nothing here runs at import time: call the functions.
"""
from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a torch.Generator seeded the same way.

    Lesson 00 explains why every experiment in the course takes a seed: runs with the
    same seed on the same machine give bit-identical results.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(prefer: str | None = None, *, verbose: bool = True) -> torch.device:
    """Choose CUDA, then MPS, then CPU — and say which one was picked.

    ``prefer`` forces a device ("cpu", "cuda", "mps"); an unavailable preference is an
    error rather than a silent fallback.  ``FTLIB_DEVICE`` in the environment does the
    same as ``prefer``.
    """
    prefer = prefer or os.environ.get("FTLIB_DEVICE") or None
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()}
    if prefer is not None:
        if prefer not in available:
            raise ValueError(f"unknown device {prefer!r}; choose one of {sorted(available)}")
        if not available[prefer]:
            raise RuntimeError(f"device {prefer!r} was asked for but is not available here; "
                               "use prefer='cpu' (or leave it out to pick automatically)")
        device = torch.device(prefer)
    else:
        device = torch.device("cuda" if available["cuda"] else "mps" if available["mps"] else "cpu")
    if verbose:
        extra = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else \
            f" ({torch.get_num_threads()} threads)" if device.type == "cpu" else ""
        print(f"ftlib: using device {device.type}{extra}")
    return device


def environment_report() -> dict[str, str]:
    """Versions and hardware, as shown by lesson 00's environment check."""
    import matplotlib
    import torchvision

    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "cuda available": str(torch.cuda.is_available()),
        "cpu threads": str(torch.get_num_threads()),
    }
    try:
        import ipywidgets
        report["ipywidgets"] = ipywidgets.__version__
    except ImportError:  # pragma: no cover - the course requires it
        report["ipywidgets"] = "MISSING (pip install ipywidgets)"
    return report
