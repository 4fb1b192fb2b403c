"""ftlib — the helper library of *Fine-Tuning, Hands-On*.

Each module is named by the concept it implements and points to the lesson
that explains it.  Importing ftlib has no side effects: no seeding, no
downloads, no device probing.

Most used names, re-exported for convenience::

    from ftlib import load_fashion_mnist, load_pretrained, fit, evaluate, freeze_to
"""
from __future__ import annotations

__version__ = "0.1.0"

from ftlib.env import environment_report, pick_device, seed_everything
from ftlib.data import (
    CLASS_NAMES,
    DataFileError,
    batches,
    class_subset,
    k_shot,
    load_fashion_mnist,
    to_input,
)
from ftlib.models import NetB, load_pretrained, replace_head
from ftlib.freezing import freeze, freeze_to, trainable_summary, unfreeze
from ftlib.training import History, TrainingDiverged, evaluate, fit

__all__ = [
    "CLASS_NAMES", "DataFileError", "History", "NetB", "TrainingDiverged",
    "batches", "class_subset", "environment_report", "evaluate", "fit",
    "freeze", "freeze_to", "k_shot", "load_fashion_mnist", "load_pretrained",
    "pick_device", "replace_head", "seed_everything", "to_input",
    "trainable_summary", "unfreeze",
]
