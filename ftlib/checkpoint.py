"""Saving and loading weights safely: safetensors plus a JSON sidecar (lessons 00 and 10).

Writes are atomic (a temporary file renamed into place, so a crash mid-save leaves the
old file intact) and never overwrite an existing file unless ``overwrite=True``.
Loading never unpickles anything.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from ftlib.data import sha256_of


PREVIOUS = ".prev"  # suffix of the previous complete pair, kept while a new pair is being put in place


class SidecarMismatch(RuntimeError):
    """The weights file is not the one its JSON sidecar describes (and no complete earlier pair exists)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a temporary file beside ``path``, flushed to disk, with ordinary permissions."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file gets what the umask gives
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files a killed save of ``path`` left behind (they are never read)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the renames themselves durable
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder (lesson 10)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it, "
                              "or choose another name (nothing was written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = _write_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _keep_previous(path: Path) -> None:
    """A second name for the current ``path`` (a hard link, or a copy where links are not possible)."""
    previous = path.with_name(path.name + PREVIOUS)
    previous.unlink(missing_ok=True)
    try:
        os.link(path, previous)
    except OSError:
        tmp = _write_temporary(path, path.read_bytes())
        os.replace(tmp, previous)


def save_weights(model: nn.Module, stem: str | Path, meta: dict, overwrite: bool = False) -> tuple[Path, Path]:
    """Save ``stem.safetensors`` and ``stem.json`` (``meta`` plus the weights' sha256) as one pair.

    The two files cannot be replaced in one atomic step, so the save keeps the old pair reachable
    (``*.prev``) until the new pair is complete: a process killed at any moment leaves the old pair or the
    new one, and :func:`resolve_pair` finds whichever is complete (lesson 10).
    """
    from safetensors.torch import save

    stem = Path(stem)
    weights, sidecar = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    for path in (weights, sidecar):
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it "
                                  "(nothing was written)")
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    data = save(state)
    meta = {**meta, "weights_file": weights.name, "weights_sha256": hashlib.sha256(data).hexdigest()}
    meta["sidecar_sha256"] = sidecar_digest(meta)
    for path in (weights, sidecar):
        _remove_stale_temporaries(path)
    new_weights = _write_temporary(weights, data)
    try:
        new_sidecar = _write_temporary(sidecar, (json.dumps(meta, indent=2) + "\n").encode())
    except BaseException:
        new_weights.unlink(missing_ok=True)
        raise
    try:
        if _matches(weights, sidecar) is not None:  # keep the current pair only if it is complete: after an
            _keep_previous(weights)                # interrupted save the *.prev pair is the complete one
            _keep_previous(sidecar)
        os.replace(new_weights, weights)   # from here until the next line, the .prev pair is the complete one
        os.replace(new_sidecar, sidecar)
        _sync_folder(weights.parent)
    except BaseException:
        new_weights.unlink(missing_ok=True)
        new_sidecar.unlink(missing_ok=True)
        raise
    for path in (weights, sidecar):
        path.with_name(path.name + PREVIOUS).unlink(missing_ok=True)
    return weights, sidecar


def sidecar_digest(meta: dict) -> str:
    """sha256 of the sidecar's own contents (all but this field): an edit after saving is detected."""
    body = {k: v for k, v in meta.items() if k != "sidecar_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_sidecar(meta: dict, name: str) -> None:
    """A sidecar edited by hand (class names, normalisation, architecture) would load and predict wrongly."""
    recorded = meta.get("sidecar_sha256")
    if recorded is not None and recorded != sidecar_digest(meta):
        raise SidecarMismatch(f"{name} was edited after the model was saved (its contents no longer match the "
                              "checksum recorded in it), so its class names or normalisation may not be the ones "
                              "the weights were trained with: restore the original file, or save the model again")


def _matches(weights: Path, sidecar: Path) -> dict | None:
    """The sidecar's contents if both files exist and the weights are the ones it records."""
    if not (weights.exists() and sidecar.exists()):
        return None
    try:
        meta = json.loads(sidecar.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    return meta if meta.get("weights_sha256") == sha256_of(weights) else None


def resolve_pair(stem: str | Path) -> tuple[Path, dict]:
    """The weights file and sidecar of the newest *complete* save of ``stem``.

    Normally ``stem.safetensors`` with ``stem.json``. If a save was killed between its two renames, the
    previous pair (``*.prev``) is returned, with a warning; if neither pair is complete, a
    :class:`SidecarMismatch` says so.
    """
    stem = Path(stem)
    weights, sidecar = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    if not sidecar.exists():
        raise FileNotFoundError(f"sidecar {sidecar} does not exist: save the model with ftlib.deploy.save_model "
                                "(it writes the weights and the sidecar together)")
    meta = _matches(weights, sidecar)
    if meta is not None:
        check_sidecar(meta, sidecar.name)
        return weights, meta
    prev_weights, prev_sidecar = (p.with_name(p.name + PREVIOUS) for p in (weights, sidecar))
    meta = _matches(prev_weights, prev_sidecar)
    if meta is not None:
        check_sidecar(meta, prev_sidecar.name)
        warnings.warn(f"the last save of {stem.name} was interrupted; loading the previous complete save "
                      f"({prev_weights.name} + {prev_sidecar.name}). Save the model again.", stacklevel=2)
        return prev_weights, meta
    raise SidecarMismatch(_mismatch_message(weights, sidecar))


def _mismatch_message(weights: Path, sidecar: Path) -> str:
    try:
        expected = json.loads(sidecar.read_text()).get("weights_sha256")
    except (ValueError, UnicodeDecodeError):
        return f"{sidecar.name} is not valid JSON: restore it from the save that wrote {weights.name}, or save again."
    if expected is None:
        return f"{weights.name}: the sidecar records no weights_sha256, so the weights cannot be checked"
    actual = sha256_of(weights) if weights.exists() else "missing"
    return (f"{weights.name} does not match its sidecar (sha256 {actual[:12]}… vs {expected[:12]}…): the two "
            "files come from different saves — an interrupted save or a copied file. Save the model again.")


def check_safetensors_file(path: Path) -> None:
    """One clear sentence when ``path`` is not a safetensors file (a pickle, a zip, an image, a text file)."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        raise ValueError(f"{path} is a pickled PyTorch file (torch.save), not safetensors, even if it is named so: "
                         "ftlib never unpickles (a pickle can run code). Convert it where you trust it: "
                         "safetensors.torch.save_file(torch.load(f, weights_only=True), 'model.safetensors')")
    size = path.stat().st_size
    header = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
    if len(head) < 9 or header <= 0 or header > size - 8 or head[8:9] != b"{":
        raise ValueError(f"{path} is not a safetensors file (it does not start with a safetensors header): "
                         "was it written with safetensors.torch.save_file or ftlib.deploy.save_model?")


def load_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file (no pickle involved)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} does not exist")
    check_safetensors_file(path)
    return load_file(str(path))
