"""Bad input and faults against ftlib's public API: one clear sentence each, never a silent wrong result (issue 11).

Each probe is what a student or instructor might really do. ``clear(...)`` expects an exception of a given
type whose message matches (a sentence that says what was wrong and what to do); ``works(...)`` expects a
correct result. ``python -m tests.test_bad_input`` prints the table of outcomes for the closing note.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import pytest
import torch

import ftlib
from ftlib import domain, live
from ftlib import regularizers as R
from ftlib.data import class_subset, train_val_split
from ftlib.exercises import FunctionExercise
from ftlib.forgetting import probe_accuracy
from ftlib.lr_finder import lr_find
from ftlib.probing import train_probe


@dataclass
class Probe:
    name: str
    run: Callable
    error: type | None = None      # None: the call must work and ``check`` its result
    match: str = ""
    check: Callable = lambda result: True


def clear(name, run, error, match):
    return Probe(name, run, error, match)


def works(name, run, check=lambda result: True):
    return Probe(name, run, check=check)


torch.manual_seed(0)
X = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8)
Y = torch.arange(20) % 5


def net():
    torch.manual_seed(0)
    return ftlib.NetB(num_classes=5)


def fit(**kw):
    args = dict(steps=3, batch_size=None, progress=False)
    args.update(kw)
    model = args.pop("model", None) or net()
    return ftlib.fit(model, args.pop("x", X), args.pop("y", Y), **args)


def _optimizer_before_unfreeze():
    model = ftlib.freeze(net())
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    ftlib.unfreeze(model)
    return ftlib.fit(model, X, Y, steps=2, optimizer=opt, progress=False)


def _nan_regularizer(model):
    return torch.tensor(float("nan"))


def _nan_fisher():
    model = net()
    fisher = {n: torch.full_like(p, float("nan")) for n, p in model.named_parameters()}
    reg = R.ewc(model, R.snapshot(model), fisher, lam=1.0)
    return ftlib.fit(model, X, Y, steps=2, regularizer=reg, progress=False)


def _unfreezing_student_function():
    model = ftlib.freeze(net())

    def reference(m, x):
        return sum(p.numel() for p in m.parameters() if p.requires_grad)

    def sneaky(m, x):                       # a "solution" that changes the model it is given
        ftlib.unfreeze(m)
        return reference(m, x)
    exercise = FunctionExercise("count", reference=reference, cases=[(model, X)])
    exercise.check(sneaky, quiet=True)
    return exercise.check(lambda m, x: 645, quiet=True), model   # the known-right answer for a frozen model


PROBES = [
    # labels: every one checked up front, not only the first batch
    clear("a bad label in a later batch", lambda: fit(y=torch.cat([Y[:-1], torch.tensor([7])]), batch_size=4),
          ValueError, r"labels must lie in \[0, 4\].*index 19"),
    clear("label -100 (ignored silently by cross_entropy)", lambda: fit(y=torch.cat([Y[:-1], torch.tensor([-100])])),
          ValueError, r"labels must lie in"),
    clear("float labels", lambda: fit(y=Y.float()), TypeError, r"integer class indices.*y\.long\(\)"),
    works("int32 labels", lambda: fit(y=Y.int()), lambda h: len(h.loss) == 3),
    clear("one-hot labels", lambda: fit(y=torch.nn.functional.one_hot(Y)), ValueError, r"shape \(N,\).*argmax"),
    clear("fewer labels than images", lambda: fit(y=Y[:10]), ValueError, r"20 inputs and 10 labels"),
    clear("an empty training set", lambda: fit(x=X[:0], y=Y[:0]), ValueError, r"no training examples"),
    # the optimizer
    clear("optimizer built before unfreeze", _optimizer_before_unfreeze, ValueError, r"block1, block2, block3 are not in the optimizer"),
    clear("a learning rate of 0", lambda: fit(lr=0.0), ValueError, r"every learning rate is 0"),
    clear("a negative learning rate", lambda: fit(lr=-1e-3), ValueError, r"finite numbers >= 0|Invalid learning rate"),
    # divergence: NaN, and a loss that explodes but stays finite
    clear("Adam at lr 1e4", lambda: fit(lr=1e4, steps=30), ftlib.TrainingDiverged, r"smaller learning rate"),
    clear("SGD at lr 1e3", lambda: _sgd_explodes(), ftlib.TrainingDiverged, r"smaller learning rate"),
    clear("a NaN regularizer", lambda: fit(regularizer=_nan_regularizer), ValueError, r"regularizer returned nan.*not the learning rate"),
    clear("a NaN Fisher (EWC)", _nan_fisher, ValueError, r"regularizer returned nan"),
    # batch size, validation, early stopping
    clear("batch_size=-1 (used to hang)", lambda: fit(batch_size=-1), ValueError, r"batch_size must be a whole number >= 1"),
    clear("batch_size=0 (used to divide by zero)", lambda: fit(batch_size=0), ValueError, r"batch_size must be"),
    clear("val without eval_every", lambda: fit(val=(X, Y)), ValueError, r"without eval_every"),
    clear("patience without val", lambda: fit(patience=2), ValueError, r"patience=.*needs val"),
    works("val with eval_every", lambda: fit(val=(X, Y), eval_every=1), lambda h: len(h.val_loss) == 3),
    # inputs
    clear("float images 0-255", lambda: fit(x=X.float()), ValueError, r"raw pixel values 0-255"),
    clear("images normalised twice", lambda: fit(x=(ftlib.to_input(X) - 0.286) / 0.353), ValueError, r"normalised twice"),
    clear("evaluate on float images 0-255", lambda: ftlib.evaluate(net(), X.float(), Y), ValueError, r"raw pixel values"),
    clear("a float64 model", lambda: fit(model=net().double()), TypeError, r"model\.float\(\)"),
    clear("float64 inputs", lambda: fit(x=ftlib.to_input(X).double()), TypeError, r"x\.float\(\)"),
    works("NumPy uint8 images and labels", lambda: fit(x=X.numpy(), y=Y.numpy()), lambda h: len(h.loss) == 3),
    works("lists of labels", lambda: fit(y=Y.tolist()), lambda h: len(h.loss) == 3),
    clear("a string as images", lambda: fit(x="images.png"), TypeError, r"must be a torch tensor"),
    # data helpers
    clear("class_subset with class 10", lambda: class_subset(X, Y, [3, 10]), ValueError, r"class 10 does not occur"),
    clear("class_subset with class -1", lambda: class_subset(X, Y, [-1, 2]), ValueError, r"class -1 does not occur"),
    clear("class_subset with no classes", lambda: class_subset(X, Y, []), ValueError, r"empty"),
    clear("train_val_split leaving no training set", lambda: train_val_split(X[:5], Y[:5], 0.5), ValueError, r"no training examples"),
    # regularizers
    works("exclude='block1' as a string (used to exclude every name starting with 'b')",
          lambda: (R.weight_decay(1.0, exclude="block1")(net()), R.weight_decay(1.0, exclude=("block1",))(net()),
                   R.weight_decay(1.0, exclude=("block",))(net())),
          lambda v: float(v[0].detach()) == float(v[1].detach()) > float(v[2].detach())),
    clear("exclude with a non-string", lambda: R.weight_decay(1.0, exclude=[3]), TypeError, r"prefixes"),
    # the other training loops share the guards
    clear("lr_find with a bad label", lambda: lr_find(net(), X, torch.cat([Y[:-1], torch.tensor([9])]), num_steps=3),
          ValueError, r"labels must lie in"),
    clear("lr_find with batch_size=0", lambda: lr_find(net(), X, Y, batch_size=0, num_steps=3), ValueError, r"batch_size"),
    clear("a linear probe with float labels", lambda: train_probe(torch.randn(20, 4), Y.float()), TypeError, r"integer"),
    clear("a forgetting probe with negative labels", lambda: probe_accuracy(net(), X, Y - 1, X, Y), ValueError, r"labels must lie"),
    clear("DANN with a label outside the head", lambda: domain.dann(net(), X, Y + 1, X, steps=2), ValueError, r"labels must lie in"),
    clear("the live view with batch_size=0", lambda: live.LiveTrainer(net(), X, Y, batch_size=0), ValueError, r"batch_size"),
    # exercises get fresh copies of their cases
    works("a student function that unfreezes the model it checks", lambda: _unfreezing_student_function(),
          lambda r: r[0].correct and sum(p.requires_grad for p in r[1].parameters()) == 2),
]


def _sgd_explodes():
    model = net()
    return ftlib.fit(model, X, Y, steps=30, batch_size=None, progress=False,
                     optimizer=torch.optim.SGD(model.parameters(), lr=1e3))


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_probe(probe):
    if probe.error is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # "worked" means: no warning either
            result = probe.run()
        assert probe.check(result), f"{probe.name}: a wrong result"
        return
    with pytest.raises(probe.error, match=probe.match) as info:
        probe.run()
    message = str(info.value)
    assert "\n" not in message.strip() and len(message) < 600, f"{probe.name}: not one clear sentence: {message!r}"


def outcome(probe: Probe) -> str:
    """clear / worked / silent wrong / noisy (a raw or misleading error), for the closing note's table."""
    try:
        result = probe.run()
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        import re
        if probe.error is not None and isinstance(exc, probe.error) and re.search(probe.match, str(exc)):
            return "clear error"
        return "raw traceback or misleading message"
    if probe.error is not None:
        return "silent wrong result"
    return "worked correctly" if probe.check(result) else "silent wrong result"


if __name__ == "__main__":
    from collections import Counter

    counts = Counter(outcome(p) for p in PROBES)
    for kind in ("clear error", "worked correctly", "silent wrong result", "raw traceback or misleading message"):
        print(f"| {kind} | {counts.get(kind, 0)} |")
