"""Helpers for the browser test: a throw-away JupyterLab server and Playwright on Debian's Chromium.

``jupyter_lab(notebook_dir)`` starts JupyterLab on a free localhost port with its own config,
settings, runtime and checkpoint folders under a temporary directory (token off, news off,
autosave off, jupyter_lsp off), and always shuts it down: kernels through the REST API first
(they live in their own process session), then the server, then its process group.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def find_chromium() -> str | None:
    """$CHROMIUM when set (None if that path does not exist), else Debian's /usr/bin/chromium
    (``apt-get install chromium``) or a chromium on the PATH, else None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).exists() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, method: str = "GET", timeout: float = 5.0):
    req = urllib.request.Request(url, method=method, data=b"" if method in ("POST",) else None)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
        return json.loads(body) if body else None


@dataclass
class Lab:
    url: str
    root: Path
    process: subprocess.Popen
    log: Path

    def kernels(self) -> list[dict]:
        return _request(f"{self.url}/api/kernels") or []


def _write_settings(settings: Path) -> None:
    user = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Light"},
        # every cell stays in the page, so the test can find all prompts and widgets
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, content in user.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@contextlib.contextmanager
def jupyter_lab(notebook_dir: Path, startup_timeout: float = 60.0) -> Iterator[Lab]:
    """A JupyterLab server serving ``notebook_dir``; shut down (with its kernels) on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="ftlib-lab-"))
    config, settings, runtime = tmp / "config", tmp / "settings", tmp / "runtime"
    for d in (config, settings, runtime, tmp / "checkpoints", tmp / "workspaces", tmp / "ipython"):
        d.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"jupyter_lsp": False}}}))
    _write_settings(settings)
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(runtime),
               IPYTHONDIR=str(tmp / "ipython"), JUPYTER_PLATFORM_DIRS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("MPLBACKEND", None)
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter) if jupyter.exists() else "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={notebook_dir}",
           f"--FileCheckpoints.checkpoint_dir={tmp / 'checkpoints'}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--ServerApp.shutdown_no_activity_timeout=600", "--MappingKernelManager.cull_idle_timeout=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp / "server.log"
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(cmd, cwd=notebook_dir, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", Path(notebook_dir), proc, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                _request(f"{lab.url}/api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer in {startup_timeout:.0f} s:\n"
                                       f"{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield lab
    finally:
        _shutdown(lab)
        shutil.rmtree(tmp, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _shutdown(lab: Lab) -> None:
    proc = lab.process
    kernel_pids = [p for p in _children(proc.pid) if "ipykernel" in _cmdline(p)]
    if proc.poll() is None:
        with contextlib.suppress(Exception):
            for kernel in lab.kernels():
                _request(f"{lab.url}/api/kernels/{kernel['id']}", method="DELETE", timeout=10)
        with contextlib.suppress(Exception):
            _request(f"{lab.url}/api/shutdown", method="POST", timeout=10)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    # whatever is left of the server's process group (never anything else)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)
    for pid in kernel_pids:  # kernels the REST shutdown missed (they run in their own session)
        if "ipykernel" in _cmdline(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


# -- driving JupyterLab ----------------------------------------------------------------------------

KERNEL_STATE_JS = """() => {
  const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const kn = document.querySelector('.jp-Toolbar-kernelName');
  const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'))
                       .map(e => e.textContent.trim());
  return {status: ind ? ind.getAttribute('data-status') : null,
          kernel: kn ? kn.textContent.trim() : null, prompts: prompts};
}"""


def wait_for_kernel(page, timeout: float = 60.0) -> dict:
    """Until the notebook has a kernel (not "No Kernel") and it is idle."""
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(KERNEL_STATE_JS)
        if state["status"] == "idle" and state["kernel"] and "No Kernel" not in state["kernel"]:
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel did not become ready in {timeout:.0f} s: {state}")
        time.sleep(0.25)


def open_notebook(page, lab: Lab, name: str, timeout: float = 60.0) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
    wait_for_kernel(page, timeout)


def run_all(page, timeout: float = 150.0) -> float:
    """Run → Run All Cells, then wait until every code cell has run and the kernel is idle."""
    started = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    deadline = started + timeout
    time.sleep(0.5)
    while True:
        state = page.evaluate(KERNEL_STATE_JS)
        prompts = state["prompts"]
        done = prompts and all(p.strip("[]: ").isdigit() for p in prompts)
        if done and state["status"] == "idle":
            return time.monotonic() - started
        if state["status"] == "idle" and time.monotonic() - started > 3:
            errors = error_outputs(page)  # a failing cell stops Run All: say which, do not wait
            if errors:
                raise AssertionError(f"a cell raised during Run All: {errors[0]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"run all did not finish in {timeout:.0f} s: {state}")
        time.sleep(0.25)


ERRORS_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
  .map(e => e.textContent).filter(t => /Traceback|Error:/.test(t) && /-{5,}|Traceback/.test(t))
  .map(t => t.slice(0, 400))"""


