"""Re-run lessons top to bottom in a fresh kernel and save them with outputs (``make execute``).

Usage: python scripts/execute_lessons.py [lessons/NN_name.ipynb ...]   (default: all lessons)

Widget state is stripped after execution (the hygiene tests forbid it); each notebook runs with the
lessons folder as its working directory, as under nbval.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, timeout: int = 600) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    paths = [Path(p) for p in argv] or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        print(f"{path.name:<44}{execute(path):6.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
