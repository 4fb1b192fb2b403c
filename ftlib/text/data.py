"""The text track's data: WordNet glosses and the byte-level BPE tokenizer (lesson 12, section 1).

The files are built by ``make data`` (:mod:`ftlib.tooling.text_data`) and shipped in ``data/`` with
checksums; nothing here touches the network.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from ftlib.data import DATA_DIR, verify_file

TEXT_FILE = "wordnet_glosses.json.gz"
TOKENIZER_FILE = "text_tokenizer.json"
END = "<|endoftext|>"
CONTEXT = 64  # the model's context: the start token plus at most 63 tokens of text


@dataclass(frozen=True)
class TextTask:
    """The gloss → category task: texts and integer labels of the k-shot pool and of the test set."""
    classes: tuple[str, ...]
    pool_texts: tuple[str, ...]
    pool_labels: torch.Tensor
    test_texts: tuple[str, ...]
    test_labels: torch.Tensor
    pool_lemmas: tuple[str, ...] = ()
    test_lemmas: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@lru_cache(maxsize=2)
def _load_json(path: Path, mtime: float) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def load_glosses(data_dir: Path | str = DATA_DIR) -> dict:
    """The whole shipped text file (checksum verified): ``classes``, ``target`` and ``source``."""
    path = verify_file(TEXT_FILE, Path(data_dir))
    return _load_json(path, path.stat().st_mtime)


def gloss_task(data_dir: Path | str = DATA_DIR) -> TextTask:
    """The 5-way target task: a pool to draw k examples per class from, and 1,000 test glosses."""
    raw = load_glosses(data_dir)
    pool, test = raw["target"]["pool"], raw["target"]["test"]
    return TextTask(tuple(raw["classes"]), tuple(t for _, t, _ in pool), torch.tensor([c for *_, c in pool]),
                    tuple(t for _, t, _ in test), torch.tensor([c for *_, c in test]),
                    tuple(w for w, _, _ in pool), tuple(w for w, _, _ in test))


def source_texts(split: str = "heldout", data_dir: Path | str = DATA_DIR) -> list[str]:
    """Source glosses: ``"train"`` (the pretraining text) or ``"heldout"`` (2,000 never trained on)."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return load_glosses(data_dir)["source"][split]


@lru_cache(maxsize=2)
def _tokenizer(path: Path, mtime: float):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(str(path))


def load_tokenizer(data_dir: Path | str = DATA_DIR):
    """The shipped byte-level BPE tokenizer (a ``tokenizers.Tokenizer``; 4,096 tokens)."""
    path = verify_file(TOKENIZER_FILE, Path(data_dir))
    return _tokenizer(path, path.stat().st_mtime)


def end_id(tokenizer=None) -> int:
    """Id of ``<|endoftext|>``: the start token of every text and the padding."""
    return (tokenizer or load_tokenizer()).token_to_id(END)


def encode(text: str, tokenizer=None, *, max_tokens: int = CONTEXT, truncate: bool = False) -> list[int]:
    """Token ids of ``text`` with the start token in front.

    An empty text is an error; a text longer than ``max_tokens`` (start token included) is an error unless
    ``truncate=True``, which keeps its first ``max_tokens`` tokens.
    """
    tokenizer = tokenizer or load_tokenizer()
    if not isinstance(text, str):
        raise TypeError(f"expected a string of text, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("the text is empty: give at least one word to encode")
    ids = [end_id(tokenizer)] + tokenizer.encode(text).ids
    if len(ids) > max_tokens:
        if not truncate:
            raise ValueError(f"the text has {len(ids)} tokens with the start token, more than the model's "
                             f"context of {max_tokens}: shorten it or pass truncate=True to keep the first "
                             f"{max_tokens}")
        ids = ids[:max_tokens]
    return ids


def as_texts(texts) -> list[str]:
    """A list of texts, refusing one bare string (which would be read letter by letter) and non-strings."""
    if isinstance(texts, str):
        raise TypeError(f"expected a list of texts, got one string {texts[:40]!r}: wrap it in a list, [text]")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"expected a list of texts, got {type(texts).__name__}") from None
    if not texts:
        raise ValueError("no texts: give at least one")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"text {i} ({t!r}) is empty or not a string: every text needs at least one word")
    return texts


def encode_batch(texts, tokenizer=None, *, max_tokens: int = CONTEXT, truncate: bool = True
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)``, both ``(len(texts), longest)``: right-padded ids and 1 where a token is real."""
    tokenizer = tokenizer or load_tokenizer()
    texts = as_texts(texts)
    pad = end_id(tokenizer)
    rows = [[pad] + e.ids for e in tokenizer.encode_batch(texts)]
    if not truncate:
        long = [i for i, r in enumerate(rows) if len(r) > max_tokens]
        if long:
            raise ValueError(f"text {long[0]} has {len(rows[long[0]])} tokens, more than the context of "
                             f"{max_tokens}: pass truncate=True to keep the first {max_tokens}")
    rows = [r[:max_tokens] for r in rows]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = True
    return ids, mask


def _byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable character that stands for each of the 256 bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def tokens_of(text: str, tokenizer=None) -> list[str]:
    """The BPE pieces of ``text`` as readable strings (lesson 12).

    A piece that is a whole UTF-8 text is shown as that text (byte-level 'Ġ' as a leading space); a piece
    that holds only part of a character's bytes, as byte-level BPE can split "ï" in two, is shown as its
    bytes, e.g. ``'<C3>'``.
    """
    tokenizer = tokenizer or load_tokenizer()
    table = _byte_of_char()
    pieces = []
    for token in tokenizer.encode(text).tokens:
        raw = bytes(table[c] for c in token)
        try:
            pieces.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            pieces.append("".join(f"<{b:02X}>" for b in raw))
    return pieces


def k_shot_texts(task: TextTask, k: int, seed: int) -> tuple[list[str], torch.Tensor]:
    """``k`` pool texts per class, drawn with ``seed`` (the same draw for every method: paired seeds)."""
    if k < 1:
        raise ValueError(f"k must be at least 1 example per class, not {k}")
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(task.num_classes):
        idx = torch.nonzero(task.pool_labels == c).flatten()
        if k > len(idx):
            raise ValueError(f"k={k} is more than the {len(idx)} pool examples of class {task.classes[c]!r}")
        picks.append(idx[torch.randperm(len(idx), generator=g)[:k]])
    order = torch.cat(picks)
    return [task.pool_texts[i] for i in order.tolist()], task.pool_labels[order]
