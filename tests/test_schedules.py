"""ftlib.schedules: slanted triangular rates, one-cycle, gradual unfreezing plans and callbacks."""
import pytest
import torch

import ftlib
from ftlib import schedules as S
from ftlib.freezing import make_group_optimizer, trainable_summary


def test_stlr_shape_matches_the_paper():
    T = 100
    f = [S.stlr_factor(t, T) for t in range(T + 1)]
    assert f[0] == pytest.approx(1 / 32) and max(f) == pytest.approx(1.0) and f.index(1.0) == 10
    assert f[-1] == pytest.approx(1 / 32)
    assert all(a <= b for a, b in zip(f[:10], f[1:11])) and all(a >= b for a, b in zip(f[10:], f[11:]))
    with pytest.raises(ValueError, match="cut_frac"):
        S.stlr_factor(0, 10, cut_frac=1.5)
    with pytest.raises(ValueError, match="total_steps"):
        S.stlr_factor(0, 0)
    with pytest.raises(ValueError, match="ratio"):
        S.slanted_triangular(ratio=0.5)(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1), 10)


def test_lr_curves_of_stlr_and_one_cycle():
    stlr = S.lr_curve(S.slanted_triangular(), 50, lr=0.1)
    assert max(stlr) == pytest.approx(0.1) and stlr[0] == pytest.approx(0.1 / 32)
    oc = S.lr_curve(S.one_cycle(), 40, lr=0.1)
    assert max(oc) == pytest.approx(0.1, rel=1e-3) and oc[0] == pytest.approx(0.1 / 25)
    assert oc[-1] < 1e-4


def test_schedules_scale_every_group_of_discriminative_rates():
    model = ftlib.NetB(5, widths=(4, 8, 8))
    opt = make_group_optimizer(model, [1e-4, 1e-3, 1e-2, 1e-1])
    sched = S.slanted_triangular()(opt, 20)
    for _ in range(2):
        opt.step()
        sched.step()
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs[1] / lrs[0] == pytest.approx(10) and lrs[3] / lrs[2] == pytest.approx(10)
    opt = make_group_optimizer(model, [1e-4, 1e-3, 1e-2, 1e-1])
    S.one_cycle()(opt, 20)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4 / 25, 1e-3 / 25, 1e-2 / 25, 1e-1 / 25])


def test_unfreeze_plan_and_bad_input():
    model = ftlib.NetB(5)
    assert S.unfreeze_plan(model, 100) == [(0, 3), (25, 2), (50, 1), (75, 0)]
    assert S.unfreeze_plan(model, 90, stages=2) == [(0, 3), (45, 0)]
    with pytest.raises(ValueError, match="stages"):
        S.unfreeze_plan(model, 100, stages=9)
    with pytest.raises(ValueError, match="one step per stage"):
        S.unfreeze_plan(model, 3)


def test_gradual_unfreezing_callback_inside_fit():
    torch.manual_seed(0)
    model = ftlib.NetB(5, widths=(4, 8, 8))
    callback = S.gradual_unfreezing(model, 8)
    assert [r["trainable"] > 0 for r in trainable_summary(model)] == [False, False, False, True]
    seen = []
    opt = make_group_optimizer(model, 1e-2, include_frozen=True)
    x, y = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8), torch.arange(10) % 5
    before = model.block1[0].weight.clone()

    def record(step, h):
        callback(step, h)
        seen.append(tuple(r["trainable"] > 0 for r in trainable_summary(model)))
    ftlib.fit(model, x, y, steps=8, optimizer=opt, callback=record, progress=False)
    assert seen[1] == (False, False, True, True) and seen[3] == (False, True, True, True)
    assert seen[5] == (True, True, True, True)
    assert not torch.equal(before, model.block1[0].weight), "the last stage trains block1"
    assert model.block1[1].training, "unfrozen BatchNorm follows the model's training mode again"
