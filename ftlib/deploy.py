"""Deployment: save, load, predict from raw images, export, model card (lesson 10).

- :func:`save_model` / :func:`load_model`: safetensors plus a JSON sidecar (architecture,
  classes, normalisation, metrics) through :mod:`ftlib.checkpoint` — atomic, never
  overwriting silently; loading checks the weights' sha256 against the sidecar and never
  unpickles.
- :func:`prepare` turns raw images (PIL images, uint8 NumPy arrays or tensors) into exactly
  the training input, and rejects a wrong size, dtype or channel count with a clear error.
  :class:`Predictor` = loaded model + sidecar + :func:`prepare`.
- :func:`export_program` writes a ``torch.export`` program (``.pt2``) that takes raw uint8
  images — preprocessing included — and runs with no ftlib or model code at all.
- :func:`model_card` writes a short model card from the sidecar.
- Fresh processes: ``python -m ftlib.deploy predict STEM IMAGES OUT`` and
  :func:`predict_in_fresh_process` / :func:`run_export_in_fresh_process`, so a lesson can
  check that what was saved is all that is needed.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ftlib.checkpoint import (SidecarMismatch, atomic_write_bytes, check_safetensors_file, load_state,
                              resolve_pair, save_weights)  # SidecarMismatch: re-exported for lesson 10
from ftlib.data import MEAN, STD
from ftlib.models import NetB

IMAGE_SIZE = (28, 28)



# ----------------------------------------------------------------------------- save / load
def make_sidecar(model: NetB, classes: Sequence[int], class_names: Sequence[str], *,
                 metrics: dict | None = None, data: dict | None = None, recipe: dict | None = None,
                 name: str = "netb-finetuned", **extra: Any) -> dict:
    """The JSON sidecar: everything needed to rebuild, feed and judge the model."""
    return {"name": name,
            "architecture": {"name": type(model).__name__, **model.config},
            "classes": [int(c) for c in classes], "class_names": list(class_names),
            "normalisation": {"mean": MEAN, "std": STD, "input": "1×28×28 grayscale, uint8/255",
                              "image_size": list(IMAGE_SIZE)},
            "metrics": metrics or {}, "data": data or {}, "recipe": recipe or {},
            "torch": torch.__version__, **extra}


def save_model(model: NetB, stem: str | Path, sidecar: dict, overwrite: bool = False) -> tuple[Path, Path]:
    """``stem.safetensors`` + ``stem.json``; atomic, and an error if either exists (unless overwrite)."""
    return save_weights(model, stem, sidecar, overwrite=overwrite)


def read_sidecar(stem: str | Path) -> dict:
    """The JSON sidecar ``stem.json``."""
    path = Path(stem).with_suffix(".json")
    if not path.exists():
        raise FileNotFoundError(f"sidecar {path} does not exist")
    return json.loads(path.read_text())


def load_model(stem: str | Path) -> tuple[NetB, dict]:
    """Rebuild the model from ``stem.json``, load ``stem.safetensors``; (model in eval mode, sidecar)."""
    weights, meta = resolve_pair(stem)   # the newest complete pair; an interrupted save falls back
    arch = dict(meta["architecture"])
    if arch.pop("name", None) != "NetB":
        raise ValueError(f"the sidecar describes a {meta['architecture'].get('name')!r}; load_model builds NetB")
    names, classes = meta.get("class_names"), meta.get("classes")
    if names is not None and len(names) != arch.get("num_classes"):
        raise SidecarMismatch(f"the sidecar names {len(names)} classes but describes a {arch.get('num_classes')}-class "
                              "head: fix class_names, or save the model again")
    if classes is not None and names is not None and len(classes) != len(names):
        raise SidecarMismatch(f"the sidecar lists {len(classes)} classes but {len(names)} class names")
    try:
        model = NetB(**arch)
        model.load_state_dict(load_state(weights))
    except (TypeError, RuntimeError) as exc:
        raise SidecarMismatch(f"the weights do not fit the architecture the sidecar describes ({arch}): "
                              f"{str(exc).splitlines()[0]}") from None
    return model.eval(), meta


# ------------------------------------------------------------------------- preprocessing
def _to_array(image: Any) -> np.ndarray | torch.Tensor:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - PIL comes with torchvision
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        if image.mode not in ("L", "P", "1"):
            channels = len(image.getbands())
            raise ValueError(f"expected a grayscale image (1 channel), got a PIL image in mode "
                             f"{image.mode!r} with {channels} channels; convert it with image.convert('L')")
        if image.mode != "L":
            image = image.convert("L")
        return np.asarray(image)
    return image


def prepare(images: Any, meta: dict | None = None) -> torch.Tensor:
    """Raw images -> the float batch (N, 1, 28, 28) the model was trained on.

    Accepts one PIL image or a list of them, or uint8 arrays/tensors shaped (28, 28),
    (28, 28, 1), (N, 28, 28), (N, 28, 28, 1) or (N, 1, 28, 28), pixel values 0-255.
    Normalisation (mean, std) comes from the sidecar ``meta`` when given.  Anything else
    — a wrong size, dtype or channel count — is an error that says what to do.
    """
    norm = (meta or {}).get("normalisation", {})
    mean, std = float(norm.get("mean", MEAN)), float(norm.get("std", STD))
    size = tuple(norm.get("image_size", IMAGE_SIZE))
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("got an empty list of images")
        return torch.cat([prepare(im, meta) for im in images])
    x = _to_array(images)
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.array(x, copy=True))  # a copy: PIL arrays are read-only
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a PIL image, a NumPy array or a tensor, got {type(images).__name__}")
    if x.dtype != torch.uint8:
        hint = (" — values in [0, 1]? multiply by 255 and round first: (x * 255).round().astype('uint8')"
                if x.is_floating_point() else "")
        raise TypeError(f"expected uint8 pixels 0-255 (as in training), got dtype {x.dtype}{hint}")
    if x.ndim == 2:                                   # one image (H, W)
        x = x[None, None]
    elif x.ndim == 3 and x.shape[-1] in (1, 3, 4) and x.shape[1] > 4:
        x = x.permute(2, 0, 1)[None]                  # one image, channels last (H, W, C)
    elif x.ndim == 3:                                 # a batch (N, H, W)
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.permute(0, 3, 1, 2)                     # a batch, channels last (N, H, W, C)
    elif x.ndim != 4:
        raise ValueError(f"expected one image (H, W) or a batch (N, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] != 1:
        raise ValueError(f"expected grayscale images (1 channel), got {x.shape[1]} channels; convert to "
                         "grayscale first (PIL: image.convert('L'))")
    if tuple(x.shape[-2:]) != size:
        raise ValueError(f"expected {size[0]}×{size[1]} images (the training size), got "
                         f"{x.shape[-2]}×{x.shape[-1]}; resize first, e.g. image.resize(({size[1]}, {size[0]}))")
    return (x.float() / 255.0 - mean) / std


class Predictor:
    """A loaded model with its sidecar: raw images in, classes and probabilities out."""

    def __init__(self, model: nn.Module, meta: dict) -> None:
        self.model, self.meta = model.eval(), meta
        self.class_names = list(meta["class_names"])

    @classmethod
    def load(cls, stem: str | Path) -> "Predictor":
        return cls(*load_model(stem))

    @torch.no_grad()
    def logits(self, images: Any, batch_size: int = 1000) -> torch.Tensor:
        x = prepare(images, self.meta)
        return torch.cat([self.model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    def __call__(self, images: Any) -> list[dict]:
        """One dict per image: ``label`` (index), ``class_name``, ``probability``, ``probabilities``."""
        probs = torch.softmax(self.logits(images), dim=1)
        out = []
        for p in probs:
            i = int(p.argmax())
            out.append({"label": i, "class_name": self.class_names[i], "probability": float(p[i]),
                        "probabilities": {n: float(v) for n, v in zip(self.class_names, p)}})
        return out


# ------------------------------------------------------------------------------- export
class RawImageModel(nn.Module):
    """``model`` with the training preprocessing in front: uint8 (N, 28, 28) in, logits out."""

    def __init__(self, model: nn.Module, mean: float = MEAN, std: float = STD) -> None:
        super().__init__()
        self.model, self.mean, self.std = model, mean, std

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(((images.float() / 255.0 - self.mean) / self.std).unsqueeze(1))


def export_program(model: nn.Module, path: str | Path, meta: dict | None = None,
                   overwrite: bool = False) -> Path:
    """Export ``model`` + preprocessing with ``torch.export`` to a ``.pt2`` file (atomic, no overwrite).

    The batch dimension is dynamic; the program takes uint8 images (N, 28, 28).
    """
    norm = (meta or {}).get("normalisation", {})
    wrapped = RawImageModel(model, float(norm.get("mean", MEAN)), float(norm.get("std", STD))).eval()
    example = torch.zeros(2, *IMAGE_SIZE, dtype=torch.uint8)
    program = torch.export.export(wrapped, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return atomic_write_bytes(Path(path), buffer.getvalue(), overwrite=overwrite)


def load_program(path: str | Path) -> nn.Module:
    """The exported program as a callable module (uint8 images in, logits out)."""
    return torch.export.load(str(path)).module()


# ----------------------------------------------------------------------------- model card
def model_card(meta: dict) -> str:
    """A short Markdown model card (Mitchell et al. 2019) generated from the sidecar."""
    arch, norm, m = meta.get("architecture", {}), meta.get("normalisation", {}), meta.get("metrics", {})
    lines = [f"# Model card: {meta.get('name', 'model')}", "",
             "## Model",
             f"- Architecture: {arch.get('name')} (widths {arch.get('widths')}, convs {arch.get('convs')}), "
             f"{arch.get('num_classes')} classes",
             f"- Weights: `{meta.get('weights_file')}` (sha256 {str(meta.get('weights_sha256'))[:12]}…), "
             f"torch {str(meta.get('torch', '?')).split('+')[0]}",
             "", "## Intended use",
             f"- {meta.get('intended_use', 'Teaching: classify 28×28 grayscale clothing images.')}",
             f"- Classes: {', '.join(f'{i} = {n}' for i, n in enumerate(meta.get('class_names', [])))}",
             f"- Input: {norm.get('input', '?')}; normalised with mean {norm.get('mean')} and std {norm.get('std')}",
             "", "## Training"]
    for key, value in meta.get("data", {}).items():
        lines.append(f"- Data {key}: {value}")
    for key, value in meta.get("recipe", {}).items():
        lines.append(f"- {key}: {value}")
    lines += ["", "## Evaluation"]
    for key, value in m.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:.4f}"
        lines.append(f"- {key}: {value}")
    lines += ["", "## Limitations",
              f"- {meta.get('limitations', 'Only the classes above; other inputs still get one of these labels.')}"]
    return "\n".join(lines)


# ------------------------------------------------------------------------ fresh processes
def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run(args: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None) -> None:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"the fresh process failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def save_images(images: torch.Tensor, path: str | Path) -> Path:
    """uint8 images to a safetensors file (key ``images``), for a fresh process to read."""
    from safetensors.torch import save

    return atomic_write_bytes(Path(path), save({"images": images.contiguous()}), overwrite=True)


def predict_in_fresh_process(stem: str | Path, images: torch.Tensor, workdir: str | Path) -> torch.Tensor:
    """Start a new Python, load ``stem`` there with :class:`Predictor`, return its logits for ``images``."""
    from safetensors.torch import load_file

    workdir = Path(workdir)
    src, out = save_images(images, workdir / "fresh_images.safetensors"), workdir / "fresh_logits.safetensors"
    out.unlink(missing_ok=True)
    _run(["-m", "ftlib.deploy", "predict", str(stem), str(src), str(out),
          "--threads", str(torch.get_num_threads())], env=_child_env())
    return load_file(str(out))["logits"]


EXPORT_CHILD = """
import sys
sys.modules['ftlib'] = None  # any 'import ftlib' now fails: the program must not need it
import torch
from safetensors.torch import load_file, save_file
torch.set_num_threads(int(sys.argv[4]))
program = torch.export.load(sys.argv[1]).module()
with torch.no_grad():
    logits = program(load_file(sys.argv[2])['images'])
