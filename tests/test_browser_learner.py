"""The learner's path, in a real browser (issue 12): ``make lab`` opens the learner's own working copy of
lesson 00, an exercise is answered wrongly and then rightly, the work is saved, and ``lessons/`` is
unchanged afterwards.  A kernel restart followed by the exercise cell then says which cell to run.

The server is started the way ``make lab`` starts it (``python -m ftlib.tooling.lab``), with a temporary
workspace and its own JupyterLab settings.  Screenshots go to artifacts/browser/.  Skipped, with a plain
message, when Chromium or Playwright is missing (see README, "Browser tests").
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path

import nbformat
from tests import browser_helpers as bh

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"

pytestmark = bh.skip_marks('browser test')

EXERCISE = "ex.images_per_class.check(answer)"


def _lessons_digest() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT / "lessons").iterdir())
            if p.is_file()}


def _git_status_lessons() -> str | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    return subprocess.run(["git", "status", "--porcelain", "--", "lessons"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


@contextlib.contextmanager
def make_lab(workspace: Path):
    """``python -m ftlib.tooling.lab`` (what ``make lab`` runs) on a free port, shut down with its kernels."""
    tmp = Path(tempfile.mkdtemp(prefix="ftlib-learner-"))
    config, settings = tmp / "config", tmp / "settings"
    for d in (config, settings, tmp / "runtime", tmp / "workspaces", tmp / "ipython"):
        d.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"jupyter_lsp": False}}}))
    bh._write_settings(settings)
    port = bh.free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               IPYTHONDIR=str(tmp / "ipython"), JUPYTER_PLATFORM_DIRS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("MPLBACKEND", None)
    cmd = [sys.executable, "-m", "ftlib.tooling.lab", "--workspace", str(workspace), "--no-browser",
           f"--port={port}", "--ip=127.0.0.1", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--MappingKernelManager.cull_idle_timeout=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    lab = bh.Lab(f"http://127.0.0.1:{port}", workspace, proc, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"make lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                bh._request(f"{lab.url}/api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"make lab did not answer in 90 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield lab
    finally:
        bh._shutdown(lab)
        shutil.rmtree(tmp, ignore_errors=True)


def _exercise_cell(page):
    return page.locator(".jp-CodeCell").filter(has_text=EXERCISE).first


def _answer(page, cell, value: str) -> str:
    """Replace the exercise cell's text with an answer, run it, and return what it printed."""
    editor = cell.locator(".jp-InputArea-editor")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(f"from ftlib.exercises import welcome as ex\nanswer = {value}\n{EXERCISE}")
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea")
    return bh.wait_until(lambda: (t := output.inner_text()) and ("[correct]" in t or "[not yet]" in t or "Error" in t) and t,
                         60, what=f"the checker's answer to {value}")


def _run_all_above(page, cell) -> None:
    cell.locator(".jp-InputArea-prompt").click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="notebook:run-all-above"]').click()
    bh.wait_until(lambda: bh.wait_for_kernel(page, 120) and all(
        p.strip("[]: ").isdigit() for p in page.evaluate(bh.KERNEL_STATE_JS)["prompts"][:5]), 150,
        what="the cells above the exercise to run")


def test_learner_path(tmp_path):
    lessons_before, git_before = _lessons_digest(), _git_status_lessons()
    workspace = tmp_path / "workspace"
    with make_lab(workspace) as lab, bh.chromium(ARTIFACTS) as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        page.set_default_timeout(30_000)
        try:
            printed = bh.wait_until(lambda: re.search(r"http://127\.0\.0\.1:\d+(/\S*)", lab.log.read_text()), 30,
                                    what="the URL in make lab's output")
            assert printed.group(1).startswith("/lab/tree/00_welcome.ipynb"), printed.group(0)
            page.goto(lab.url + printed.group(1))  # the URL make lab prints opens lesson 00, not the Launcher
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            bh.wait_for_kernel(page, 60)
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").inner_text()
            assert "00_welcome.ipynb" in tab, f"make lab opened {tab!r}, not lesson 00"
            assert (workspace / "00_welcome.ipynb").exists(), "no working copy was made"
            stub = nbformat.read(workspace / "00_welcome.ipynb", as_version=4)
            assert any("# YOUR ANSWER" in c.source for c in stub.cells), "the working copy holds the solutions"

            cell = _exercise_cell(page)
            cell.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "learner_working_copy.png"))
            _run_all_above(page, cell)
            wrong = _answer(page, cell, "200")
            assert "[not yet]" in wrong and "2000" not in wrong, f"the first wrong try gave the answer away: {wrong}"
            cell.screenshot(path=str(ARTIFACTS / "learner_wrong_answer.png"))
            right = _answer(page, cell, "2000")
            assert "[correct]" in right, right
            page.keyboard.press("Control+s")
            bh.wait_until(lambda: "answer = 2000" in (workspace / "00_welcome.ipynb").read_text(), 20,
                          what="the working copy to be saved")

            # a kernel restart, then the exercise cell alone: the hint names the cell to run first
            page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
            page.locator('.lm-Menu-item[data-command="kernelmenu:restart"]').click()
            page.locator(".jp-Dialog-button.jp-mod-accept").click()
            bh.wait_for_kernel(page, 60)
            editor = cell.locator(".jp-InputArea-editor")
            editor.click()
            page.keyboard.press("Control+a")
            page.keyboard.type(f"answer = 2000\n{EXERCISE}")
            page.keyboard.press("Shift+Enter")
            text = bh.wait_until(lambda: "NameError" in (t := cell.locator(".jp-OutputArea").inner_text()) and t,
                                 30, what="the NameError")
            cell.screenshot(path=str(ARTIFACTS / "learner_restart_hint.png"))
            assert "cell" in text.split("NameError", 1)[1] and "run" in text.lower(), \
                f"the NameError does not point to the cell to run: {text[-400:]}"
        finally:
            page.context.close()
    assert _lessons_digest() == lessons_before, "the learner's session changed lessons/"
    assert _git_status_lessons() == git_before, "git status of lessons/ changed during the learner's session"
