"""ftlib.efficient on its own: LoRA maths by hand, merging, BitFit, adapters and their errors, on the GPT and Net-B.

Tolerances: a freshly wrapped layer (B = 0) or adapter (up = 0) adds exact zeros, so those outputs are compared
with ``torch.equal``; the hand-computed LoRA formula and merged weights reorder float32 sums, so they use
``atol=1e-5`` (outputs are O(1); float32 rounding of these small matmuls is ~1e-7).
"""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ftlib.efficient import (Adapted, Adapter, LoRAConv2d, LoRALinear, add_adapters, apply_lora, bitfit,
                             count_trainable, freeze_all, lora_layers, merge_lora, train_only)
from ftlib.models import NetB
from ftlib.text.model import GPT

D, L = 128, 4  # the default GPTConfig: d_model, n_layers


def _net() -> NetB:
    torch.manual_seed(0)
    return NetB(5).eval()  # eval: BatchNorm uses its running statistics, so outputs are deterministic


def _conv_names(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


# --- LoRALinear -------------------------------------------------------------------------------------------

def test_fresh_lora_linear_equals_its_base():
    torch.manual_seed(0)
    base = nn.Linear(6, 5)
    x = torch.randn(3, 6)
    expected = base(x)
    layer = LoRALinear(base, r=3)
    assert torch.equal(layer(x), expected)  # B starts at zero: exactly the base
    assert not base.weight.requires_grad and layer.lora_A.requires_grad


def test_lora_scaling_is_alpha_over_r():
    assert LoRALinear(nn.Linear(4, 4), r=3).scaling == 2.0  # alpha defaults to 2r
    assert LoRALinear(nn.Linear(4, 4), r=4, alpha=2).scaling == 0.5


def test_lora_linear_output_matches_the_formula_by_hand():
    torch.manual_seed(1)
    base = nn.Linear(6, 5)
    layer = LoRALinear(base, r=2, alpha=3)
    with torch.no_grad():
        layer.lora_B.normal_()
        x = torch.randn(4, 6)
        by_hand = base(x) + (3 / 2) * x @ layer.lora_A.T @ layer.lora_B.T
        assert torch.allclose(layer(x), by_hand, atol=1e-5)
        assert not torch.allclose(layer(x), base(x), atol=1e-3)  # the update is not negligible


def test_merge_gives_the_same_output_and_a_plain_linear():
    torch.manual_seed(2)
    model = nn.Sequential(LoRALinear(nn.Linear(6, 5), r=2), nn.ReLU())
    with torch.no_grad():
        model[0].lora_B.normal_()
        x = torch.randn(4, 6)
        before = model(x)
        merge_lora(model)
        assert type(model[0]) is nn.Linear
        assert torch.allclose(model(x), before, atol=1e-5)


def test_merging_twice_is_an_error():
    layer = LoRALinear(nn.Linear(4, 4), r=1)
    layer.merge()
    with pytest.raises(RuntimeError, match="already merged"):
        layer.merge()
    with pytest.raises(ValueError, match="no LoRA layers to merge"):
        merge_lora(nn.Sequential(nn.Linear(4, 4)))


# --- apply_lora on the GPT --------------------------------------------------------------------------------

def test_apply_lora_on_the_gpt_counts_by_hand():
    model = apply_lora(GPT(), ["q", "v"], r=4)
    assert count_trainable(model) == L * 2 * (4 * D + D * 4) == 8192
    assert sorted(lora_layers(model)) == sorted(f"blocks.{i}.attn.{t}" for i in range(L) for t in "qv")


def test_apply_lora_unknown_target_names_it_and_lists_layers():
    with pytest.raises(ValueError, match="'query'") as err:
        apply_lora(GPT(), ["q", "query"], r=4)
    assert "fc1" in str(err.value) and "'v'" in str(err.value)  # the message lists the real layer names


@pytest.mark.parametrize("r", [0, -1, 1.5])
def test_apply_lora_rejects_bad_ranks(r):
    with pytest.raises(ValueError, match="rank"):
        apply_lora(GPT(), ["q"], r=r)


def test_apply_lora_twice_is_an_error():
    model = apply_lora(GPT(), ["q"], r=2)
    with pytest.raises(ValueError, match="already has LoRA"):
        apply_lora(model, ["v"], r=2)


# --- LoRA on Net-B's convolutions ---------------------------------------------------------------------------

def test_lora_on_the_cnn_starts_equal_and_counts_by_hand():
    net, x = _net(), torch.randn(2, 1, 28, 28)
    names = _conv_names(net)
    assert names == ["block1.0", "block2.0", "block3.0", "block3.3"]
    with torch.no_grad():
        before = net(x)
        lora = apply_lora(copy.deepcopy(net), names, r=2)
        assert torch.equal(lora(x), before)
    assert all(isinstance(m, LoRAConv2d) for m in lora_layers(lora).values()) and len(lora_layers(lora)) == 4
    # 3×3 convs 1→32, 32→64, 64→128, 128→128: A is r × in × 3 × 3, B is out × r × 1 × 1
    assert count_trainable(lora) == 2 * (1 + 32 + 64 + 128) * 9 + 2 * (32 + 64 + 128 + 128) == 4754


def test_lora_on_the_cnn_merges_to_the_same_output():
    net, x = _net(), torch.randn(2, 1, 28, 28)
    torch.manual_seed(3)
    lora = apply_lora(net, _conv_names(net), r=2)
    with torch.no_grad():
        for layer in lora_layers(lora).values():
            layer.lora_B.normal_(std=0.05)
        before = lora(x)
        merge_lora(lora)
        assert not lora_layers(lora) and type(lora.block1[0]) is nn.Conv2d
        assert not torch.allclose(before, _net()(x), atol=1e-3)  # B really changed the output
        assert torch.allclose(lora(x), before, atol=1e-5)


# --- BitFit ------------------------------------------------------------------------------------------------

def test_bitfit_on_the_gpt_trains_biases_and_the_named_head():
    model = nn.ModuleDict({"gpt": GPT(), "head": nn.Linear(D, 5)})
    bitfit(model, also=["head"])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all(n.endswith(".bias") for n in trainable - {"head.weight"}) and "head.weight" in trainable
    # per block: q, k, v, o (4 × 128), fc1 (512), fc2 (128), two LayerNorms (2 × 128); ln_f (128); head 645
    assert count_trainable(model) == L * (4 * D + 512 + D + 2 * D) + D + (D * 5 + 5) == 6405


def test_bitfit_on_the_cnn():
    net = bitfit(_net(), also=["head"])
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"block1.1.bias", "block2.1.bias", "block3.1.bias", "block3.4.bias",
                         "head.weight", "head.bias"}  # the convs have no bias; the BatchNorms do