save_file({'logits': logits.contiguous()}, sys.argv[3])
"""


def run_export_in_fresh_process(program: str | Path, images: torch.Tensor, workdir: str | Path) -> torch.Tensor:
    """Run an exported ``.pt2`` in a new, isolated Python (``-I``) where ftlib cannot be imported."""
    from safetensors.torch import load_file

    workdir = Path(workdir)
    src, out = save_images(images, workdir / "export_images.safetensors"), workdir / "export_logits.safetensors"
    out.unlink(missing_ok=True)
    _run(["-I", "-c", EXPORT_CHILD, str(program), str(src), str(out), str(torch.get_num_threads())],
         cwd=workdir)
    return load_file(str(out))["logits"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ftlib deployment tools (lesson 10)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="logits of a saved model for uint8 images in a safetensors file")
    p.add_argument("stem", type=Path)
    p.add_argument("images", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (never the inputs)")
    c = sub.add_parser("card", help="print the model card of a saved model")
    c.add_argument("stem", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "card":
            print(model_card(read_sidecar(args.stem)))
        else:
            _predict_command(args)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        # one sentence for the person at the command line, not a traceback (issue 11)
        print(f"ftlib.deploy {args.command}: {_one_line(exc)}", file=sys.stderr)
        raise SystemExit(1) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, (OSError, ValueError, TypeError)) else f"{type(exc).__name__}: {text}"


def _predict_command(args: argparse.Namespace) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save

    out = args.out.resolve()
    inputs = {args.images.resolve(), *(Path(args.stem).with_suffix(s).resolve() for s in (".safetensors", ".json"))}
    if out in inputs:
        raise ValueError(f"the output {args.out} is one of the inputs; it would be overwritten: choose another name")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{args.out} already exists; pass --overwrite to replace it (nothing was written)")
    if not args.images.exists():
        raise FileNotFoundError(f"images file {args.images} does not exist")
    check_safetensors_file(args.images)
    try:
        images = load_file(str(args.images))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{args.images} is not a safetensors file of images ({_one_line(exc)}); write one with "
                         "ftlib.deploy.save_images(images, path)") from None
    if "images" not in images:
        raise ValueError(f"{args.images} holds {sorted(images)} but no tensor named 'images'; write it with "
                         "ftlib.deploy.save_images(images, path)")
    if args.threads:
        torch.set_num_threads(args.threads)
    logits = Predictor.load(args.stem).logits(images["images"])
    atomic_write_bytes(out, save({"logits": logits.contiguous()}), overwrite=True)


if __name__ == "__main__":
    main()
