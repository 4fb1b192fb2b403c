"""The course workflow on your own photos with torchvision's ImageNet weights (lesson 11).

A folder of images in ImageFolder layout (one sub-folder per class)::

    my_photos/
        cats/  img1.jpg img2.jpg ...
        dogs/  ...

is loaded with *the transforms the weights expect* (``weights.transforms()``: resize, centre
crop, ImageNet mean and std), a torchvision model gets a fresh head, and it is fine-tuned
with ftlib: :func:`ftlib.freeze` (head only), then the whole network (LP-FT, the default; or gradual
unfreezing with :func:`ftlib.freeze_to`), :func:`ftlib.fit` and :func:`ftlib.evaluate`, and a
per-class report from :mod:`ftlib.metrics`.

Weights are chosen with the ``weights=`` API (``ResNet18_Weights.IMAGENET1K_V1`` or
``"DEFAULT"``), never ``pretrained=True``.  Nothing here touches the network unless asked:
:func:`check_ready` only looks at the local cache unless ``allow_download=True``, and then
it first checks, with a short timeout, that the download server can be reached.
``weights=None`` runs the same code with random weights — that is how the tests and the
offline lesson exercise it on a tiny generated folder (:func:`make_demo_folder`).
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch import nn

from ftlib.augment import shift_flip
from ftlib.data import train_val_split
from ftlib.freezing import block_names, freeze_to, trainable_summary
from ftlib.metrics import classification_report
from ftlib.training import evaluate, fit, predict

DEFAULT_ARCH = "resnet18"


# ----------------------------------------------------------------------------- weights
def get_weights(arch: str = DEFAULT_ARCH, weights: str | None = "DEFAULT"):
    """The weights enum member for ``arch`` (``"DEFAULT"`` or a name like ``"IMAGENET1K_V1"``); None stays None."""
    if weights is None:
        return None
    from torchvision.models import get_model_weights

    enum = get_model_weights(arch)
    return enum.DEFAULT if weights == "DEFAULT" else enum[weights.split(".")[-1]]


def weights_file(arch: str = DEFAULT_ARCH, weights: str = "DEFAULT") -> Path:
    """Where torch.hub keeps (or would keep) the weights file: no network involved."""
    w = get_weights(arch, weights)
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(w.url).path).name


def can_reach(url: str, timeout: float = 3.0) -> bool:
    """True if a TCP connection to ``url``'s host opens within ``timeout`` seconds."""
    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def check_ready(image_folder: str | Path | None, arch: str = DEFAULT_ARCH, weights: str | None = "DEFAULT",
                allow_download: bool = False) -> tuple[bool, str]:
    """Can the real-world run go ahead?  (ready, reason).  Without a folder, no network call is made."""
    if image_folder is None:
        return False, "no image folder was given (set IMAGE_FOLDER to a folder with one sub-folder per class)"
    folder = Path(image_folder).expanduser()
    if not folder.is_dir():
        return False, f"the image folder {folder} does not exist"
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        return False, f"{folder} needs at least two sub-folders, one per class; found {classes}"
    if weights is None:
        return True, "random weights (weights=None): no download needed"
    if weights_file(arch, weights).exists():
        return True, f"the {arch} weights are in the local cache"
    if not allow_download:
        return False, (f"the {arch} weights are not cached at {weights_file(arch, weights)}; set "
                       "ALLOW_DOWNLOAD = True to download them (about 45 MB for resnet18)")
    url = get_weights(arch, weights).url
    if not can_reach(url):
        return False, f"offline: cannot reach {urlparse(url).hostname}, so the weights cannot be downloaded"
    return True, "the weights will be downloaded once, then cached"


