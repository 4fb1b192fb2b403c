"""The text track (ftlib.text): shipped data and tokenizer, the GPT and its classifier, the fine-tuning methods.

Tolerances: causality and padding compare float32 logits computed over different sequence lengths, so the
attention/mean sums are reordered: ``atol=1e-5`` (logits are O(1)). Loss thresholds are measured values with
a margin: the shipped model scores ~4.17 nats/token on the first 200 held-out texts (4.06 on all 1,986), a
random one ~8.35 (≈ ln 4096 = 8.32, a uniform guess).
"""
from __future__ import annotations

import pytest
import torch

from ftlib.efficient import count_trainable
from ftlib.text import data as D
from ftlib.text import finetune as F
from ftlib.text.model import GPT, GPTConfig, TextClassifier, lm_loss

TINY = GPTConfig(vocab_size=64, context=16, d_model=16, n_layers=2, n_heads=2, d_mlp=32)

@pytest.fixture(scope="module")
def task():
    return D.gloss_task()


# --- data ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   "])
def test_encode_rejects_empty_text(text):
    with pytest.raises(ValueError, match="empty"):
        D.encode(text)


def test_encode_too_long_needs_truncate():
    with pytest.raises(ValueError, match="truncate"):
        D.encode("word " * 80)
    ids = D.encode("word " * 80, truncate=True)
    assert len(ids) == 64 == D.CONTEXT
    assert ids[0] == D.end_id() == D.load_tokenizer().token_to_id("<|endoftext|>")


def test_encode_rejects_non_strings():
    with pytest.raises(TypeError, match="string"):
        D.encode(42)
    with pytest.raises(ValueError, match="not a string"):
        D.encode_batch(["a cat", None])


def test_encode_batch_pads_right_and_masks():
    texts = ["a cat", "a small domesticated carnivorous mammal with soft fur"]
    ids, mask = D.encode_batch(texts)
    lengths = [len(D.encode(t)) for t in texts]
    assert ids.shape == mask.shape == (2, max(lengths)) and mask.dtype == torch.bool
    assert mask.sum(1).tolist() == lengths
    assert ids[0, :lengths[0]].tolist() == D.encode(texts[0])
    assert (ids[0, lengths[0]:] == D.end_id()).all()  # padded with <|endoftext|>


def test_gloss_task_split(task):
    assert task.num_classes == 5 and len(task.classes) == 5
    assert len(task.test_texts) == 1000 and torch.bincount(task.test_labels).tolist() == [200] * 5
    assert len(task.pool_texts) == len(task.pool_labels) > 5000
    assert not set(task.test_texts) & set(task.pool_texts)


def test_no_text_used_to_measure_is_in_the_pretraining_text(task):
    """Split by text, not only by synset: WordNet 3.0 repeats some glosses word for word across synsets."""
    train = set(D.source_texts("train"))
    assert not set(D.source_texts("heldout")) & train  # the forgetting measure (14 repeats were dropped)
    assert len(D.source_texts("heldout")) == 1986 and len(train) > 80_000
    assert not set(task.test_texts) & train
    assert not set(task.pool_texts) & train
    assert not set(task.test_texts) & set(D.source_texts("heldout"))
    with pytest.raises(ValueError, match="heldout"):
        D.source_texts("test")


def test_k_shot_texts_is_seeded(task):
    x, y = D.k_shot_texts(task, 3, seed=1)
    assert len(x) == 15 and torch.bincount(y).tolist() == [3] * 5
    assert D.k_shot_texts(task, 3, seed=1)[0] == x
    assert D.k_shot_texts(task, 3, seed=2)[0] != x
    assert all(task.pool_labels[task.pool_texts.index(t)] == c for t, c in zip(x, y.tolist()))


def test_k_shot_texts_rejects_bad_k(task):
    with pytest.raises(ValueError, match="at least 1"):
        D.k_shot_texts(task, 0, seed=0)
    with pytest.raises(ValueError, match="more than"):
        D.k_shot_texts(task, 10**6, seed=0)


# --- tokenizer -----------------------------------------------------------------------------------------------

def test_tokenizer_is_byte_level_with_4096_tokens():
    tok = D.load_tokenizer()
    assert tok.get_vocab_size() == 4096
    for text in ["Quercus alba", "naïve café"]:
        ids = D.encode(text, tok)[1:]
        assert all(0 <= i < 4096 for i in ids)
        assert tok.decode(ids) == text  # byte-level: nothing becomes an unknown token
    assert "".join(D.tokens_of("Quercus alba")) == "Quercus alba"
    # a two-byte character split over two tokens shows as its two bytes, one per piece
    pieces = D.tokens_of("naïve café")
    assert len(pieces) == len(tok.encode("naïve café").ids) and "\ufffd" not in "".join(pieces)
    assert "<C3>" in pieces and "".join(p for p in pieces if not p.startswith("<")) == "nave caf"