def test_bitfit_without_biases_is_an_error():
    with pytest.raises(ValueError, match="no bias"):
        bitfit(nn.Sequential(nn.Linear(4, 4, bias=False)))


# --- adapters ----------------------------------------------------------------------------------------------

def test_adapters_start_as_the_original_gpt():
    torch.manual_seed(0)
    model, ids = GPT().eval(), torch.randint(0, 4096, (2, 10))
    with torch.no_grad():
        before = model(ids)
        add_adapters(model, ["attn.o", "mlp.fc2"], bottleneck=16)
        assert torch.equal(model(ids), before)  # up starts at zero: an exact identity
    assert isinstance(model.blocks[0].attn.o, Adapted)
    # 8 adapters of 128·16+16 + 16·128+128, plus every LayerNorm (2 per block + ln_f, 256 each)
    assert count_trainable(model) == 2 * L * (2 * D * 16 + 16 + D) + (2 * L + 1) * 2 * D == 36224


def test_adapters_on_the_cnn_convs_start_as_the_original():
    net, x = _net(), torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        before = net(x)
        add_adapters(net, ["block1.0", "block3.3"], bottleneck=4)
        assert net.block1[0].adapter.dim == 1  # channels of an (N, C, H, W) map
        # exact in value; movedim may change the memory layout the next conv sees, hence a float tolerance
        assert torch.allclose(net(x), before, atol=1e-6)


def test_adapter_rejects_bad_bottleneck_and_unknown_layers():
    for b in (0, -3):
        with pytest.raises(ValueError, match="bottleneck"):
            Adapter(8, bottleneck=b)
    with pytest.raises(ValueError, match="'attn.out'"):
        add_adapters(GPT(), ["attn.out"])


def test_train_only_unknown_name_is_an_error():
    model = freeze_all(GPT())
    with pytest.raises(ValueError, match="'classifier'"):
        train_only(model, ["classifier"])
    assert count_trainable(train_only(model, ["ln_f"])) == 2 * D
