"""BitFit (Ben Zaken et al. 2022), lesson 13: train only the bias terms (and the new head)."""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ftlib.efficient.common import freeze_all, train_only


def bitfit(model: nn.Module, also: Sequence[str] = ()) -> nn.Module:
    """Freeze everything but parameters named ``bias`` (and the modules named in ``also``, e.g. ``["head"]``)."""
    freeze_all(model)
    biases = [p for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] == "bias"]
    if not biases:
        raise ValueError("the model has no bias parameters: BitFit needs layers with bias=True")
    for p in biases:
        p.requires_grad_(True)
    return train_only(model, also) if also else model
