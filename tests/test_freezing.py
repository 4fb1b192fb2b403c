"""ftlib.freezing for lessons 04-05: freeze_to, BatchNorm modes, parameter groups, discriminative rates."""
import pytest
import torch

import ftlib
from ftlib import freezing as Fz
from ftlib.training import make_optimizer


def small_net(seed=0):
    torch.manual_seed(seed)
    return ftlib.NetB(5, widths=(4, 8, 8))


def test_freeze_to_by_index_and_name_and_summary_modes():
    model = small_net()
    model.train()
    Fz.freeze_to(model, 2)
    rows = {r["block"]: r for r in Fz.trainable_summary(model)}
    assert rows["block1"]["trainable"] == 0 and rows["block2"]["trainable"] == 0
    assert rows["block3"]["trainable"] == rows["block3"]["params"]
    assert rows["block1"]["batchnorm"] == "eval" and rows["block3"]["batchnorm"] == "train,train"
    assert rows["head"]["batchnorm"] == "-"
    Fz.freeze_to(model, "block2")
    assert Fz.trainable_summary(model)[1]["trainable"] > 0
    Fz.unfreeze(model)
    assert all(r["batchnorm"] in ("train", "train,train", "-") for r in Fz.trainable_summary(model))


def test_unknown_block_names_the_real_blocks():
    model = small_net()
    with pytest.raises(KeyError, match=r"unknown block 'block7'.*block1.*head"):
        Fz.freeze_to(model, "block7")
    with pytest.raises(KeyError, match="unknown block 'body'"):
        Fz.param_groups(model, {"body": 1e-3})


def test_model_train_undoes_frozen_batchnorm_eval_and_running_stats_move():
    """The BatchNorm trap, as lesson 04 demonstrates it."""
    model = small_net()
    for p in model.block1.parameters():
        p.requires_grad_(False)
    model.train()
    before = model.block1[1].running_mean.clone()
    model(torch.randn(8, 1, 28, 28))
    assert not torch.equal(before, model.block1[1].running_mean), "requires_grad=False does not stop BN statistics"
    model2 = small_net()
    Fz.freeze(model2)
    model2.train()
    assert model2.block1[1].training, "model.train() puts frozen BN back in training mode"
    Fz.set_frozen_bn_eval(model2)
    before = model2.block1[1].running_mean.clone()
    model2(torch.randn(8, 1, 28, 28))
    assert torch.equal(before, model2.block1[1].running_mean)


def test_resolve_lrs_forms_and_bad_lengths():
    model = small_net()
    assert Fz.resolve_lrs(model, 0.1) == {"block1": 0.1, "block2": 0.1, "block3": 0.1, "head": 0.1}
    assert Fz.resolve_lrs(model, [1, 2, 3, 4])["head"] == 4.0
    assert Fz.resolve_lrs(model, {"head": 1e-2})["block1"] is None
    with pytest.raises(ValueError, match="got 3 learning rates for 4 blocks"):
        Fz.resolve_lrs(model, [1e-3, 1e-3, 1e-3])
    with pytest.raises(ValueError, match="non-negative"):
        Fz.resolve_lrs(model, [1e-3, -1, 1e-3, 1e-3])
    with pytest.raises(ValueError, match="non-negative"):
        Fz.resolve_lrs(model, float("nan"))


def test_discriminative_lrs_divide_by_factor_per_block():
    model = small_net()
    lrs = Fz.discriminative_lrs(model, 1e-2)
    assert lrs["head"] == pytest.approx(1e-2)
    assert lrs["block3"] == pytest.approx(1e-2 / 2.6)
    assert lrs["block1"] == pytest.approx(1e-2 / 2.6 ** 3)
    assert list(lrs) == ["block1", "block2", "block3", "head"]
    with pytest.raises(ValueError, match="factor"):
        Fz.discriminative_lrs(model, 1e-2, factor=0)


def test_param_groups_cover_trainable_params_once():
    model = small_net()
    Fz.freeze_to(model, 1)
    groups = Fz.param_groups(model, Fz.discriminative_lrs(model, 1e-3))
    assert [g["name"] for g in groups] == ["block2", "block3", "head"]
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(Fz.trainable_params(model))
    everything = Fz.param_groups(model, 1e-3, include_frozen=True)
    assert sum(len(g["params"]) for g in everything) == len(list(model.parameters()))
    opt = Fz.make_group_optimizer(model, [1e-4, 2e-4, 3e-4, 4e-4])
    assert Fz.group_lrs(opt) == {"block2": 2e-4, "block3": 3e-4, "head": 4e-4}


def test_group_optimizer_trains_only_unfrozen_blocks_at_their_rates():
    model = small_net()
    Fz.freeze_to(model, 2)
    opt = Fz.make_group_optimizer(model, Fz.discriminative_lrs(model, 1e-2), include_frozen=True)
    before = {n: p.clone() for n, p in model.named_parameters()}
    x, y = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8), torch.arange(10) % 5
    h = ftlib.fit(model, x, y, steps=2, optimizer=opt, progress=False)
    assert h.lr[0] == pytest.approx(1e-2 / 2.6 ** 3), "history records the first group's rate"
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed and all(n.startswith(("block3", "head")) for n in changed)


def test_freezing_everything_then_training_is_an_error():
    model = small_net()
    Fz.freeze_to(model, 4)
    assert Fz.trainable_params(model) == []
    with pytest.raises(ValueError, match="everything is frozen"):
        Fz.make_group_optimizer(model, 1e-3)
    with pytest.raises(ValueError, match="no trainable parameters"):
        make_optimizer(model, 1e-3)
    x, y = torch.zeros(5, 28, 28, dtype=torch.uint8), torch.arange(5)
    with pytest.raises(ValueError, match="no trainable parameters"):
        ftlib.fit(model, x, y, steps=1, progress=False)
    opt = Fz.make_group_optimizer(small_net(), 1e-3)  # an optimizer built before everything was frozen
    frozen = small_net()
    Fz.freeze_to(frozen, 4)
    with pytest.raises(ValueError, match="no trainable parameters"):
        ftlib.fit(frozen, x, y, steps=1, optimizer=torch.optim.Adam(frozen.parameters()), progress=False)
    assert opt.param_groups


def test_freezing_explorer_shows_the_modes_fit_trains_in():
    """Lesson 04's widget: nothing frozen -> every BatchNorm trains; a frozen block's BatchNorm is in eval."""
    from ftlib.widgets.freezing import freezing_rows
    model = ftlib.load_pretrained(num_classes=5).eval()
    modes = {r["block"]: r["batchnorm"] for r in freezing_rows(model, 0)}
    assert modes == {"block1": "train", "block2": "train", "block3": "train,train", "head": "-"}
    modes = {r["block"]: r["batchnorm"] for r in freezing_rows(model, 2)}
    assert modes == {"block1": "eval", "block2": "eval", "block3": "train,train", "head": "-"}
