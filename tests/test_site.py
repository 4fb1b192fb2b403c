"""`make site`: the executed lessons render to static HTML with a table of contents, offline."""
from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_site import build_site  # noqa: E402

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def test_site_from_two_lessons_builds_offline(tmp_path, monkeypatch):
    if len(LESSONS) < 2:
        pytest.skip("needs two lessons")
    lessons = LESSONS[:2]

    def refuse(*args, **kwargs):
        raise AssertionError("building the site tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    written = build_site(lessons, tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    assert written[0].name == "index.html" and len(written) == 3
    for lesson in lessons:
        page = tmp_path / "site" / (lesson.stem + ".html")
        assert f'href="{page.name}"' in index
        text = page.read_text()
        assert 'href="index.html"' in text
        assert '"c1"># NBVAL_IGNORE_OUTPUT' not in text  # the test markers are left out of code cells
        assert '"c1"># NBVAL_CHECK_OUTPUT' not in text
        assert "<img" in text or "data:image/png" in text or lesson.name.startswith("00")
    first, second = (tmp_path / "site" / (p.stem + ".html") for p in lessons)
    assert f'href="{second.name}"' in first.read_text() and f'href="{first.name}"' in second.read_text()
    assert all(lesson.read_bytes() for lesson in lessons)  # lessons are only read
