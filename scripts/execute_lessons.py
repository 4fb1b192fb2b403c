"""Re-run lessons top to bottom in a fresh kernel and save them with outputs (``make execute``).

Usage: python scripts/execute_lessons.py [lessons/NN_name.ipynb ...]   (default: all lessons)

Widget state is stripped after execution (the hygiene tests forbid it), and every widget's saved output
becomes one sentence (``WIDGET_NOTE``): a saved notebook cannot hold a live widget, and the text a kernel
leaves behind (``interactive(children=(IntSlider(...``) is exactly what lesson 00 says a broken widget
installation looks like.  The output keeps ``metadata["ftlib"]["widget"] = True`` so the site can tell.
Each notebook runs with the lessons folder as its working directory, as under nbval.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "▶ An interactive widget appears here when you run this cell."


def replace_widget_outputs(nb) -> int:
    """Replace every widget output by ``WIDGET_NOTE`` (see the module docstring); return how many."""
    replaced = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):
                out["data"] = {"text/plain": WIDGET_NOTE}
                out["metadata"] = {"ftlib": {"widget": True}}
                replaced += 1
    return replaced


def execute(path: Path, timeout: int = 600) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    replace_widget_outputs(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    paths = [Path(p) for p in argv] or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        print(f"{path.name:<44}{execute(path):6.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