def error_outputs(page) -> list[str]:
    return page.evaluate(ERRORS_JS)


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def collapse_left_sidebar(page) -> None:
    """Collapse JupyterLab's left side bar (the file browser) if it is open: click its current tab."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()
        wait_until(lambda: page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").count() == 0,
                   10, what="the left side bar to collapse")
        time.sleep(0.3)  # the notebook panel re-lays out


FIT_JS = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const box = e => { const b = e.getBoundingClientRect();
                     return {left: b.left, top: b.top, right: b.right, bottom: b.bottom,
                             width: b.width, height: b.height}; };
  const scroller = el.closest('.jp-WindowedPanel-outer') || el.closest('.jp-Notebook');
  const wide = [el, ...el.querySelectorAll('*')]
      .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
      .map(e => `${e.tagName}.${String(e.className).slice(0, 50)} ${e.scrollWidth}>${e.clientWidth}`);
  const outside = [...el.querySelectorAll('*')].filter(e => e.getClientRects().length)
      .filter(e => { const b = e.getBoundingClientRect(), r = el.getBoundingClientRect();
                     return b.width > 0 && (b.right > r.right + 1 || b.left < r.left - 1); })
      .map(e => `${e.tagName}.${String(e.className).slice(0, 50)}`);
  return {viewport: {width: innerWidth, height: innerHeight},
          page: {scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth},
          widget: box(el), panel: scroller ? box(scroller) : null, scrolling_sideways: wide, sticking_out: outside};
}"""


def fit_report(page, selector: str) -> dict:
    """Where the element is on screen, the visible notebook panel, and anything in it that overflows sideways."""
    return page.evaluate(FIT_JS, selector)


# -- what every browser test file shares --------------------------------------------------------------

def skip_marks(what: str = "browser test") -> list:
    """``pytestmark`` for a browser test file: a plain skip reason without Chromium or Playwright."""
    import pytest

    try:
        import playwright.sync_api  # noqa: F401  (only whether it imports)
        has_playwright = True
    except ImportError:  # pragma: no cover - depends on the environment
        has_playwright = False
    return [
        pytest.mark.skipif(find_chromium() is None, reason=f"{what} SKIPPED: Chromium not found (install Debian's "
                           "'chromium' package: sudo apt-get install chromium, or set CHROMIUM=/path/to/chromium; "
                           "see README, 'Browser tests')"),
        pytest.mark.skipif(not has_playwright, reason=f"{what} SKIPPED: the playwright Python package "
                           "is not installed (pip install -e '.[test]')"),
    ]


@contextlib.contextmanager
def chromium(artifacts: Path) -> Iterator:
    """Debian's Chromium through Playwright, closed on exit; ``artifacts`` is made for the screenshots."""
    from playwright.sync_api import sync_playwright

    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
