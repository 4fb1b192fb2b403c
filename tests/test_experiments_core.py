"""ftlib.experiments: pairing, summaries and intervals."""
import pytest
import torch

from ftlib import experiments as E


def test_summarize_pairs_by_seed_and_counts_wins():
    rows = [{"method": m, "k": 1, "seed": s, "accuracy": a}
            for m, accs in {"base": [0.5, 0.6, 0.7], "new": [0.6, 0.65, 0.69]}.items()
            for s, a in enumerate(accs)]
    summary = {e["method"]: e for e in E.summarize(rows, "base")}
    new = summary["new"]
    assert new["diff"] == pytest.approx((0.1 + 0.05 - 0.01) / 3)
    assert new["wins"] == 2 and new["pairs"] == 3
    assert new["diff_lo"] < new["diff"] < new["diff_hi"]
    assert "baseline" in E.format_summary(E.summarize(rows, "base"))
    with pytest.raises(KeyError, match="baseline"):
        E.summarize(rows, "missing")


def test_paired_interval_matches_t_formula():
    lo, hi = E.paired_interval([1.0, 2.0, 3.0])
    assert (lo + hi) / 2 == pytest.approx(2.0)
    assert hi - 2.0 == pytest.approx(4.303 * 1.0 / 3 ** 0.5, rel=1e-3)


def test_run_paired_uses_the_same_subset_for_every_method():
    task = E.class_task((5, 6))
    task = E.Task(task.name, task.x_pool, task.y_pool, task.x_test[:50], task.y_test[:50])
    seen = {}

    def recorder(name):
        def run(x, y, seed):
            seen.setdefault((seed, len(x)), []).append(x.clone())
            torch.manual_seed(0)
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 2))
        return run
    rows = E.run_paired({"a": recorder("a"), "b": recorder("b")}, task, ks=[2], seeds=[0, 1])
    assert len(rows) == 4
    for xs in seen.values():
        assert torch.equal(xs[0], xs[1])
    with pytest.raises(ValueError):
        E.run_paired({}, task, ks=[1], seeds=[0])