# ------------------------------------------------------------------------------- data
def folder_transform(arch: str = DEFAULT_ARCH, weights: str | None = "DEFAULT", image_size: int | None = None):
    """The preprocessing the weights expect: ``weights.transforms()`` (resize, crop, normalise).

    With ``weights=None`` the same ImageNet preprocessing of the default weights is used;
    ``image_size`` shrinks the crop (for tests on a CPU), keeping the resize/crop ratio.
    """
    from torchvision.models import get_model_weights

    w = get_weights(arch, weights) or get_model_weights(arch).DEFAULT
    preset = w.transforms()
    if image_size is None:
        return preset
    from torchvision import transforms as T

    resize = int(round(image_size * preset.resize_size[0] / preset.crop_size[0]))
    return T.Compose([T.Resize(resize, interpolation=preset.interpolation, antialias=True),
                      T.CenterCrop(image_size), T.PILToTensor(), T.ConvertImageDtype(torch.float32),
                      T.Normalize(preset.mean, preset.std)])


def load_image_folder(root: str | Path, transform, max_per_class: int | None = 100
                      ) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """All images of an ImageFolder as one float tensor (N, 3, H, W), labels, class names."""
    from torchvision.datasets import ImageFolder

    dataset = ImageFolder(str(root), transform=transform)
    counts: dict[int, int] = {}
    xs, ys = [], []
    for path, label in dataset.samples:
        if max_per_class is not None and counts.get(label, 0) >= max_per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        image = dataset.loader(path).convert("RGB")
        xs.append(transform(image))
        ys.append(label)
    if not xs:
        raise ValueError(f"no images found under {root}")
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64), list(dataset.classes)


