"""The text track's library (ftlib.text, ftlib.efficient): shapes, bad input, LoRA maths, shipped data."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ftlib.efficient import add_adapters, apply_lora, bitfit, count_trainable, merge_lora
from ftlib.efficient.lora import LoRALinear
from ftlib.text import data as D
from ftlib.text.model import GPT, GPTConfig, TextClassifier

TINY = GPTConfig(vocab_size=64, context=16, d_model=16, n_layers=2, n_heads=2, d_mlp=32)


def test_default_gpt_has_the_documented_size():
    assert sum(p.numel() for p in GPT().parameters()) == 1_325_824


def test_encode_rejects_empty_and_too_long_text():
    with pytest.raises(ValueError, match="empty"):
        D.encode("   ")
    with pytest.raises(ValueError, match="truncate"):
        D.encode("word " * 80)
    ids = D.encode("word " * 80, truncate=True)
    assert len(ids) == D.CONTEXT and ids[0] == D.end_id()


def test_byte_level_bpe_round_trips_any_text():
    tok = D.load_tokenizer()
    for text in ["Quercus alba", "naïve café"]:
        assert tok.decode(D.encode(text, tok)[1:]) == text


def test_gloss_task_split():
    task = D.gloss_task()
    assert task.num_classes == 5 and len(task.test_texts) == 1000
    assert not set(task.test_texts) & set(task.pool_texts)
    x, y = D.k_shot_texts(task, 3, seed=1)
    assert torch.bincount(y).tolist() == [3] * 5
    assert D.k_shot_texts(task, 3, seed=1)[0] == x


def test_model_is_causal_and_pooling_ignores_padding():
    torch.manual_seed(0)
    model = TextClassifier(GPT(TINY), 3).eval()
    ids = torch.randint(0, 64, (1, 6))
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % 64
    with torch.no_grad():
        a, b = model.backbone(ids), model.backbone(changed)
        assert torch.allclose(a[0, :-1], b[0, :-1], atol=1e-6)
        padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
        mask = torch.tensor([[True] * 6 + [False] * 4])
        assert torch.allclose(model(ids), model(padded, mask), atol=1e-5)
    with pytest.raises(ValueError, match="context"):
        model.backbone(torch.zeros(1, 17, dtype=torch.long))


def test_lora_starts_as_the_base_and_merges_to_the_same_outputs():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 64, (2, 8))
    with torch.no_grad():
        before = model(ids)
        apply_lora(model, ["q", "v"], r=2)
        assert torch.equal(model(ids), before), "B starts at zero"
        assert count_trainable(model) == 2 * 2 * (2 * 16 + 16 * 2)
        for layer in model.modules():
            if isinstance(layer, LoRALinear):
                assert layer.scaling == 2.0  # alpha = 2r by default: scaling alpha / r
                layer.lora_B.normal_()
        lora_out = model(ids)
        assert not torch.allclose(lora_out, before)
        merge_lora(model)
        assert not any(isinstance(m, LoRALinear) for m in model.modules())
        assert torch.allclose(model(ids), lora_out, atol=1e-5)
    with pytest.raises(ValueError, match="no LoRA layers"):
        merge_lora(model)


def test_lora_bad_input():
    model = GPT(TINY)
    with pytest.raises(ValueError, match="query"):
        apply_lora(model, ["query"], r=2)
    for r in (0, -1, 1.5):
        with pytest.raises(ValueError, match="rank"):
            apply_lora(GPT(TINY), ["q"], r=r)
    layer = LoRALinear(nn.Linear(4, 4), r=1)
    layer.merge()
    with pytest.raises(RuntimeError, match="already merged"):
        layer.merge()


def test_efficient_modules_work_on_the_cnn():
    from ftlib.models import NetB
    torch.manual_seed(0)
    net = NetB(num_classes=5).eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        before = net(x)
        lora = apply_lora(copy.deepcopy(net), [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)][:1], r=2)
        assert torch.equal(lora(x), before)
        adapted = add_adapters(copy.deepcopy(net), ["head"], bottleneck=2)
        assert torch.allclose(adapted(x), before)
    biased = bitfit(copy.deepcopy(net))
    assert all(n.endswith("bias") for n, p in biased.named_parameters() if p.requires_grad)


def test_precompute_text_reproduces_its_small_result(tmp_path):
    """The sweep script's small setting, re-run and compared portably with results/text_small.json."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tests.results_compare import assert_results_close
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "text_small.json"
    subprocess.run([sys.executable, str(root / "scripts" / "precompute_text.py"), "--small", "--out", str(out)],
                   check=True, cwd=root, capture_output=True)
    new, committed = json.loads(out.read_text()), json.loads((root / "results" / "text_small.json").read_text())
    for res in (new, committed):  # per-run wall-clock times are machine-specific
        for row in res["rows"]:
            row.pop("seconds", None)
    assert_results_close(new, committed)


def test_ulmfit_unfreezes_everything_within_a_short_recipe():
    """run() spreads ULMFiT's unfreezing over the recipe's steps, so a short run still reaches the embeddings."""
    from ftlib.text import finetune as T
    task = D.gloss_task()
    x, y = D.k_shot_texts(task, 1, seed=0)
    row = T.run("ULMFiT", x, y, 0, recipe=T.Recipe(steps=12))
    emb = row["model"].backbone.tok_emb.weight
    assert emb.requires_grad, "the last group (the embeddings) was unfrozen by the final step"