# --- model ---------------------------------------------------------------------------------------------------

def test_default_gpt_parameter_count():
    assert sum(p.numel() for p in GPT().parameters()) == 1_325_824


def test_gpt_is_causal():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 64, (1, 8))
    later = ids.clone()
    later[0, 5:] = (ids[0, 5:] + 1) % 64
    with torch.no_grad():
        a, b = model(ids), model(later)
    assert torch.allclose(a[0, :5], b[0, :5], atol=1e-5)
    assert not torch.allclose(a[0, 5:], b[0, 5:], atol=1e-3)  # the changed positions do change


def test_classifier_pooling_ignores_padding():
    torch.manual_seed(0)
    model = TextClassifier(GPT(TINY), 3).eval()
    ids = torch.randint(1, 64, (1, 5))
    padded = torch.cat([ids, torch.randint(1, 64, (1, 6))], 1)  # junk (not even pad ids) after the text
    mask = torch.tensor([[True] * 5 + [False] * 6])
    with torch.no_grad():
        assert torch.allclose(model(ids), model(padded, mask), atol=1e-5)
        assert not torch.allclose(model(ids), model(padded), atol=1e-4)  # without the mask it differs


def test_too_many_positions_is_an_error():
    with pytest.raises(ValueError, match="context"):
        GPT(TINY)(torch.zeros(1, 17, dtype=torch.long))
    prompted = TextClassifier(GPT(TINY), 2, prompt_length=4)
    with pytest.raises(ValueError, match="context"):
        prompted(torch.ones(1, 13, dtype=torch.long))  # 4 prompt vectors + 13 tokens > 16


def test_lm_loss_of_pretrained_and_random_models():
    assert F.source_lm_loss(F.load_gpt(), limit=200) < 4.5
    torch.manual_seed(0)
    ids, mask = D.encode_batch(D.source_texts("heldout")[:200])
    assert lm_loss(GPT(), ids, mask) > 7


# --- fine-tuning ---------------------------------------------------------------------------------------------

# By hand (d = 128, 4 blocks, head 128·5 + 5 = 645): LoRA r=4 on q, v: 4·2·(4·128 + 128·4) + 645;
# attention only: 4·4·(128² + 128) + 645; BitFit: 4·(4·128 + 512 + 128 + 2·128) + 128 + 645;
# adapters (bottleneck 16) + every LayerNorm: 8·(2·128·16 + 16 + 128) + 9·256 + 645; prompt: 8·128 + 645;
# ULMFiT starts with the head and ln_f only: 645 + 256.
EXPECTED_TRAINABLE = {"head only": 645, "LoRA": 8837, "full fine-tune": 1_326_469, "scratch": 1_326_469,
                      "scratch, lr ×10": 1_326_469, "attention only": 264_837, "BitFit": 6405,
                      "adapters": 36_869, "prompt tuning": 1669, "ULMFiT": 901}


def test_every_method_builds_with_the_right_trainable_parameters():
    assert set(F.METHODS) == set(EXPECTED_TRAINABLE)
    for method, expected in EXPECTED_TRAINABLE.items():
        assert count_trainable(F.setup(method).model) == expected, method


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="unknown method 'lora'.*LoRA"):
        F.setup("lora")


def test_short_run_returns_a_result_row(task):
    x, y = D.k_shot_texts(task, 2, seed=0)
    test = (task.test_texts[::20], task.test_labels[::20])  # 50 texts, 10 per class
    row = F.run("LoRA", x, y, 0, test=test, recipe=F.Recipe(steps=5))
    assert 0.0 <= row["accuracy"] <= 1.0 and row["trainable"] == 8837 and row["r"] == 4
    assert isinstance(row["final_loss"], float)


def test_train_needs_one_label_per_text():
    s = F.setup("head only")
    with pytest.raises(ValueError, match="labels"):
        F.train(s, ["a cat", "a dog", "an oak"], torch.tensor([0, 1]))


def test_ulmfit_unfreezes_from_the_top():
    s = F.setup("ULMFiT", steps=12)  # 6 groups (head+ln_f, 4 blocks, embeddings): one more every 2 steps
    trains = lambda: [all(p.requires_grad for p in g["params"]) for g in s.groups]  # noqa: E731
    assert len(s.groups) == 6 and trains() == [True] + [False] * 5
    s.on_step(2)
    assert trains() == [True, True] + [False] * 4
    s.on_step(11)
    assert all(trains())
    lrs = [g["lr"] for g in s.groups]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] / lrs[1] == pytest.approx(2.6)


def test_bag_of_words_has_20485_parameters(task):
    x, y = D.k_shot_texts(task, 4, seed=0)
    bow = F.BagOfWords().fit(x, y)
    assert bow.num_parameters == 4096 * 5 + 5 == 20485
    assert bow.accuracy(x, y) == 1.0  # 20 texts, 4,096 features: it fits its training set
