"""Saving a weights + sidecar pair: a kill at any moment leaves a loadable pair (issue 11, lesson 10)."""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import stat
import time
import warnings

import pytest
import torch

import ftlib
from ftlib import deploy
from ftlib.checkpoint import PREVIOUS, SidecarMismatch, resolve_pair, save_weights


def _meta(model):
    return deploy.make_sidecar(model, classes=[5, 6, 7, 8, 9], class_names=list("abcde"), name="t")


def _models():
    torch.manual_seed(0)
    a = ftlib.NetB(num_classes=5)
    torch.manual_seed(1)
    b = ftlib.NetB(num_classes=5)
    return a, b


def _save_forever(stem, ready):
    a, b = _models()
    ready.set()
    while True:
        for m in (a, b):
            deploy.save_model(m, stem, _meta(m), overwrite=True)


def test_a_kill_at_any_moment_leaves_the_old_or_the_new_pair(tmp_path):
    """Kill a process that saves two models in turn, at random moments, 40 times; every time one of them loads."""
    stem = tmp_path / "m"
    a, b = _models()
    deploy.save_model(a, stem, _meta(a))
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (a, b)]
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(0)
    fell_back = 0
    for _ in range(40):
        ready = ctx.Event()
        child = ctx.Process(target=_save_forever, args=(stem, ready))
        child.start()
        assert ready.wait(30)
        time.sleep(rng.uniform(0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, _ = deploy.load_model(stem)
        fell_back += any("interrupted" in str(w.message) for w in caught)
        loaded = model.state_dict()
        assert any(all(torch.equal(loaded[k], s[k]) for k in s) for s in states), "neither the old nor the new model"
    print(f"{fell_back} of 40 kills landed between the two renames and loaded the previous pair")


def test_the_previous_pair_is_used_when_the_new_sidecar_never_arrived(tmp_path):
    a, b = _models()
    stem = tmp_path / "m"
    save_weights(a, stem, _meta(a))
    # what a kill between the two renames leaves: new weights, old sidecar, and the old pair as *.prev
    for suffix in (".safetensors", ".json"):
        path = stem.with_suffix(suffix)
        os.link(path, path.with_name(path.name + PREVIOUS))
    save_weights(b, tmp_path / "other", _meta(b))
    os.replace(tmp_path / "other.safetensors", stem.with_suffix(".safetensors"))
    with pytest.warns(UserWarning, match="interrupted"):
        weights, meta = resolve_pair(stem)
    assert weights.name == "m.safetensors" + PREVIOUS


def test_no_complete_pair_is_one_clear_error(tmp_path):
    a, b = _models()
    save_weights(a, tmp_path / "m", _meta(a))
    save_weights(b, tmp_path / "x", _meta(b))
    (tmp_path / "m.safetensors").write_bytes((tmp_path / "x.safetensors").read_bytes())
    with pytest.raises(SidecarMismatch, match="different saves"):
        deploy.load_model(tmp_path / "m")
    (tmp_path / "m.json").write_text("{ not json")
    with pytest.raises(SidecarMismatch, match="not valid JSON"):
        deploy.load_model(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="sidecar"):
        deploy.load_model(tmp_path / "nothing")


def test_stray_temporary_files_are_cleaned_and_files_get_ordinary_permissions(tmp_path):
    a, _ = _models()
    stray = tmp_path / ".m.safetensors.abc123.tmp"
    stray.write_bytes(b"half a file")
    old = os.umask(0o022)
    try:
        weights, sidecar = save_weights(a, tmp_path / "m", _meta(a))
    finally:
        os.umask(old)
    assert not stray.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]
    for path in (weights, sidecar):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, oct(path.stat().st_mode)


def _save_and_die_at(stem, step, done):
    """Save model b over model a, killing this process right after its ``step``-th file-system call."""
    _, b = _models()
    calls = {"n": 0}
    for name in ("replace", "link", "fsync", "unlink", "chmod"):
        real = getattr(os, name)

        def wrapped(*args, _real=real, **kwargs):
            result = _real(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        setattr(os, name, wrapped)
    deploy.save_model(b, stem, _meta(b), overwrite=True)
    done.set()


def test_a_kill_after_every_single_step_of_a_save_leaves_a_loadable_pair(tmp_path):
    """Exhaustive: a kill after the 1st, 2nd, ... file-system call of an overwriting save, until it completes."""
    a, b = _models()
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (a, b)]
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for step in range(1, 60):
        stem = tmp_path / f"s{step}" / "m"
        deploy.save_model(a, stem, _meta(a))
        done = ctx.Event()
        child = ctx.Process(target=_save_and_die_at, args=(stem, step, done))
        child.start()
        child.join()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, _ = deploy.load_model(stem)
        which = [i for i, s in enumerate(states) if all(torch.equal(model.state_dict()[k], s[k]) for k in s)]
        assert which, f"a kill after file-system call {step} left a pair that is neither the old nor the new model"
        outcomes.append(("old", "new")[which[0]] + (" (from .prev)" if caught else ""))
        if done.is_set():
            break
    print("after each file-system call:", outcomes)
    assert outcomes[-1] == "new" and "old (from .prev)" in outcomes, outcomes


@pytest.mark.parametrize("edit", [
    lambda m: m.update(class_names=["Shirt", "Sandal", "Sneaker", "Bag", "Ankle boot"]),  # two names swapped
    lambda m: m["normalisation"].update(mean=0.5),
    lambda m: m.update(classes=[0, 1, 2, 3, 4]),
])
def test_a_sidecar_edited_after_saving_is_refused(tmp_path, edit):
    import json

    a, _ = _models()
    save_weights(a, tmp_path / "m", deploy.make_sidecar(a, classes=[5, 6, 7, 8, 9],
                                                         class_names=["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
                                                         name="t"))
    meta = json.loads((tmp_path / "m.json").read_text())
    edit(meta)
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(SidecarMismatch, match="edited after the model was saved"):
        deploy.load_model(tmp_path / "m")


def test_a_sidecar_whose_class_names_do_not_fit_the_head_is_refused(tmp_path):
    a, _ = _models()
    meta = deploy.make_sidecar(a, classes=[5, 6, 7, 8], class_names=list("abcd"), name="t")  # 4 names, 5 outputs
    save_weights(a, tmp_path / "m", meta)
    with pytest.raises(SidecarMismatch, match="names 4 classes but describes a 5-class head"):
        deploy.load_model(tmp_path / "m")


def test_a_pickle_named_safetensors_is_named_for_what_it_is(tmp_path):
    from ftlib.checkpoint import load_state

    torch.save({"w": torch.zeros(2)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="pickled PyTorch file"):
        load_state(tmp_path / "model.safetensors")


def test_a_save_after_an_interrupted_save_keeps_the_complete_previous_pair(tmp_path):
    """The kill-at-any-moment test found it: after a save killed between its renames (new weights, old sidecar,
    the old pair as *.prev), the next save must not make that mismatched pair the *.prev one; killed right after
    keeping it, nothing complete was left."""
    a, b = _models()
    stem = tmp_path / "m"
    save_weights(a, stem, _meta(a))
    for suffix in (".safetensors", ".json"):                 # what the interrupted save left
        path = stem.with_suffix(suffix)
        os.link(path, path.with_name(path.name + PREVIOUS))
    save_weights(b, tmp_path / "other", _meta(b))
    os.replace(tmp_path / "other.safetensors", stem.with_suffix(".safetensors"))
    real_replace = os.replace

    def killed(src, dst):
        raise KeyboardInterrupt("killed before the new weights were in place")
    os.replace = killed
    try:
        with pytest.raises(KeyboardInterrupt):
            save_weights(b, stem, _meta(b), overwrite=True)
    finally:
        os.replace = real_replace
    with pytest.warns(UserWarning, match="interrupted"):
        weights, meta = resolve_pair(stem)
    assert weights.name == "m.safetensors" + PREVIOUS, "the complete previous pair is still there"
