"""The course data: a shipped, checksummed subset of Fashion-MNIST (lesson 00).

Images are kept as uint8 tensors of shape (N, 28, 28) and labels as int64; ``to_input``
turns images into the normalised float batches the models take.  Everything lives in
memory: batching is plain tensor indexing, with no DataLoader worker processes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DATA_FILE = "fashion_mnist_subset.npz"
MANIFEST = "MANIFEST.sha256"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MEAN, STD = 0.2860, 0.3530  # pixel mean and std of the Fashion-MNIST training set
RESTORE_HINT = ("Restore the shipped file with `git checkout -- data/` (or re-download the course), "
                "or rebuild it from the full Fashion-MNIST with `make data`.")


class DataFileError(RuntimeError):
    """A shipped data or weights file is missing or does not match its checksum."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(data_dir: Path = DATA_DIR) -> dict[str, str]:
    """File name -> expected sha256, from ``data/MANIFEST.sha256`` (sha256sum format)."""
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        raise DataFileError(f"checksum manifest {path} is missing. {RESTORE_HINT}")
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            entries[name.strip().lstrip("*")] = digest
    return entries


_verified: dict[Path, tuple[float, int]] = {}


def verify_file(name: str, data_dir: Path = DATA_DIR) -> Path:
    """Check one shipped file against the manifest (once per process while it is unchanged)."""
    path = Path(data_dir) / name
    if not path.exists():
        raise DataFileError(f"data file {path} is missing. {RESTORE_HINT}")
    stat = path.stat()
    if _verified.get(path) == (stat.st_mtime, stat.st_size):
        return path
    expected = read_manifest(data_dir).get(name)
    if expected is None:
        raise DataFileError(f"{name} is not listed in {Path(data_dir) / MANIFEST}. {RESTORE_HINT}")
    actual = sha256_of(path)
    if actual != expected:
        raise DataFileError(f"data file {path} is corrupt or was changed: sha256 {actual[:12]}… "
                            f"does not match the manifest's {expected[:12]}…. {RESTORE_HINT}")
    _verified[path] = (stat.st_mtime, stat.st_size)
    return path


# What each shipped file is (lesson 00 lists them; tests/test_data.py checks that every manifest entry has one)
FILE_ROLES = {
    "fashion_mnist_subset.npz": "Fashion-MNIST subset: the images of lessons 00-11",
    "LICENSE-fashion-mnist.txt": "Fashion-MNIST's licence (MIT)",
    "netb_source.json": "Net-B pretrained on classes 0-4: sidecar",
    "netb_source.safetensors": "Net-B pretrained on classes 0-4: weights",
    "netb_all10.json": "Net-B pretrained on all 10 classes (lesson 08): sidecar",
    "netb_all10.safetensors": "Net-B pretrained on all 10 classes (lesson 08): weights",
    "netb_shuffled.json": "Net-B pretrained on shuffled labels (lesson 08): sidecar",
    "netb_shuffled.safetensors": "Net-B pretrained on shuffled labels (lesson 08): weights",
    "netb_memorised.json": "Net-B that memorised 2,000 shuffled labels (lesson 08): sidecar",
    "netb_memorised.safetensors": "Net-B that memorised 2,000 shuffled labels (lesson 08): weights",
    "wordnet_glosses.json.gz": "WordNet 3.0 glosses: the text track's task and pretraining text",
    "text_tokenizer.json": "byte-level BPE tokenizer, 4,096 tokens (lesson 12)",
    "LICENSE-wordnet.txt": "WordNet 3.0's licence (Princeton University)",
    "gloss_gpt.json": "GPT language model, 4,000 pretraining steps: sidecar",
    "gloss_gpt.safetensors": "GPT language model, 4,000 pretraining steps: weights",
    "gloss_gpt_1k.json": "the same GPT after 1,000 steps: sidecar",
    "gloss_gpt_1k.safetensors": "the same GPT after 1,000 steps: weights",
}


def verify_all(data_dir: Path = DATA_DIR) -> dict[str, bool]:
    """Verify every file in the manifest; return name -> True (raises on the first bad one)."""
    return {name: verify_file(name, data_dir).exists() for name in read_manifest(data_dir)}


@lru_cache(maxsize=4)
def _load_arrays(path: Path, mtime: float) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception as exc:  # a truncated or non-zip file
        raise DataFileError(f"could not read {path}: {exc}. {RESTORE_HINT}") from exc


