"""Building the text data from WordNet files (ftlib.tooling.text_data) and pretraining (ftlib.tooling.pretrain_lm).

A tiny fake WordNet in WordNet 3.0's format stands in for /usr/share/wordnet, so these tests need no package
and run in a second. The shipped files are checked against the manifest instead of being rebuilt.
"""
from __future__ import annotations

import math

import pytest
import torch

from ftlib.data import DATA_DIR, read_manifest, sha256_of, verify_file
from ftlib.tooling import pretrain_lm as P
from ftlib.tooling import text_data as T

LICENCE = ["  1 This software and database is being provided to you, the LICENSEE, by  ",
           "  2 Princeton University under the following license.  ",
           "  3 "]
# (lexfile, lemma, gloss): two synsets in each target category (05 animal, 13 food, 15 location, 18 person,
# 20 plant), a pair of foods whose *definitions* coincide (examples differ), a location whose definition is
# word for word another synset's gloss (as "(slang) a neighborhood" is in WordNet 3.0), and nouns of other
# lexfiles.
NOUNS = [(5, "recombinant", 'a cell or organism in which genetic recombination has occurred; "an example"'),
         (5, "tabby", "a cat with a grey or tawny coat mottled with black"),
         (13, "porridge", 'soft food made by boiling grain in milk; "oatmeal porridge"'),
         (13, "gruel", "a thin porridge"),
         (13, "kasha", 'a dish of boiled grain; "buckwheat kasha"'),
         (13, "frumenty", 'a dish of boiled grain; "wheat frumenty"'),
         (15, "harbour", "a sheltered port where ships can take on or discharge cargo"),
         (15, "hilltop", 'the peak of a hill; "the view from the hilltop"'),
         (15, "nabe", "(slang) a neighborhood"),
         (18, "baker", "someone who bakes bread or cake"),
         (18, "sailor", 'a person who serves as a sailor; "he was a sailor all his life"'),
         (20, "oak", "a deciduous tree of the genus Quercus"),
         (20, "fern", "any of numerous flowerless and seedless vascular plants"),
         (3, "entity", "that which is perceived or known or inferred to have its own distinct existence"),
         (14, "hood", "(slang) a neighborhood"),
         (6, "hammer", 'a hand tool with a heavy rigid head; "he hit the nail with a hammer"')]
OTHERS = {"verb": [(29, "breathe", 'draw air into, and expel out of, the lungs; "I can breathe better now"'),
                   (30, "run", "move fast by using one's feet")],
          "adj": [(0, "able", "having the necessary means or skill"), (0, "tall", "great in vertical dimension")],
          "adv": [(2, "quickly", 'with rapid movements; "he works quickly"')]}


def _line(i: int, lex: int, pos: str, lemma: str, gloss: str) -> str:
    return f"{1000 + i:08d} {lex:02d} {pos} 01 {lemma} 0 000 | {gloss}  "


