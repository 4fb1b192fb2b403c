"""ftlib.data: the shipped subset, checksums, splits, k-shot sampling, batching, torchvision loader."""
from __future__ import annotations

import gzip
import shutil
import time

import numpy as np
import pytest
import torch

import ftlib
from ftlib import data


def test_shipped_subset_shapes_and_balance():
    x, y = ftlib.load_fashion_mnist("train")
    assert x.dtype == torch.uint8 and x.shape[1:] == (28, 28)
    assert torch.equal(torch.bincount(y), torch.full((10,), 2000))
    xt, yt = ftlib.load_fashion_mnist("test")
    assert torch.equal(torch.bincount(yt), torch.full((10,), 500))


def test_load_is_fast_and_returns_copies():
    data._verified.clear()
    data._load_arrays.cache_clear()
    started = time.perf_counter()
    x, _ = ftlib.load_fashion_mnist("train")
    assert time.perf_counter() - started < 2.0  # typically ~0.1 s; generous for a loaded machine
    x[0] = 0
    assert ftlib.load_fashion_mnist("train")[0][0].sum() > 0, "callers must not alter the cache"


def test_manifest_covers_every_shipped_file():
    names = set(data.read_manifest())
    shipped = {p.name for p in data.DATA_DIR.iterdir() if p.suffix in (".npz", ".safetensors", ".json")}
    assert shipped <= names, f"files without a checksum: {shipped - names}"
    assert all(data.verify_all().values())


@pytest.fixture
def data_copy(tmp_path):
    for p in data.DATA_DIR.iterdir():
        if p.is_file():
            shutil.copy(p, tmp_path / p.name)
    return tmp_path


def test_missing_file_names_it_and_says_how_to_restore(data_copy):
    (data_copy / data.DATA_FILE).unlink()
    with pytest.raises(data.DataFileError, match=r"fashion_mnist_subset\.npz is missing.*git checkout"):
        ftlib.load_fashion_mnist(data_dir=data_copy)


def test_corrupt_file_is_detected(data_copy):
    path = data_copy / data.DATA_FILE
    raw = bytearray(path.read_bytes())
    raw[1000] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError, match="corrupt.*make data"):
        ftlib.load_fashion_mnist(data_dir=data_copy)


def test_bad_split_and_inputs():
    with pytest.raises(ValueError, match="split"):
        ftlib.load_fashion_mnist("validation")
    with pytest.raises(TypeError, match="uint8"):
        ftlib.to_input(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        ftlib.to_input(torch.zeros(2, 32, 32, dtype=torch.uint8))


def test_to_input_normalises():
    x, _ = ftlib.load_fashion_mnist("train")
    z = ftlib.to_input(x[:2000])
    assert z.shape == (2000, 1, 28, 28)
    assert abs(z.mean().item()) < 0.1 and abs(z.std().item() - 1) < 0.1


def test_class_subset_relabels_in_given_order():
    x, y = ftlib.load_fashion_mnist("test")
    xs, ys = ftlib.class_subset(x, y, [7, 5])
    assert set(ys.tolist()) == {0, 1} and len(xs) == 1000
    assert torch.equal(xs[ys == 0], x[y == 7])
    with pytest.raises(ValueError, match="duplicates"):
        ftlib.class_subset(x, y, [1, 1])


def test_k_shot_is_deterministic_and_balanced():
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("train"), range(5, 10))
    a = ftlib.k_shot(x, y, 3, seed=1)
    b = ftlib.k_shot(x, y, 3, seed=1)
    c = ftlib.k_shot(x, y, 3, seed=2)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    assert torch.equal(torch.bincount(a[1]), torch.full((5,), 3))
    with pytest.raises(ValueError, match="k must be"):
        ftlib.k_shot(x, y, 0, seed=0)
    with pytest.raises(ValueError, match="only"):
        ftlib.k_shot(x[:10], y[:10], 50, seed=0)


def test_batches_cover_an_epoch_once():
    x = torch.arange(10)
    y = torch.arange(10)
    seen = torch.cat([xb for xb, _ in ftlib.batches(x, y, 3, generator=torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == list(range(10))
    assert sum(1 for _ in ftlib.batches(x, y, 3, drop_last=True)) == 3
    with pytest.raises(ValueError, match="differ in length"):
        list(ftlib.batches(x, y[:5], 3))


def test_train_val_split_is_stratified():
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("train"), range(5))
    (xt, yt), (xv, yv) = data.train_val_split(x, y, 0.1, seed=0)
    assert len(xt) + len(xv) == len(x)
    assert torch.equal(torch.bincount(yv), torch.full((5,), 200))


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_full_dataset_loader_reads_local_torchvision_files(tmp_path):
    """The torchvision path for users with the full set, tested offline on tiny local files."""
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 255, (6, 28, 28)), np.arange(6) % 10
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    x, y = data.load_full_fashion_mnist(tmp_path, train=True, download=False)
    assert x.shape == (6, 28, 28) and torch.equal(y, torch.from_numpy(labels).long())
    with pytest.raises(data.DataFileError, match="download=True"):
        data.load_full_fashion_mnist(tmp_path / "nothing", download=False)


def test_make_data_reads_idx_and_is_reproducible(tmp_path):
    from ftlib import make_data

    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    for name, shape in (("train-images-idx3-ubyte.gz", (40, 28, 28)), ("t10k-images-idx3-ubyte.gz", (20, 28, 28))):
        arr = rng.integers(0, 255, shape).astype(np.uint8)
        header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in shape)
        with gzip.open(src / name, "wb") as fh:
            fh.write(header + arr.tobytes())
    for name, n in (("train-labels-idx1-ubyte.gz", 40), ("t10k-labels-idx1-ubyte.gz", 20)):
        with gzip.open(src / name, "wb") as fh:
            fh.write(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + (np.arange(n) % 10).astype(np.uint8).tobytes())
    a = make_data.build(src, tmp_path / "a", train_per_class=3, test_per_class=1)
    b = make_data.build(src, tmp_path / "b", train_per_class=3, test_per_class=1)
    assert a.read_bytes() == b.read_bytes()
    x, y = ftlib.load_fashion_mnist("train", data_dir=tmp_path / "a")
    assert len(x) == 30 and torch.equal(torch.bincount(y), torch.full((10,), 3))
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        make_data.build(tmp_path / "empty", tmp_path / "c")


def test_every_shipped_file_says_what_it_is():
    """Lesson 00's data check prints FILE_ROLES beside each checksum: no file without a word about it."""
    assert set(data.read_manifest()) <= set(data.FILE_ROLES)
    assert all((data.DATA_DIR / name).exists() for name in data.FILE_ROLES)
