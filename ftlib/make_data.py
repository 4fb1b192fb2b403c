"""Build ``data/fashion_mnist_subset.npz`` from the full Fashion-MNIST (``make data``).

Deterministic: the same source files and seed give a byte-identical archive.  The
full set comes from Debian's ``dataset-fashion-mnist`` package
(``/usr/share/datasets/fashion-mnist``) or any folder with the four gzipped IDX files.
"""
from __future__ import annotations

import argparse
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np

from ftlib.data import DATA_DIR, DATA_FILE, MANIFEST, sha256_of

SOURCE = Path("/usr/share/datasets/fashion-mnist")
FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
         "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
TRAIN_PER_CLASS, TEST_PER_CLASS, SEED = 2000, 500, 20261125


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def stratified(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` examples of each class, sorted (so order is stable)."""
    picks = [np.sort(rng.permutation(np.flatnonzero(y == c))[:per_class]) for c in range(10)]
    return np.sort(np.concatenate(picks))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed with fixed timestamps, so the bytes are reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)


def update_manifest(data_dir: Path, name: str) -> None:
    """Add or refresh ``name``'s sha256 line in the manifest."""
    manifest = data_dir / MANIFEST
    lines = [ln for ln in (manifest.read_text().splitlines() if manifest.exists() else [])
             if ln.strip() and not ln.endswith(f"  {name}")]
    lines.append(f"{sha256_of(data_dir / name)}  {name}")
    manifest.write_text("\n".join(sorted(lines, key=lambda ln: ln.split()[-1])) + "\n")


def build(source: Path = SOURCE, out_dir: Path = DATA_DIR, train_per_class: int = TRAIN_PER_CLASS,
          test_per_class: int = TEST_PER_CLASS, seed: int = SEED) -> Path:
    """Write the subset archive and update the manifest; return the archive's path."""
    missing = [f for f in FILES.values() if not (source / f).exists()]
    if missing:
        raise FileNotFoundError(f"{source} lacks {missing}: install Debian's dataset-fashion-mnist "
                                "or pass --source with the four gzipped IDX files")
    full = {key: read_idx(source / name) for key, name in FILES.items()}
    rng = np.random.default_rng(seed)
    tr = stratified(full["y_train"], train_per_class, rng)
    te = stratified(full["y_test"], test_per_class, rng)
    arrays = {"x_train": full["x_train"][tr], "y_train": full["y_train"][tr],
              "x_test": full["x_test"][te], "y_test": full["y_test"][te]}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_npz(out_dir / DATA_FILE, arrays)
    update_manifest(out_dir, DATA_FILE)
    return out_dir / DATA_FILE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--train-per-class", type=int, default=TRAIN_PER_CLASS)
    parser.add_argument("--test-per-class", type=int, default=TEST_PER_CLASS)
    args = parser.parse_args(argv)
    path = build(args.source, args.out, args.train_per_class, args.test_per_class)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and updated {args.out / MANIFEST}")


if __name__ == "__main__":
    main()