def load_fashion_mnist(split: str = "train", *, data_dir: Path | str = DATA_DIR,
                       classes: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of the shipped subset.

    ``split`` is "train" or "test".  ``classes`` keeps only those classes *without*
    relabelling (use :func:`class_subset` to relabel).  The file is checked against
    ``data/MANIFEST.sha256`` on first use.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = verify_file(DATA_FILE, Path(data_dir))
    arrays = _load_arrays(path, path.stat().st_mtime)
    x = torch.from_numpy(arrays[f"x_{split}"].copy())
    y = torch.from_numpy(arrays[f"y_{split}"].astype(np.int64))
    if classes is not None:
        keep = torch.isin(y, torch.as_tensor(list(classes)))
        x, y = x[keep], y[keep]
    return x, y


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, 28, 28) -> normalised float32 (N, 1, 28, 28) for the models."""
    if images.dtype != torch.uint8:
        raise TypeError(f"to_input expects uint8 images (0-255), got dtype {images.dtype}; "
                        "images that are already float were probably converted twice")
    if images.ndim == 2:
        images = images.unsqueeze(0)
    if images.ndim != 3 or images.shape[-2:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {tuple(images.shape)}")
    return ((images.float() / 255.0 - MEAN) / STD).unsqueeze(1)


def check_labels(y: torch.Tensor, num_classes: int) -> None:
    """Raise a clear error when labels are not integer class indices in [0, num_classes) (ftlib.guards)."""
    from ftlib.guards import as_labels  # the one home of the label check

    as_labels(y, num_classes)


def class_subset(x: torch.Tensor, y: torch.Tensor, classes: Sequence[int],
                 relabel: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the given classes; with ``relabel`` they become 0..len(classes)-1 in the order given."""
    classes = list(classes)
    if not classes:
        raise ValueError("classes is empty: name at least one class to keep")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes contains duplicates: {classes}")
    present = set(torch.unique(y).tolist())
    unknown = [c for c in classes if c not in present]
    if unknown:
        raise ValueError(f"class {unknown[0]} does not occur in y (its classes are {sorted(present)}): "
                         "check the class numbers" + (" — Fashion-MNIST has classes 0 to 9" if max(present) <= 9 else ""))
    lookup = torch.full((int(max(max(classes), int(y.max()))) + 1,), -1, dtype=torch.int64)
    lookup[torch.as_tensor(classes)] = torch.arange(len(classes))
    keep = lookup[y] >= 0
    return x[keep], (lookup[y[keep]] if relabel else y[keep])


def k_shot(x: torch.Tensor, y: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exactly ``k`` examples of every class present in ``y``, chosen with ``seed`` (lesson 04).

    The same (data, k, seed) always gives the same subset, which is what makes paired
    comparisons between methods possible.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        if len(idx) < k:
            raise ValueError(f"class {c} has only {len(idx)} examples, cannot take k={k}")
        chosen.append(idx[torch.randperm(len(idx), generator=generator)[:k]])
    order = torch.cat(chosen)
    return x[order], y[order]


def train_val_split(x: torch.Tensor, y: torch.Tensor, val_fraction: float = 0.1,
                    seed: int = 0) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split into (train, validation), stratified by class (lesson 06, early stopping)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    generator = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n_val = max(1, round(len(idx) * val_fraction))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    tr, va = torch.cat(train_idx), torch.cat(val_idx)
    if len(tr) == 0:
        raise ValueError(f"val_fraction={val_fraction} leaves no training examples ({len(y)} examples, at least one "
                         "per class goes to validation): use a smaller val_fraction or more examples")
    return (x[tr], y[tr]), (x[va], y[va])


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = True,
            generator: torch.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (x, y) minibatches by tensor indexing — no worker processes."""
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images but {len(y)} labels")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))
    stop = len(x) - (len(x) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


def load_full_fashion_mnist(root: str | Path, *, train: bool = True,
                            download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The full Fashion-MNIST through torchvision, for users with the files or internet.

    The lessons never call this: they use the shipped subset.  With ``download=True``
    torchvision fetches the files into ``root``; without it ``root`` must already hold
    ``FashionMNIST/raw/*-ubyte`` files.
    """
    from torchvision.datasets import FashionMNIST

    try:
        dataset = FashionMNIST(str(root), train=train, download=download)
    except RuntimeError as exc:
        raise DataFileError(f"Fashion-MNIST not found under {root}: {exc}. Pass download=True "
                            "(needs internet) or use ftlib.load_fashion_mnist for the shipped subset.") from exc
    return dataset.data.clone(), dataset.targets.clone().long()
