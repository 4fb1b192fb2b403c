"""``make lab``: bring the learner's workspace up to date, then open JupyterLab on it at lesson 00.

Usage: python -m ftlib.tooling.lab [--instructor] [--workspace DIR] [-- JUPYTER LAB ARGUMENTS ...]

* Learners (the default) work in ``workspace/``: their own copies, made and updated by
  :func:`ftlib.tooling.workspace.sync_workspace` (stubs instead of solutions; a copy they changed is never
  overwritten).
* ``--instructor`` opens the tracked ``lessons/`` themselves (full solutions) and changes nothing.

Both start the kernel with ``--ext=ftlib.tooling.kernel_hints`` through a kernelspec of the same name
and display name as ipykernel's own (so opening a notebook never rewrites its metadata): a ``NameError``
after a kernel restart then says which cell defines the missing name.  The printed URL opens lesson 00.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ftlib.tooling.workspace import sync_workspace

ROOT = Path(__file__).resolve().parents[2]
FIRST_LESSON = "00_welcome.ipynb"
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"  # ipykernel's own: the lessons' metadata says exactly this


def kernelspec_dir(prefix: Path) -> Path:
    """Write the course's kernelspec (``python3``, with the hints extension) under ``prefix``; return the
    folder to put first on ``JUPYTER_PATH``."""
    base = Path(prefix) / "share" / "ftlib" / "jupyter"
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--ext=ftlib.tooling.kernel_hints"],
        "display_name": KERNEL_DISPLAY_NAME,
        "language": "python",
        "metadata": {"debugger": True},
        "kernel_protocol_version": "5.5",
    }
    path = base / "kernels" / "python3" / "kernel.json"
    data = json.dumps(spec, indent=1) + "\n"
    if not path.exists() or path.read_text() != data:
        from ftlib.checkpoint import atomic_write_bytes
        atomic_write_bytes(path, data.encode(), overwrite=True)
    return base


def lab_command(root_dir: Path, extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command line: served from ``root_dir``, its URL opening lesson 00."""
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root_dir}",
            f"--LabApp.default_url=/lab/tree/{FIRST_LESSON}", *extra]


def lab_environment(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(base), env.get("JUPYTER_PATH", "")) if p)
    return env


def print_sync(results) -> None:
    width = max((len(r.lesson) for r in results), default=0)
    for r in results:
        print(f"  {r.lesson:<{width}}  {r.message()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instructor", action="store_true", help="open lessons/ itself (with solutions)")
    parser.add_argument("--workspace", type=Path, default=ROOT / "workspace", help="the learner's folder")
    parser.add_argument("--sync-only", action="store_true", help="update the workspace, do not start JupyterLab")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    lessons_dir = ROOT / "lessons"
    if args.instructor:
        root = lessons_dir
        print(f"Instructor view: the tracked lessons in {root} (full solutions). Edits here change the course.")
    else:
        lessons = sorted(lessons_dir.glob("[0-9][0-9]_*.ipynb"))
        print(f"Your working copies are in {args.workspace} (git ignores it; lessons/ is never changed):")
        results = sync_workspace(lessons, args.workspace)
        print_sync(results)
        root = args.workspace
    if args.sync_only:
        return 0
    try:
        env = lab_environment(kernelspec_dir(Path(sys.prefix)))
    except OSError as exc:  # a read-only environment: JupyterLab still works, without the NameError hints
        print(f"(could not write the course's kernelspec under {sys.prefix}: {exc}; starting without it)")
        env = dict(os.environ)
    command = lab_command(root, extra)
    sys.stdout.flush()
    if os.name == "nt":  # Windows has no real exec: wait for JupyterLab so that Ctrl+C and the exit code reach make
        import subprocess
        return subprocess.call(command, env=env)
    os.execve(command[0], command, env)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
