"""Build the text track's data from WordNet 3.0 (``make data``; lessons 12-13 explain it).

Writes, deterministically (the same WordNet files give byte-identical outputs):

- ``data/wordnet_glosses.json.gz`` — the *target* task, gloss → category, five noun categories
  (:data:`TARGET_FILES`), split into a k-shot pool and a fixed test set; and the *source* text, every
  other synset's whole gloss, split into the pretraining lines and a held-out set for the language-model
  loss (lessons 12-13 measure forgetting on it). No target synset appears in the source text; a target
  definition that another synset's gloss also has word for word is dropped (one in WordNet 3.0), and so is a
  held-out gloss that a pretraining gloss repeats word for word (14 of 2,000), so that nothing used to
  measure was read in pretraining. The pretraining lines themselves are the same as before these drops.
- ``data/text_tokenizer.json`` — a byte-level BPE tokenizer (4,096 tokens) trained on the pretraining
  lines only (Hugging Face ``tokenizers``).
- ``data/LICENSE-wordnet.txt`` — the WordNet 3.0 licence, which must travel with copies.

WordNet comes from Debian's ``wordnet-base`` package (``/usr/share/wordnet``) or any folder holding the
four ``data.{noun,verb,adj,adv}`` files.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import random
from pathlib import Path

from ftlib.data import DATA_DIR
from ftlib.make_data import update_manifest

SOURCE = Path("/usr/share/wordnet")
PARTS = ("noun", "verb", "adj", "adv")
TARGET_FILES = {5: "animal", 13: "food", 15: "location", 18: "person", 20: "plant"}  # noun lexicographer files
TEXT_FILE = "wordnet_glosses.json.gz"
TOKENIZER_FILE = "text_tokenizer.json"
LICENSE_FILE = "LICENSE-wordnet.txt"
TEST_PER_CLASS, HELDOUT_SOURCE, SEED, VOCAB_SIZE = 200, 2000, 20261202, 4096
END = "<|endoftext|>"  # separates glosses in the pretraining stream; also the start token of every text


def parse_line(line: str) -> tuple[int, str, str] | None:
    """``(lexicographer file number, first lemma, gloss)`` of one synset line; None for licence lines."""
    if line.startswith("  ") or " | " not in line:
        return None
    head, gloss = line.split(" | ", 1)
    fields = head.split()
    return int(fields[1]), fields[4].replace("_", " "), gloss.strip()


def definition_only(gloss: str) -> str:
    """The definition part of a gloss: everything before the first quoted example."""
    return gloss.split('; "', 1)[0].strip().rstrip(";").strip()


def read_synsets(source: Path) -> list[tuple[str, int, str, str]]:
    """Every synset as ``(part of speech, lexfile, lemma, gloss)``, in file order."""
    missing = [p for p in PARTS if not (source / f"data.{p}").exists()]
    if missing:
        raise FileNotFoundError(f"{source} lacks data.{missing[0]}: install Debian's wordnet-base "
                                "(apt-get install wordnet-base) or pass --source with WordNet 3.0's data.* files")
    out = []
    for part in PARTS:
        for line in (source / f"data.{part}").read_text(encoding="utf-8").splitlines():
            parsed = parse_line(line)
            if parsed is not None:
                out.append((part, *parsed))
    return out


def licence_text(source: Path) -> str:
    """The licence header of ``data.noun`` without its line numbers."""
    lines = []
    for line in (source / "data.noun").read_text(encoding="utf-8").splitlines():
        if not line.startswith("  "):
            break
        lines.append(line[2:].split(" ", 1)[1].rstrip() if " " in line[2:] else "")
    return "\n".join(lines).strip() + "\n"


def split_text(synsets: list, test_per_class: int = TEST_PER_CLASS, heldout: int = HELDOUT_SOURCE,
               seed: int = SEED) -> dict:
    """The target task (pool/test per category) and the source text (train/held-out)."""
    rng = random.Random(seed)
    classes = list(TARGET_FILES.values())
    target = [(lemma, definition_only(g), classes.index(TARGET_FILES[lex]))
              for part, lex, lemma, g in synsets if part == "noun" and lex in TARGET_FILES]
    counts: dict[str, int] = {}
    for _, text, _ in target:
        counts[text] = counts.get(text, 0) + 1
    source = [g for part, lex, _, g in synsets if not (part == "noun" and lex in TARGET_FILES)]
    in_source = set(source) | {definition_only(g) for g in source}  # a target text the model read in pretraining
    unique = [t for t in target if counts[t[1]] == 1 and t[1] and t[1] not in in_source]
    pool, test = [], []
    for c in range(len(classes)):
        items = [t for t in unique if t[2] == c]
        rng.shuffle(items)
        test += items[:test_per_class]
        pool += items[test_per_class:]
    order = list(range(len(source)))
    rng.shuffle(order)
    held = sorted(order[:heldout])
    held_set = set(held)
    train = [source[i] for i in range(len(source)) if i not in held_set]
    seen = set(train)  # a held-out gloss that a training gloss repeats word for word would not be held out
    kept = [source[i] for i in held if source[i] not in seen]
    return {
        "classes": classes,
        "target": {"pool": [list(t) for t in pool], "test": [list(t) for t in test],
                   "duplicates_dropped": sum(counts[t[1]] > 1 or not t[1] for t in target),
                   "in_source_dropped": sum(counts[t[1]] == 1 and t[1] in in_source for t in target)},
        "source": {"train": train, "heldout": kept, "heldout_in_train_dropped": len(held) - len(kept)},
    }


def write_gzip_json(path: Path, obj: dict) -> None:
    """gzip with a fixed timestamp and no file name, so equal content gives equal bytes."""
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as fh:
        fh.write(raw)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)


def train_tokenizer(lines: list[str], vocab_size: int = VOCAB_SIZE):
    """Byte-level BPE on ``lines`` (every byte is in the alphabet, so no text is ever unknown)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[END], min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    return tok


def build(source: Path = SOURCE, out_dir: Path = DATA_DIR) -> dict:
    """Write the three files and update the manifest; return a summary of the counts."""
    synsets = read_synsets(source)
    text = split_text(synsets)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_gzip_json(out_dir / TEXT_FILE, text)
    tok = train_tokenizer(text["source"]["train"])
    (out_dir / TOKENIZER_FILE).write_text(tok.to_str(pretty=False) + "\n", encoding="utf-8")
    (out_dir / LICENSE_FILE).write_text(licence_text(source), encoding="utf-8")
    for name in (TEXT_FILE, TOKENIZER_FILE, LICENSE_FILE):
        update_manifest(out_dir, name)
    tokens = sum(len(e.ids) + 1 for e in tok.encode_batch(text["source"]["train"]))
    return {"synsets": len(synsets), "pool": len(text["target"]["pool"]), "test": len(text["target"]["test"]),
            "duplicates_dropped": text["target"]["duplicates_dropped"],
            "in_source_dropped": text["target"]["in_source_dropped"],
            "source_train": len(text["source"]["train"]), "source_heldout": len(text["source"]["heldout"]),
            "heldout_in_train_dropped": text["source"]["heldout_in_train_dropped"],
            "source_tokens": tokens}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    print(json.dumps(build(args.source, args.out)))


if __name__ == "__main__":
    main()