@pytest.fixture()
def wordnet(tmp_path):
    folder = tmp_path / "wordnet"
    folder.mkdir()
    (folder / "data.noun").write_text("\n".join(LICENCE + [_line(i, *s[:1], "n", *s[1:]) for i, s in
                                                           enumerate(NOUNS)]) + "\n", encoding="utf-8")
    for part, rows in OTHERS.items():
        pos = {"verb": "v", "adj": "a", "adv": "r"}[part]
        lines = LICENCE + [_line(i, lex, pos, lemma, g) for i, (lex, lemma, g) in enumerate(rows)]
        (folder / f"data.{part}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_parse_line_and_definition_only():
    assert T.parse_line(LICENCE[1]) is None
    assert T.parse_line(_line(0, 5, "n", "sea_lion", 'a seal; "x"')) == (5, "sea lion", 'a seal; "x"')
    assert T.definition_only('a seal; "one"; "two"') == "a seal"
    assert T.definition_only("a seal; a mammal") == "a seal; a mammal"  # a ';' without a quote stays


def test_read_synsets_skips_the_licence(wordnet):
    synsets = T.read_synsets(wordnet)
    assert len(synsets) == len(NOUNS) + sum(len(r) for r in OTHERS.values())
    assert synsets[0] == ("noun", 5, "recombinant", NOUNS[0][2])


def test_split_cuts_examples_and_drops_duplicates(wordnet):
    split = T.split_text(T.read_synsets(wordnet), test_per_class=1, heldout=2)
    pool, test = split["target"]["pool"], split["target"]["test"]
    assert sorted(c for *_, c in test) == [0, 1, 2, 3, 4]  # one per class
    texts = {lemma: text for lemma, text, _ in pool + test}
    assert texts["recombinant"] == "a cell or organism in which genetic recombination has occurred"
    assert not any('"' in t for t in texts.values())
    assert "kasha" not in texts and "frumenty" not in texts  # the same definition twice: both dropped
    assert split["target"]["duplicates_dropped"] == 2 and len(pool) + len(test) == 10


def test_split_drops_a_target_definition_the_source_text_contains(wordnet):
    split = T.split_text(T.read_synsets(wordnet), test_per_class=1, heldout=2)
    texts = {text for _, text, _ in split["target"]["pool"] + split["target"]["test"]}
    assert "(slang) a neighborhood" not in texts  # "hood" (lexfile 14) has it in the source: "nabe" goes
    assert "(slang) a neighborhood" in split["source"]["train"] + split["source"]["heldout"]
    assert split["target"]["in_source_dropped"] == 1


def test_split_drops_a_held_out_gloss_that_the_pretraining_text_repeats():
    """Two synsets with one gloss: holding one out would measure a text the model trained on (14 in WordNet 3.0)."""
    synsets = [("noun", 5, "cat", "a small feline")] + [("verb", 30, f"run{i}", "move fast") for i in range(6)] + \
        [("verb", 30, "walk", "move slowly"), ("adj", 0, "tall", "great in height")]
    for seed in range(20):  # whichever glosses are held out, no held-out text is a training text
        split = T.split_text(synsets, test_per_class=0, heldout=3, seed=seed)
        train, held = split["source"]["train"], split["source"]["heldout"]
        assert not set(held) & set(train)
        assert len(held) + split["source"]["heldout_in_train_dropped"] == 3
        assert len(train) == 5  # the pretraining lines are what they were: only held-out texts are dropped
    assert split["source"]["heldout_in_train_dropped"] > 0 or "move fast" not in held


def test_split_keeps_target_synsets_out_of_the_source(wordnet):
    split = T.split_text(T.read_synsets(wordnet), test_per_class=1, heldout=2)
    source = split["source"]["train"] + split["source"]["heldout"]
    assert len(split["source"]["heldout"]) == 2
    others = [g for lex, _, g in NOUNS if lex not in T.TARGET_FILES] + [g for r in OTHERS.values() for *_, g in r]
    assert sorted(source) == sorted(others)  # every other synset's whole gloss, examples included
    assert not {g for lex, lemma, g in NOUNS if lex in T.TARGET_FILES and lemma != "nabe"} & set(source)
    assert not set(split["source"]["train"]) & set(split["source"]["heldout"])


def test_split_is_deterministic(wordnet):
    synsets = T.read_synsets(wordnet)
    assert T.split_text(synsets, 1, 2) == T.split_text(synsets, 1, 2)
    assert T.split_text(synsets, 1, 2, seed=1) != T.split_text(synsets, 1, 2, seed=2)


def test_missing_wordnet_names_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        T.read_synsets(tmp_path / "nowhere")


def test_build_writes_the_files_byte_identically(wordnet, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    summary = T.build(wordnet, a)
    T.build(wordnet, b)
    assert summary["synsets"] == 21 and summary["duplicates_dropped"] == 2 and summary["in_source_dropped"] == 1
    assert summary["heldout_in_train_dropped"] == 0
    for name in (T.TEXT_FILE, T.TOKENIZER_FILE, T.LICENSE_FILE):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert read_manifest(a)[name] == sha256_of(a / name)
    assert (a / T.LICENSE_FILE).read_text().startswith("This software and database is being provided")


def test_shipped_text_files_match_the_manifest():
    manifest = read_manifest(DATA_DIR)
    for name in (T.TEXT_FILE, T.TOKENIZER_FILE, T.LICENSE_FILE):
        assert manifest[name] == sha256_of(DATA_DIR / name), name
        assert verify_file(name, DATA_DIR).exists()
    assert "Princeton" in (DATA_DIR / T.LICENSE_FILE).read_text(encoding="utf-8")


# --- pretrain_lm ---------------------------------------------------------------------------------------------

def test_lr_warms_up_then_decays_to_a_tenth():
    peak, steps = P.RECIPE["lr"], 1000
    assert P.lr_at(0, steps) == pytest.approx(peak / 100)  # 100 warm-up steps
    assert P.lr_at(99, steps) == pytest.approx(peak) == P.lr_at(100, steps)
    assert P.lr_at(550, steps) == pytest.approx(peak * (0.1 + 0.45 * (1 + math.cos(math.pi / 2))))
    assert P.lr_at(steps, steps) == pytest.approx(0.1 * peak) == P.lr_at(2 * steps, steps)
    lrs = [P.lr_at(s, steps) for s in range(100, steps + 1)]
    assert all(x >= y for x, y in zip(lrs, lrs[1:]))


def test_token_stream_puts_the_end_token_before_every_text():
    from ftlib.text import data as D
    tok = D.load_tokenizer()
    stream = P.token_stream(["a cat", "an oak"], tok)
    assert stream.tolist() == [D.end_id(tok)] + tok.encode("a cat").ids + [D.end_id(tok)] + tok.encode("an oak").ids


def test_pretrain_is_reproducible():
    runs = [P.pretrain(steps=3, short_steps=None, eval_every=3, eval_limit=20, progress=False) for _ in range(2)]
    (m1, meta1), (m2, meta2) = runs
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)  # same seed, same process: bit-identical
    assert [c["step"] for c in meta1["metrics"]["curve"]] == [0, 3]
    losses = [[c["heldout_loss"] for c in meta["metrics"]["curve"]] for meta in (meta1, meta2)]
    assert losses[0] == losses[1]
    assert meta1["recipe"]["steps"] == 3 and meta1["architecture"]["name"] == "GPT"
    torch.manual_seed(0)  # pretrain's seeded initialisation, before any step
    init = P.GPT(P.GPTConfig()).state_dict()
    moved = (s1["blocks.0.attn.q.weight"] - init["blocks.0.attn.q.weight"]).abs().max()
    assert 0 < moved < 1e-3  # it trained, by 3 Adam steps at a warm-up lr (≤ 6e-5) from that very init
