"""ftlib.tooling.kernel_hints: after a kernel restart a NameError names the cell that defines the missing name.

Tested with a real IPython shell (the handler IPython calls, the traceback it prints) on temporary notebooks,
with and without the notebook path jupyter_server gives the kernel (``JPY_SESSION_NAME``), and once in a
real ipykernel started with ``--ext=ftlib.tooling.kernel_hints`` as ``make lab`` starts it.
"""
from __future__ import annotations

import json
import re
import types
from pathlib import Path

import pytest

from ftlib.tooling import kernel_hints

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    nb = {"cells": [{"cell_type": kind, "metadata": {}, "source": source,
                     **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                    for kind, source in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


LESSON = [("markdown", "# A lesson\n\n## 1. Setup"),
          ("code", "import math\nfrom ftlib.exercises import welcome as ex"),
          ("markdown", "## 2. The exercise"),
          ("code", "answer = 2000\nex.images_per_class.check(answer)")]


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "ftlib.tooling.kernel_hints")
    yield ip
    ip.run_line_magic("unload_ext", "ftlib.tooling.kernel_hints")
    InteractiveShell.clear_instance()


@pytest.fixture
def run(shell, capsys):
    """Run one cell as a fresh kernel would (empty namespace, plus ``names``); return (result, printed text
    without colours)."""
    def run_cell(source: str, fresh: bool = True, **names):
        if fresh:  # a new kernel: empty namespace, empty input history
            shell.reset(new_session=True)
        shell.user_ns.update(names)
        result = shell.run_cell(source, store_history=True)
        out = capsys.readouterr()
        return result, ANSI.sub("", out.out + out.err)
    return run_cell


def test_hint_names_the_cell_that_defines_the_name(run, tmp_path, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(write_notebook(tmp_path / "lesson.ipynb", LESSON)))
    result, out = run("answer = 2000\nex.images_per_class.check(answer)")
    assert isinstance(result.error_in_exec, NameError), "the cell must still fail"
    assert "Traceback" in out and "NameError: name 'ex' is not defined" in out, "the normal traceback comes first"
    assert ("`ex` is defined in code cell 1 of lesson.ipynb (under “1. Setup”: "
            "`from ftlib.exercises import welcome as ex`), which has not run since the kernel started: "
            "run the cells above first (Run ▸ Run All Above Selected Cell).") in out
    assert out.index("NameError: name 'ex'") < out.index("is defined in code cell 1")


def test_a_relative_session_path_is_found_from_the_kernels_folder(run, tmp_path, monkeypatch):
    (tmp_path / "lessons").mkdir()
    write_notebook(tmp_path / "lessons" / "lesson.ipynb", LESSON)
    monkeypatch.chdir(tmp_path / "lessons")  # the kernel runs in the notebook's folder ...
    monkeypatch.setenv("JPY_SESSION_NAME", "lessons/lesson.ipynb")  # ... the server may give its own path
    _, out = run("math.pi")
    assert "`math` is defined in code cell 1 of lesson.ipynb (under “1. Setup”: `import math`)" in out


def test_a_defining_cell_that_ran_and_failed_is_called_out(run, tmp_path, monkeypatch):
    cells = [("code", "x = 1 / 0\nresult = 1"), ("code", "result + 1")]
    monkeypatch.setenv("JPY_SESSION_NAME", str(write_notebook(tmp_path / "nb.ipynb", cells)))
    first, _ = run("x = 1 / 0\nresult = 1")
    assert isinstance(first.error_in_exec, ZeroDivisionError)
    _, out = run("result + 1", fresh=False)
    assert "`result` is defined in code cell 1 of nb.ipynb" in out
    assert "ran in this kernel but left `result` undefined: did it fail" in out


def test_a_name_defined_further_down_or_later_in_the_same_cell(run, tmp_path, monkeypatch):
    cells = [("code", "print(later)"), ("code", "later = 1"), ("code", "print(mine)\nmine = 2")]
    monkeypatch.setenv("JPY_SESSION_NAME", str(write_notebook(tmp_path / "nb.ipynb", cells)))
    _, out = run("print(later)")
    assert "`later` is first defined further down, in code cell 2 of nb.ipynb (`later = 1`)" in out
    _, out = run("print(mine)\nmine = 2")
    assert "This cell uses `mine` before the line that defines it (`mine = 2`)." in out


def test_a_name_no_cell_defines_is_probably_a_typo(run, tmp_path, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(write_notebook(tmp_path / "lesson.ipynb", LESSON)))
    _, out = run("ansewr")
    assert "No cell of lesson.ipynb defines `ansewr`: check its spelling" in out
    star = LESSON + [("code", "from math import *")]
    monkeypatch.setenv("JPY_SESSION_NAME", str(write_notebook(tmp_path / "star.ipynb", star)))
    _, out = run("ansewr")
    assert "No cell" not in out and "run the setup cells near the top of the lesson" in out, \
        "with a star import nobody can tell: the generic sentence"


@pytest.mark.parametrize("session", [None, "/nonexistent/lesson.ipynb", "broken"])
def test_without_a_readable_notebook_a_generic_sentence(run, tmp_path, monkeypatch, session):
    if session is None:
        monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    elif session == "broken":
        broken = tmp_path / "broken.ipynb"
        broken.write_text("{ this is not json")
        monkeypatch.setenv("JPY_SESSION_NAME", str(broken))
    else:
        monkeypatch.setenv("JPY_SESSION_NAME", session)
    result, out = run("ex.images_per_class.check(1)")
    assert isinstance(result.error_in_exec, NameError)
    assert "NameError: name 'ex' is not defined" in out
    assert ("`ex` is not defined in this kernel. If the kernel was restarted (or the notebook was just opened), "
            "the cells above have not run yet: run the setup cells near the top of the lesson first") in out


def test_a_name_error_inside_library_code_shows_unchanged(run, shell, tmp_path, monkeypatch):
    import ftlib.exercises.welcome as library_module

    monkeypatch.setenv("JPY_SESSION_NAME", str(write_notebook(tmp_path / "lesson.ipynb", LESSON)))
    code = compile("def broken():\n    return ex.images_per_class\n", library_module.__file__, "exec")
    function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    broken = types.FunctionType(function_code, vars(library_module), "broken")
    result, out = run("broken()", broken=broken)
    assert isinstance(result.error_in_exec, NameError)
    assert "NameError: name 'ex' is not defined" in out and "broken()" in out and "welcome.py" in out
    assert "code cell" not in out and "setup cells" not in out, "ftlib's missing name is not the notebook's"
    _, out = run("def f():\n    total += 1\nf()")
    assert "UnboundLocalError" in out and "code cell" not in out and "setup cells" not in out


def test_a_broken_hint_never_hides_the_error(run, shell, tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("the hint is broken")
    monkeypatch.setattr(kernel_hints, "_hint_for", explode)
    monkeypatch.setattr(kernel_hints, "_notebook_path", explode)
    result, out = run("ex.images_per_class.check(1)")
    assert isinstance(result.error_in_exec, NameError) and "NameError: name 'ex' is not defined" in out
    assert "Custom TB Handler failed" not in out and "the hint is broken" not in out
    assert shell.custom_exceptions == (NameError,), "the handler stays registered"


def test_top_level_bindings_are_found_with_ast():
    source = "\n".join([
        "import os.path, numpy as np", "from torch import nn as tnn", "a, (b, *c) = 1, (2, 3)", "d: int = 4",
        "e: int", "def f(x):\n    local = 1", "class G: pass", "for h in range(2):\n    i = h",
        "with open('x') as j:\n    pass", "try:\n    k = 1\nexcept ValueError as err:\n    m = 2",
        "if (n := 3):\n    o = 4", "p += 1"])
    bound, lines, complete = kernel_hints.defining_cells_source(source)
    assert {"os", "np", "tnn", "a", "b", "c", "d", "f", "G", "h", "i", "j", "k", "m", "n", "o"} <= bound
    assert not {"e", "local", "x", "err", "p"} & bound, "annotations, locals and except-as do not bind here"
    assert lines["np"] == "import os.path, numpy as np" and lines["i"] == "i = h" and complete
    bound, _, complete = kernel_hints.defining_cells_source("%matplotlib inline\n!ls\nq = 1")
    assert bound == {"q"} and complete, "IPython syntax is parsed as IPython does"
    assert kernel_hints.defining_cells_source("from math import *")[2] is False
    assert kernel_hints.defining_cells_source("def (:")[2] is False


def test_on_a_real_lesson_it_names_the_setup_cell_and_caches_the_parse(shell):
    lesson = ROOT / "lessons" / "00_welcome.ipynb"
    cells = [c for c in json.loads(lesson.read_text())["cells"] if c["cell_type"] == "code"]
    number = next(i for i, c in enumerate(cells, 1)
                  if "from ftlib.exercises import welcome as ex" in "".join(c["source"]))
    assert kernel_hints.defining_cells(lesson, "ex") == [number]
    first = kernel_hints._parse_notebook(lesson)
    assert kernel_hints._parse_notebook(lesson) is first, "a second NameError must not re-read the notebook"


def test_it_loads_as_an_extension_of_a_real_kernel(tmp_path):
    """As ``make lab`` starts it: ipykernel with --ext=ftlib.tooling.kernel_hints and JPY_SESSION_NAME set."""
    import os

    from jupyter_client.manager import KernelManager

    notebook = write_notebook(tmp_path / "lesson.ipynb", LESSON)
    env = {**os.environ, "JPY_SESSION_NAME": str(notebook)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(extra_arguments=["--ext=ftlib.tooling.kernel_hints"], env=env, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        outputs: list[dict] = []
        reply = kc.execute_interactive("ex.x", timeout=60, output_hook=lambda msg: outputs.append(msg))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "NameError"
    errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
    assert len(errors) == 1, "exactly one error output: the hint is part of it, not a second one"
    text = ANSI.sub("", "\n".join(errors[0]["traceback"]))
    assert "NameError: name 'ex' is not defined" in text
    assert "`ex` is defined in code cell 1 of lesson.ipynb" in text and "has not run since the kernel started" in text
