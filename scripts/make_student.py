"""Write student copies of the lessons into student/ (``make student``).

Usage: python scripts/make_student.py [--force] [--out DIR] [lessons/NN_x.ipynb ...]

Solutions (``# BEGIN SOLUTION`` ... ``# END SOLUTION`` and ``x = value  # SOLUTION``) become
stubs; lessons/ is only read.  A copy you have edited is kept unless --force (then the old
file is saved as NAME.backup-N.ipynb, a new N each time).  See ftlib/student.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ftlib.student import StudentCopyError, write_student_copies  # noqa: E402

MESSAGES = {
    "written": "written",
    "unchanged": "up to date",
    "kept-edited": "KEPT: you edited this copy since it was generated; rerun with --force to replace "
                   "it (the edited file is then kept as NAME.backup-N.ipynb)",
    "overwritten-edited": "replaced an edited copy (the edited file is kept as NAME.backup-N.ipynb)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=Path, help="lessons to copy (default: all of lessons/)")
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="output folder (default: student/)")
    parser.add_argument("--force", action="store_true", help="also replace copies that were edited")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        print("no lessons found in lessons/", file=sys.stderr)
        return 1
    try:
        results = write_student_copies(lessons, args.out, force=args.force)
    except StudentCopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in results:
        print(f"{r.lesson:<40} {r.stubs:>2} stubs  {MESSAGES[r.status]}")
    print(f"student copies are in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
