"""The learner's workspace (``make lab``, issue 12): working copies that are theirs, course updates that never
collide with them, and a ``git pull`` that always applies."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ftlib.tooling import lab
from ftlib.tooling.workspace import RECORD, cells_fingerprint, sync_workspace

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


def _statuses(results) -> dict[str, str]:
    return {r.lesson: r.status for r in results}


def _tiny_lessons(folder: Path) -> list[Path]:
    """Two small lessons with a solution each, standing in for lessons/."""
    folder.mkdir()
    paths = []
    for name, answer in (("00_a.ipynb", "0.25"), ("01_b.ipynb", "2")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"),
                    nbformat.v4.new_code_cell(f"answer = {answer}  # SOLUTION\nex.check(answer)")]
        nbformat.write(nb, folder / name)
        paths.append(folder / name)
    return paths


def _edit_cell(path: Path, index: int, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[index].source = source
    nbformat.write(nb, path)


def test_first_sync_makes_stubbed_copies_and_leaves_lessons_alone(tmp_path):
    before = _digest(ROOT / "lessons")
    results = sync_workspace(LESSONS, tmp_path / "ws")
    assert set(_statuses(results).values()) == {"created"}
    assert _digest(ROOT / "lessons") == before
    for lesson in LESSONS:
        copy = nbformat.read(tmp_path / "ws" / lesson.name, as_version=4)
        text = "\n".join(c.source for c in copy.cells if c.cell_type == "code")
        assert "# SOLUTION" not in text and "BEGIN SOLUTION" not in text, lesson.name
        assert all(not c.get("outputs") for c in copy.cells if c.cell_type == "code"), lesson.name
    again = _digest(tmp_path / "ws")
    assert set(_statuses(sync_workspace(LESSONS, tmp_path / "ws")).values()) == {"up-to-date"}
    assert _digest(tmp_path / "ws") == again  # a second run rewrites nothing


def test_course_update_replaces_untouched_copies_and_never_edited_ones(tmp_path):
    lessons = _tiny_lessons(tmp_path / "lessons")
    ws = tmp_path / "ws"
    sync_workspace(lessons, ws)
    mine = "answer = 0.3  # my try\nex.check(answer)"
    _edit_cell(ws / "01_b.ipynb", 1, mine)
    edited = (ws / "01_b.ipynb").read_bytes()
    assert _statuses(sync_workspace(lessons, ws)) == {"00_a.ipynb": "up-to-date", "01_b.ipynb": "yours"}

    for path in lessons:  # the course changes both lessons
        _edit_cell(path, 0, "# a better introduction")
    results = sync_workspace(lessons, ws)
    assert _statuses(results) == {"00_a.ipynb": "updated", "01_b.ipynb": "new-version"}
    assert (ws / "01_b.ipynb").read_bytes() == edited  # the learner's work, byte for byte
    new = ws / "01_b.new.ipynb"
    assert nbformat.read(new, as_version=4).cells[0].source == "# a better introduction"
    assert "01_b.new.ipynb" in results[1].message() and "KEPT" in results[1].message()
    assert nbformat.read(ws / "00_a.ipynb", as_version=4).cells[0].source == "# a better introduction"

    assert _statuses(sync_workspace(lessons, ws))["01_b.ipynb"] == "new-version"  # again: same file, no .new-2
    assert not (ws / "01_b.new-2.ipynb").exists()

    _edit_cell(lessons[1], 0, "# third version")  # the course changes again: the untouched .new follows it
    sync_workspace(lessons, ws)
    assert nbformat.read(new, as_version=4).cells[0].source == "# third version"
    _edit_cell(new, 0, "# the learner wrote in the new copy too")  # ... unless the learner changed it
    _edit_cell(lessons[1], 0, "# fourth version")
    results = sync_workspace(lessons, ws)
    assert results[1].new_path.name == "01_b.new-2.ipynb"
    assert nbformat.read(new, as_version=4).cells[0].source == "# the learner wrote in the new copy too"
    assert (ws / "01_b.ipynb").read_bytes() == edited


def test_running_cells_is_not_an_edit(tmp_path):
    """Outputs and execution counts are results, not work: such a copy follows the course."""
    lessons = _tiny_lessons(tmp_path / "lessons")
    ws = tmp_path / "ws"
    sync_workspace(lessons, ws)
    nb = nbformat.read(ws / "00_a.ipynb", as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="not answered yet\n")]
    nb.cells[1].execution_count = 1
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    nbformat.write(nb, ws / "00_a.ipynb")
    assert _statuses(sync_workspace(lessons, ws))["00_a.ipynb"] == "up-to-date"
    _edit_cell(lessons[0], 0, "# new")
    assert _statuses(sync_workspace(lessons, ws))["00_a.ipynb"] == "updated"


def test_unreadable_or_deleted_copies(tmp_path):
    lessons = _tiny_lessons(tmp_path / "lessons")
    ws = tmp_path / "ws"
    sync_workspace(lessons, ws)
    broken = "<<<<<<< Updated upstream\n{}\n=======\n{}\n>>>>>>> Stashed changes\n"
    (ws / "00_a.ipynb").write_text(broken)
    (ws / "01_b.ipynb").unlink()
    results = sync_workspace(lessons, ws)
    assert _statuses(results) == {"00_a.ipynb": "unreadable", "01_b.ipynb": "created"}
    assert (ws / "00_a.ipynb").read_text() == broken  # untouched
    assert "merge-conflict" in results[0].message() and "00_a.new.ipynb" in results[0].message()
    assert nbformat.read(ws / "00_a.new.ipynb", as_version=4).cells


def test_lost_record_treats_changed_copies_as_the_learners(tmp_path):
    lessons = _tiny_lessons(tmp_path / "lessons")
    ws = tmp_path / "ws"
    sync_workspace(lessons, ws)
    _edit_cell(ws / "00_a.ipynb", 1, "answer = 1")
    (ws / RECORD).write_text("{not json")
    assert _statuses(sync_workspace(lessons, ws)) == {"00_a.ipynb": "new-version", "01_b.ipynb": "up-to-date"}
    assert nbformat.read(ws / "00_a.ipynb", as_version=4).cells[1].source == "answer = 1"


def test_refuses_the_lessons_folder(tmp_path):
    lessons = _tiny_lessons(tmp_path / "lessons")
    before = _digest(tmp_path / "lessons")
    with pytest.raises(ValueError, match="lessons' own folder"):
        sync_workspace(lessons, tmp_path / "lessons")
    assert _digest(tmp_path / "lessons") == before


def test_fingerprint_ignores_outputs_and_metadata():
    a = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    b = json.loads(json.dumps(a))
    b["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    b["metadata"]["kernelspec"] = {"name": "python3"}
    b["cells"][0]["source"] = ["x = 1"]  # a list of lines, as some front ends save it
    assert cells_fingerprint(a) == cells_fingerprint(b)
    b["cells"][0]["source"] = "x = 2"
    assert cells_fingerprint(a) != cells_fingerprint(b)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_pull_keeps_every_edit_and_brings_the_new_lessons(tmp_path):
    """The workflow of issue 12 end to end: clone, work in the workspace, the course changes upstream,
    git pull applies cleanly, and the next sync keeps the edit and brings the new lesson."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    _tiny_lessons(upstream / "lessons")
    (upstream / ".gitignore").write_text("workspace/\n")
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", ".")
    _git(upstream, "commit", "-qm", "course")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(upstream), str(clone))
    lessons = sorted((clone / "lessons").glob("*.ipynb"))
    sync_workspace(lessons, clone / "workspace")
    _edit_cell(clone / "workspace" / "01_b.ipynb", 1, "answer = 3  # mine")

    _edit_cell(upstream / "lessons" / "01_b.ipynb", 0, "# revised")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# new lesson")]),
                   upstream / "lessons" / "02_c.ipynb")
    _git(upstream, "add", ".")
    _git(upstream, "commit", "-qm", "update")

    assert _git(clone, "status", "--porcelain") == ""  # working in the workspace changed nothing tracked
    _git(clone, "pull", "-q", "--ff-only")
    results = sync_workspace(sorted((clone / "lessons").glob("*.ipynb")), clone / "workspace")
    assert _statuses(results) == {"00_a.ipynb": "up-to-date", "01_b.ipynb": "new-version", "02_c.ipynb": "created"}
    assert nbformat.read(clone / "workspace" / "01_b.ipynb", as_version=4).cells[1].source == "answer = 3  # mine"
    assert _git(clone, "status", "--porcelain") == ""


def test_lab_opens_lesson_00_with_the_lessons_own_kernelspec(tmp_path):
    command = lab.lab_command(tmp_path, ["--port", "9999"])
    assert "--LabApp.default_url=/lab/tree/00_welcome.ipynb" in command and command[-2:] == ["--port", "9999"]
    assert f"--ServerApp.root_dir={tmp_path}" in command
    base = lab.kernelspec_dir(tmp_path)
    spec = json.loads((base / "kernels" / "python3" / "kernel.json").read_text())
    shipped = json.loads(LESSONS[0].read_text())["metadata"]["kernelspec"]
    assert spec["display_name"] == shipped["display_name"] and shipped["name"] == "python3"
    assert spec["argv"][0] == sys.executable and "--ext=ftlib.tooling.kernel_hints" in spec["argv"]
    env = lab.lab_environment(base)
    assert env["JUPYTER_PATH"].split(":")[0] == str(base)


def test_sync_only_cli(tmp_path, capsys):
    assert lab.main(["--sync-only", "--workspace", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert "new working copy" in out and "00_welcome.ipynb" in out
    assert lab.main(["--sync-only", "--workspace", str(tmp_path / "ws")]) == 0
    assert "up to date" in capsys.readouterr().out
