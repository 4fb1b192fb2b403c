"""ftlib.results: reading precomputed sweeps and rounding them for stable JSON."""
import pytest

from ftlib import results


def test_round_floats_handles_nested_structures():
    data = {"a": 0.123456789, "b": [1, (0.987654321, "x")], "c": {"d": 2.0000004}}
    assert results.round_floats(data, 4) == {"a": 0.1235, "b": [1, [0.9877, "x"]], "c": {"d": 2.0}}


def test_load_result_reads_shipped_files_and_explains_missing_ones():
    assert results.load_result("transfer")["settings"]["seeds"] == list(range(8))
    with pytest.raises(FileNotFoundError, match="precompute.*git checkout"):
        results.load_result("no_such_sweep")


def test_write_result_rounds_and_creates_folders(tmp_path):
    import json
    path = results.write_result(tmp_path / "a" / "r.json", {"x": 0.123456789, "name": "λ"}, digits=3)
    assert json.loads(path.read_text()) == {"x": 0.123, "name": "λ"}
    assert "λ" in path.read_text(), "non-ASCII names are written as they are"
