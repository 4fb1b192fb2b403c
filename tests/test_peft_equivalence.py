"""ftlib.efficient's LoRA computes what Hugging Face ``peft`` computes, on the same plain PyTorch module.

peft 0.21 wraps any ``nn.Module`` given ``target_modules`` (here the GPT's ``q`` and ``v`` Linear layers,
found by name suffix as ftlib does); it stores ``lora_A.default.weight`` (r × in) and ``lora_B.default.weight``
(out × r) and scales by ``lora_alpha / r``. Copying peft's A and B into ftlib's layers must give the same logits.

Tolerance: both compute ``base(x) + s · B(A x)`` in float32 with the same operations, so logits agree to
``atol=1e-6``; merged weights are summed in a possibly different order, so merged logits use ``atol=1e-5``.
"""
from __future__ import annotations

import copy

import pytest
import torch

from ftlib.efficient import apply_lora, count_trainable, lora_layers, merge_lora
from ftlib.text.model import GPT, TextClassifier

peft = pytest.importorskip("peft")


def _pair(r: int = 4):
    """(peft model, ftlib model) from one seeded classifier, with the same non-zero A and B in both."""
    torch.manual_seed(0)
    model = TextClassifier(GPT(), 5).eval()
    ours = copy.deepcopy(model)
    theirs = peft.get_peft_model(copy.deepcopy(model), peft.LoraConfig(
        r=r, lora_alpha=2 * r, target_modules=["q", "v"], lora_dropout=0.0))
    apply_lora(ours.backbone, ["q", "v"], r=r)  # alpha defaults to 2r, as set for peft above
    torch.manual_seed(1)
    with torch.no_grad():
        for name, layer in lora_layers(ours.backbone).items():
            p = theirs.base_model.model.get_submodule(f"backbone.{name}")
            p.lora_B["default"].weight.normal_(std=0.1)  # B starts at zero in both: make the update visible
            layer.lora_A.copy_(p.lora_A["default"].weight)
            layer.lora_B.copy_(p.lora_B["default"].weight)
    return theirs.eval(), ours.eval(), model


def _ids():
    return torch.randint(0, 4096, (3, 12), generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("r, expected", [(4, 8192), (16, 32_768)])
def test_same_number_of_lora_parameters(r, expected):
    theirs, ours, _ = _pair(r)
    peft_count = sum(p.numel() for n, p in theirs.named_parameters() if p.requires_grad)
    assert peft_count == expected  # 4 layers × (q, v) × (r·128 + 128·r); peft leaves the head frozen
    assert count_trainable(ours.backbone) == expected  # ftlib wrapped only the backbone: its head still trains
    assert count_trainable(ours) == expected + 128 * 5 + 5


def test_same_logits_as_peft():
    theirs, ours, plain = _pair()
    with torch.no_grad():
        a, b = theirs(_ids()), ours(_ids())
        assert torch.allclose(a, b, atol=1e-6)
        assert not torch.allclose(a, plain(_ids()), atol=1e-4)  # the (equal) updates really change the logits


def test_same_logits_after_merging():
    theirs, ours, _ = _pair()
    with torch.no_grad():
        before = ours(_ids())
        merged_theirs = theirs.merge_and_unload()
        merge_lora(ours.backbone)
        merged_ours = ours
        assert not lora_layers(merged_ours) and not any("lora" in n for n, _ in merged_theirs.named_modules())
        assert torch.allclose(merged_theirs(_ids()), merged_ours(_ids()), atol=1e-5)
        assert torch.allclose(merged_ours(_ids()), before, atol=1e-5)