def make_demo_folder(root: str | Path, n_per_class: int = 8, size: int = 48, seed: int = 0) -> Path:
    """A tiny ImageFolder of generated PNGs: horizontal vs vertical stripes (for tests and offline demos)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = Path(root)
    for name, axis in (("horizontal", 0), ("vertical", 1)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            period = int(rng.integers(4, 10))
            stripes = (np.arange(size) // (period // 2)) % 2
            grid = stripes[:, None] if axis == 0 else stripes[None, :]
            image = np.broadcast_to(grid, (size, size)) * 180 + rng.integers(0, 60, (size, size))
            colour = rng.uniform(0.5, 1.0, 3)
            rgb = (image[..., None] * colour).clip(0, 255).astype(np.uint8)
            Image.fromarray(rgb).save(root / name / f"{name}_{i:02d}.png")
    return root


# ------------------------------------------------------------------------------ model
def build_model(arch: str = DEFAULT_ARCH, weights: str | None = "DEFAULT", num_classes: int = 2,
                seed: int = 0) -> nn.Module:
    """A torchvision model with ``weights`` (downloaded if not cached) and a fresh head."""
    from torchvision.models import get_model

    torch.manual_seed(seed)
    model = get_model(arch, weights=get_weights(arch, weights))
    if isinstance(getattr(model, "fc", None), nn.Linear):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    elif isinstance(getattr(model, "classifier", None), nn.Sequential) and isinstance(model.classifier[-1], nn.Linear):
        model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, num_classes)
    else:
        raise ValueError(f"do not know where the head of {arch} is; use a ResNet, MobileNet or EfficientNet")
    return model


@dataclass
class FolderRun:
    """What :func:`finetune_folder` did: model, classes, per-stage summaries and the validation report."""

    model: nn.Module
    classes: list[str]
    transform: object
    stages: list[dict] = field(default_factory=list)
    report: dict = field(default_factory=dict)


PLANS = ("lp-ft", "gradual")


def _stage_blocks(plan: str, stages: int | None, n_blocks: int) -> list[int]:
    """The ``freeze_to`` index of every stage (the blocks below it stay frozen)."""
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {PLANS}, got {plan!r}")
    if plan == "lp-ft":
        if stages not in (None, 2):
            raise ValueError(f"LP-FT has exactly 2 stages (the head, then everything), got stages={stages}; "
                             "use plan='gradual' for more")
        return [n_blocks - 1, 0]
    stages = 3 if stages is None else stages
    if isinstance(stages, bool) or not isinstance(stages, int) or not 1 <= stages <= n_blocks:
        raise ValueError(f"stages must be a whole number from 1 to {n_blocks} for this model, got {stages!r}")
    return [n_blocks - 1 - i for i in range(stages)]


def finetune_folder(root: str | Path, arch: str = DEFAULT_ARCH, weights: str | None = "DEFAULT", *,
                    plan: str = "lp-ft", stages: int | None = None, steps_per_stage: int = 20, lr: float = 1e-3,
                    head_lr: float = 1e-2, batch_size: int = 16, image_size: int | None = None,
                    val_fraction: float = 0.25, max_per_class: int | None = 100, seed: int = 0) -> FolderRun:
    """Fine-tune ``arch`` on an ImageFolder in stages; report on a held-out split.

    Stage 1 trains the new head only (:func:`ftlib.freeze`) at ``head_lr``.  Then ``plan="lp-ft"``
    (the default) trains everything at ``lr`` (LP-FT: lesson 04 measured no target cost and more of the
    source task kept); ``plan="gradual"`` unfreezes one more block from the top per stage
    (:func:`ftlib.freeze_to`), every stage at ``lr`` (lesson 05: no target gain over plain fine-tuning).
    Frozen BatchNorm layers stay in eval mode (ftlib handles that).
    """
    transform = folder_transform(arch, weights, image_size)
    x, y, classes = load_image_folder(root, transform, max_per_class)
    (x_tr, y_tr), (x_val, y_val) = train_val_split(x, y, val_fraction, seed=seed)
    model = build_model(arch, weights, len(classes), seed=seed)
    run = FolderRun(model, classes, transform)
    for stage, frozen_to in enumerate(_stage_blocks(plan, stages, len(block_names(model)))):
        freeze_to(model, frozen_to)
        stage_lr = head_lr if stage == 0 else lr
        history = fit(model, x_tr, y_tr, steps=steps_per_stage, lr=stage_lr, batch_size=batch_size,
                      augment=shift_flip(max_shift=max(1, x.shape[-1] // 16)), seed=seed + stage, progress=False)
        trainable = [r["block"] for r in trainable_summary(model) if r["trainable"]]
        run.stages.append({"stage": stage + 1, "trainable_blocks": trainable, "lr": stage_lr,
                           "trainable_params": sum(r["trainable"] for r in trainable_summary(model)),
                           "final_loss": history.loss[-1], **{f"val_{k}": v for k, v in
                                                              evaluate(model, x_val, y_val).items()}})
    run.report = classification_report(y_val, predict(model, x_val).argmax(1), len(classes))
    return run


def describe_plan(image_folder: str | Path | None, arch: str = DEFAULT_ARCH, weights: str = "DEFAULT",
                  plan: str = "lp-ft", stages: int | None = None, steps_per_stage: int = 20) -> str:
    """What :func:`finetune_folder` would do, in words (printed when the lesson skips)."""
    w = get_weights(arch, weights)
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {PLANS}, got {plan!r}")
    then = (f"then the whole network (LP-FT), 2 stages × {steps_per_stage} steps, head lr 1e-2 then lr 1e-3"
            if plan == "lp-ft" else f"then unfreeze one block per stage (ftlib.freeze_to), {stages or 3} stages × "
            f"{steps_per_stage} steps, the same lr in every stage")
    return "\n".join([
        f"1. Load {image_folder or 'IMAGE_FOLDER'} with torchvision's ImageFolder (one sub-folder per class).",
        f"2. Preprocess exactly as the weights expect: {w}.transforms() — resize {w.transforms().resize_size[0]}, "
        f"centre crop {w.transforms().crop_size[0]}, ImageNet mean/std.",
        f"3. Build {arch} with weights={w} (weights= API), replace its head by one output per class.",
        f"4. Hold out a stratified validation split; train the head only (ftlib.freeze), {then}.",
        "5. Report accuracy and per-class precision / recall / F1 (ftlib.metrics) on the validation split.",
    ])
