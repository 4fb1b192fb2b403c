"""ftlib.pretrain: the shipped backbone is what the current script and data produce."""
import torch

from ftlib import data, models, pretrain
from ftlib.checkpoint import load_state


def test_sidecar_records_the_current_recipe_and_data():
    meta = models.read_sidecar()
    assert meta["recipe"] == {**pretrain.RECIPE, "steps": meta["recipe"]["steps"], "seed": meta["recipe"]["seed"]}
    assert meta["recipe"]["steps"] == pretrain.RECIPE["steps"]
    assert meta["data"]["sha256"] == data.sha256_of(data.DATA_DIR / data.DATA_FILE), \
        "the data changed since pretraining: run `make pretrain`"
    assert meta["architecture"] == {"name": "NetB", **models.NetB(5).config}
    assert meta["weights_sha256"] == data.read_manifest()["netb_source.safetensors"]


def test_pretraining_is_deterministic_at_a_small_setting():
    a, meta_a = pretrain.pretrain(classes=(0, 1), steps=4, seed=3, progress=False)
    b, meta_b = pretrain.pretrain(classes=(0, 1), steps=4, seed=3, progress=False)
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert meta_a["metrics"] == meta_b["metrics"]


def test_cli_writes_weights_and_sidecar_without_overwriting(tmp_path, capsys):
    pretrain.main(["--classes", "0,1", "--steps", "2", "--out", str(tmp_path), "--name", "tiny"])
    assert "source test accuracy" in capsys.readouterr().out
    state = load_state(tmp_path / "tiny.safetensors")
    assert "head.weight" in state and state["head.weight"].shape == (2, 128)
    try:
        pretrain.main(["--classes", "0,1", "--steps", "2", "--out", str(tmp_path), "--name", "tiny"])
    except FileExistsError as err:
        assert "overwrite" in str(err)
    else:
        raise AssertionError("a second run must not overwrite existing weights silently")


def test_a_memorising_source_keeps_few_examples_without_augmentation():
    model, meta = pretrain.pretrain(classes=(0, 1, 2), steps=40, shuffle_labels=True, examples=12, augment=False,
                                    progress=False)
    assert meta["data"]["examples"] == 12 and meta["data"]["shuffled_labels"]
    assert meta["recipe"]["augmentation"] == "none"
    assert meta["metrics"]["own_training_accuracy"] == 1.0, "12 random labels are memorised in 40 steps"
    for bad in (0, 2.5, True):
        try:
            pretrain.pretrain(classes=(0, 1), steps=1, examples=bad, progress=False)
        except ValueError as err:
            assert "examples" in str(err)
        else:
            raise AssertionError(f"examples={bad!r} must be refused")


def test_shipped_memorised_source_fitted_its_own_random_labels():
    meta = models.read_sidecar("netb_memorised")
    assert meta["data"]["shuffled_labels"] and meta["data"]["examples"] == 2000
    assert meta["metrics"]["own_training_accuracy"] == 1.0
    assert meta["metrics"]["source_test_accuracy"] < 0.15, "chance on the true labels"
