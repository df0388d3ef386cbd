"""Harness for the browser tests: a private JupyterLab (or Jupyter Notebook 7) server, headless
Chromium, and helpers that open a notebook, run it, and drive and watch a widget in the page.

Used by the pytest fixtures in ``conftest.py`` and by ``measure_latency.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CNNWIDGETS_E2E_ARTIFACTS", REPO / "test-artifacts" / "e2e"))
CHROMIUM = os.environ.get("CNNWIDGETS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The machine is shared and slow: a background tab must not be throttled while we time it.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
PROBE_JS = (Path(__file__).parent / "probe.js").read_text()

# Everything waits generously (2 shared cores); CNNWIDGETS_E2E_SLOW scales every wait.
SLOW = float(os.environ.get("CNNWIDGETS_E2E_SLOW", "1"))


def seconds(s: float) -> float:
    return s * SLOW


class E2EError(AssertionError):
    """A browser-test expectation that did not come true (with what the page showed)."""


# ---------------------------------------------------------------------------------------------
# JupyterLab server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on a free port with a throw-away root, settings and kernel spec.

    The kernel spec points at *this* interpreter (the venv's), so the kernel imports the
    checkout's cnnwidgets and anywidget whatever `python` is on PATH.

    ``app="notebook"`` starts Jupyter Notebook 7 (the ``notebook`` package) with the same
    server flags instead; its pages differ (``/notebooks/<path>``, no workspaces), which
    :attr:`notebook_url` hides from the tests.
    """

    def __init__(self, workdir: Path | None = None, app: str = "lab"):
        if app not in ("lab", "notebook"):
            raise ValueError(f"app must be 'lab' or 'notebook', got {app!r}")
        self.app = app
        self._own_tmp = workdir is None
        self.base = Path(workdir or tempfile.mkdtemp(prefix="cnnw-e2e-"))
        self.root = self.base / "root"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "jupyterlab.log"

    def _prepare(self) -> dict:
        self.root.mkdir(parents=True, exist_ok=True)
        settings = self.base / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        # Without this a "Jupyter news?" toast covers the bottom right of the page.
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false"})
        )
        nb_settings = self.base / "settings" / "@jupyterlab" / "notebook-extension"
        nb_settings.mkdir(parents=True, exist_ok=True)
        # Every cell stays attached to the DOM: a notebook of several widgets is driven and
        # watched whatever is scrolled into view.
        (nb_settings / "tracker.jupyterlab-settings").write_text(
            json.dumps({"windowingMode": "none"})
        )
        kernel_dir = self.base / "share" / "jupyter" / "kernels" / "python3"
        kernel_dir.mkdir(parents=True, exist_ok=True)
        (kernel_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3 (cnnwidgets e2e)",
                    "language": "python",
                    "env": {"PYTHONPATH": str(REPO), "CNNWIDGETS_E2E": "1"},
                }
            )
        )
        env = dict(os.environ)
        env.update(
            {
                "JUPYTERLAB_SETTINGS_DIR": str(self.base / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
                "JUPYTER_CONFIG_DIR": str(self.base / "config"),
                "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
                "JUPYTER_PATH": os.pathsep.join(
                    filter(
                        None, [str(self.base / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")]
                    )
                ),
                "PATH": os.pathsep.join(
                    [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
                ),
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
                ),
                "CNNWIDGETS_E2E": "1",
            }
        )
        return env

    def start(self, timeout: float = 120) -> JupyterLab:
        env = self._prepare()
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab" if self.app == "lab" else "notebook",
            "--no-browser",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.disable_check_xsrf=True",
        ]
        if self.app == "lab":
            cmd += [
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        # Own process group: stopping it also stops the kernels it started, and nothing else.
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + seconds(timeout)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter {self.app} exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=5) as r:
                    if r.status == 200:
                        return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"jupyter {self.app} did not answer within {timeout} s:\n{self.log_tail()}"
        )

    def notebook_url(self, filename: str, page: str) -> str:
        """The page that opens `filename`. JupyterLab gets a workspace per test page (`page`):
        it would otherwise reopen, and start kernels for, the notebooks that earlier tests left
        in the default workspace. Notebook 7 opens one notebook per page and has no workspaces."""
        if self.app == "notebook":
            return f"{self.url}/notebooks/{filename}"
        ws = f"e2e-{page}".replace("_", "-")[:60]
        return f"{self.url}/lab/workspaces/{ws}/tree/{filename}?reset"

    def log_tail(self, n: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stops every kernel, so that the next test does not share the 2 cores with it."""
        with contextlib.suppress(Exception):
            for s in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{s['id']}")
        with contextlib.suppress(Exception):
            for k in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{k['id']}")

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        path = self.root / name
        nbformat.write(nb, path)
        return path

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        if self.proc is not None:
            # Kernels live in the same group; make sure none outlives the server.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if getattr(self, "_log", None):
            self._log.close()
        if self._own_tmp:
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def jupyterlab(app: str = "lab"):
    server = JupyterLab(app=app)
    try:
        yield server.start()
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Browser


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: run `bash tools/install_browser.sh`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def clean_artifacts() -> None:
    """Removes the screenshots and logs of earlier runs (latency.json is kept and merged)."""
    if ARTIFACTS.is_dir():
        for p in ARTIFACTS.iterdir():
            if p.suffix in (".png", ".log"):
                p.unlink(missing_ok=True)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


# ---------------------------------------------------------------------------------------------
# A notebook in the page


LIVE_LABS: list[Lab] = []


class Lab:
    """One browser page on the server: opens notebooks, runs them, finds widgets."""

    def __init__(
        self, browser, server: JupyterLab, name: str, viewport: tuple[int, int] = (1400, 1400)
    ):
        LIVE_LABS.append(self)
        self.server = server
        self.name = name
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.context.add_init_script(PROBE_JS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(seconds(60) * 1000)
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        self.shots = 0

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            LIVE_LABS.remove(self)
        with contextlib.suppress(Exception):
            artifact(f"{self.name}.console.log").write_text("\n".join(self.console))
        with contextlib.suppress(Exception):
            self.context.close()

    def screenshot(self, label: str, locator=None) -> Path:
        """Saves the page (or one element, e.g. a whole widget) as a test artifact."""
        self.shots += 1
        path = artifact(f"{self.name}-{self.shots:02d}-{label}.png")
        with contextlib.suppress(Exception):
            if locator is not None:
                locator.screenshot(path=str(path))
            else:
                self.page.screenshot(path=str(path), full_page=False)
        return path

    def fail(self, message: str):
        shot = self.screenshot("FAILED")
        raise E2EError(f"{message}\nscreenshot: {shot}\n{self.kernel_messages()}")

    # -- notebook -------------------------------------------------------------------------

    def open_notebook(self, filename: str, cells: list[str], run: bool = True) -> None:
        self.server.write_notebook(filename, cells)
        self.page.goto(
            self.server.notebook_url(filename, self.name),
            wait_until="domcontentloaded",
            timeout=seconds(120) * 1000,
        )
        self.wait_kernel_ready()
        if run:
            self.run_all()
            self.wait_executed()

    def panel(self):
        return self.page.locator(".jp-NotebookPanel:visible").first

    # Finds the notebook panel on screen; the probes below read their state from it.
    _VISIBLE_PANEL = """[...document.querySelectorAll('.jp-NotebookPanel')]
                        .find(e => e.offsetParent !== null)"""

    def _wait_until(self, probe_body: str, done, timeout: float, what: str) -> None:
        """Poll ``probe_body`` (JS with the visible panel as ``p``) until ``done(state)``."""
        deadline = time.time() + seconds(timeout)
        state = None
        while time.time() < deadline:
            state = self.page.evaluate(f"() => {{ const p = {self._VISIBLE_PANEL}; {probe_body} }}")
            if done(state):
                return
            time.sleep(0.5)
        self.fail(f"{what} within {timeout} s: {state}")

    def wait_kernel_ready(self, timeout: float = 180) -> None:
        # "idle" shows before any kernel exists; a kernel name proves one is attached.
        self._wait_until(
            """
            if (!p) return {panel: false};
            const name = p.querySelector('.jp-KernelName');
            const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
            return {panel: true, name: name ? name.textContent.trim() : null,
                    status: ind ? ind.getAttribute('data-status') : null};""",
            lambda st: bool(
                st.get("panel")
                and st.get("name")
                and st["name"] != "No Kernel"
                and st.get("status") == "idle"
            ),
            timeout,
            "kernel not ready",
        )

    def run_all(self) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        self.page.locator(".lm-Menu-itemLabel").filter(has_text="Run All Cells").first.click()

    def wait_executed(self, timeout: float = 300) -> None:
        """Waits until every code cell has run (a number in its prompt) and the kernel is idle,
        so that timings are not taken while the kernel is still busy with later cells."""
        self._wait_until(
            """
            if (!p) return null;
            const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                .map(e => e.textContent.trim());
            const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
            return {prompts, status: ind ? ind.getAttribute('data-status') : null};""",
            lambda st: bool(
                st
                and st["prompts"]
                and st["status"] == "idle"
                and all(any(ch.isdigit() for ch in t) for t in st["prompts"])
            ),
            timeout,
            "the notebook did not finish running",
        )

    def cells(self):
        return self.panel().locator(".jp-Cell")

    def kernel_messages(self) -> str:
        """Tracebacks and stderr printed by the notebook's cells, for failure messages."""
        with contextlib.suppress(Exception):
            texts = self.page.evaluate("""() => [...document.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],' +
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
                .map(e => e.innerText.slice(-3000))""")
            if texts:
                return "kernel output:\n" + "\n---\n".join(texts)
            return "kernel output: (none)"
        return ""

    def widget(self, cell: int, kind: str | None = None, timeout: float = 240) -> Widget:
        """The widget displayed by code cell `cell` (0-based), once its `view` is visible.
        `kind` picks one of several widgets in the cell by its front end's ``data-widget``
        (a composite such as Explorer shows several, each with its own `view`)."""
        out = self.cells().nth(cell).locator(".jp-OutputArea")
        if kind is not None:
            out = out.locator(f'[data-widget="{kind}"]').first
        view = out.locator('[data-testid="view"]').first
        deadline = time.time() + seconds(timeout)
        while time.time() < deadline:
            if view.count() and (view.is_visible() or kind is not None):
                return Widget(self, out)
            if self.page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
            ).count():
                self.fail(f"cell {cell} raised before its widget appeared")
            time.sleep(0.5)
        self.fail(f"no widget view ({kind or 'any'}) in cell {cell} after {timeout} s")

    def now(self) -> float:
        return self.page.evaluate("performance.now()")


@dataclass
class Change:
    """A control change and the picture it led to, timed in the page (ms)."""

    control: str
    t_event: float
    t_paint: float
    before: str
    after: str
    paints: list = field(default_factory=list)

    @property
    def latency_ms(self) -> float:
        return self.t_paint - self.t_event


class Widget:
    """One widget's output area: its controls (by data-testid) and its `view` picture."""

    def __init__(self, lab: Lab, root):
        self.lab = lab
        self.page = lab.page
        self.root = root
        self.view = root.locator('[data-testid="view"]').first

    def screenshot(self, label: str) -> Path:
        kind = self.root.evaluate(
            "el => el.getAttribute('data-widget') || el.querySelector('[data-widget]')?.getAttribute('data-widget')"
        )
        if kind:
            label = f"{kind}-{label}"
        return self.lab.screenshot(label, self.root)

    def control(self, testid: str):
        return self.root.locator(f'[data-testid="{testid}"]').first

    def has(self, testid: str) -> bool:
        return self.root.locator(f'[data-testid="{testid}"]').count() > 0

    # -- pictures -------------------------------------------------------------------------

    def picture(self, testid: str = "view"):
        return self.view if testid == "view" else self.control(testid)

    def signature(self, picture: str = "view") -> str | None:
        return self.picture(picture).evaluate("el => window.__cw.lastSigIn(el)")

    def paints(self, since: float, picture: str = "view") -> list[dict]:
        return self.picture(picture).evaluate("(el, s) => window.__cw.paintsIn(el, s)", since)

    def png(self, picture: str = "view") -> bytes:
        return self.picture(picture).screenshot()

    def wait_painted(self, timeout: float = 120, picture: str = "view") -> str:
        """Waits until the picture shows something (painted, not an empty element)."""
        deadline = time.time() + seconds(timeout)
        sig = None
        while time.time() < deadline:
            sig = self.signature(picture)
            if sig and not sig.startswith(("0x0", "unreadable")) and self.paints(0, picture):
                return sig
            time.sleep(0.3)
        self.lab.fail(f"{picture!r} never showed a picture within {timeout} s (signature {sig})")

    def wait_quiet(self, quiet: float = 1.0, timeout: float = 60, picture: str = "view") -> None:
        """Waits until the picture has not been repainted for `quiet` seconds."""
        deadline = time.time() + seconds(timeout)
        while time.time() < deadline:
            now = self.lab.now()
            if not self.paints(now - quiet * 1000, picture):
                return
            time.sleep(quiet / 2)
        self.lab.fail(f"{picture!r} kept repainting for {timeout} s")

    def change(
        self,
        control: str,
        action,
        picture: str = "view",
        timeout: float = 120,
        quiet: float = 1.0,
        watch: Widget | None = None,
    ) -> Change:
        """Runs `action` (which changes `control`), waits until `picture` shows a different
        picture and settles, and returns the in-page timing of event -> new picture painted.
        `watch`: the widget whose picture should change, when it is not this one (a control
        shared by several widgets)."""
        if watch is not None and watch is not self:
            return watch._change(self, control, action, picture, timeout, quiet)
        return self._change(self, control, action, picture, timeout, quiet)

    def _change(
        self, owner: Widget, control: str, action, picture: str, timeout: float, quiet: float
    ) -> Change:
        self.wait_quiet(quiet, picture=picture)
        before = self.signature(picture)
        errors_before = (owner.error_text(), self.error_text())
        since = self.lab.now()
        action()
        next_error_check = time.time() + 1
        deadline = time.time() + seconds(timeout)
        events = []
        no_event_by = time.time() + seconds(15)
        while time.time() < deadline:
            events = self.page.evaluate(
                "([s, id]) => window.__cw.eventsAfter(s, id)", [since, control]
            )
            if not events and time.time() > no_event_by:
                break  # the control never reacted: no use waiting for a picture
            if time.time() > next_error_check:
                # A failure shown in the widget will not turn into the expected picture.
                errors = (owner.error_text(), self.error_text())
                if errors != errors_before and any(errors):
                    self.lab.fail(
                        f"changing {control!r}: the widget reports an error instead of "
                        f"a new picture: {' | '.join(e for e in errors if e)!r}"
                    )
                next_error_check = time.time() + 1
            if events:
                new = [p for p in self.paints(events[0]["t"], picture) if p["sig"] != before]
                if new:
                    self.wait_quiet(quiet, picture=picture)
                    after = self.signature(picture)
                    if after == before:
                        self.lab.fail(f"changing {control!r}: {picture!r} changed and went back")
                    return Change(
                        control,
                        events[0]["t"],
                        new[0]["t"],
                        before,
                        after,
                        self.paints(events[0]["t"], picture),
                    )
            time.sleep(0.1)
        if not events:
            self.lab.fail(f"changing {control!r}: the page saw no input/change/click on it")
        self.lab.fail(
            f"changing {control!r}: {picture!r} did not change within {timeout} s "
            f"(error banner: {owner.error_text()!r}"
            + (f", in the watched widget: {self.error_text()!r}" if owner is not self else "")
            + ")"
        )

    # -- controls -------------------------------------------------------------------------

    def _select_el(self, testid: str):
        sel = self.control(testid)
        if sel.evaluate("el => el.tagName") != "SELECT":
            sel = sel.locator("select").first
        return sel

    def select(self, testid: str, label: str | None = None, index: int | None = None) -> None:
        """Chooses an option of a <select> by its visible label, or the option at `index`."""
        sel = self._select_el(testid)
        if index is not None:
            sel.select_option(index=index)
        else:
            sel.select_option(label=label)

    def options(self, testid: str) -> list[str]:
        """The visible labels of a <select>'s options."""
        return self._select_el(testid).evaluate("el => [...el.options].map(o => o.label)")

    def selected(self, testid: str) -> str:
        return self._select_el(testid).evaluate(
            "el => el.selectedIndex >= 0 ? el.options[el.selectedIndex].label : ''"
        )

    def selected_index(self, testid: str) -> int:
        return self._select_el(testid).evaluate("el => el.selectedIndex")

    def value(self, testid: str) -> str:
        el = self.control(testid)
        return el.evaluate(
            "el => ('value' in el ? el.value : (el.querySelector('input,select')||{}).value)"
        )

    def input_of(self, testid: str):
        """The <input>/<select> element of a control (the control itself or inside it)."""
        el = self.control(testid)
        if el.evaluate("el => ['INPUT','SELECT','TEXTAREA'].includes(el.tagName)"):
            return el
        return el.locator("input,select,textarea").first

    def press(self, testid: str, key: str) -> None:
        """Focuses a control and presses a key, as a user would (arrow keys on a slider)."""
        inp = self.input_of(testid)
        inp.focus()
        inp.press(key)

    def progress(self) -> float:
        """The value of the widget's progress bar (0..1)."""
        return float(self.control("progress").evaluate("el => el.value"))

    def text(self, testid: str) -> str:
        return self.control(testid).inner_text().strip()

    def click(self, testid: str) -> None:
        self.control(testid).click()

    def upload(self, testid: str, name: str, data: bytes, mime: str) -> None:
        el = self.control(testid)
        if el.evaluate("el => el.tagName === 'INPUT' && el.type === 'file'"):
            target = el
        else:
            target = el.locator('input[type="file"]').first
        target.set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])

    def error_text(self) -> str:
        """The visible error banner's message ("" when none is shown)."""
        err = self.root.locator('[data-testid="error"]:visible')
        if not err.count():
            return ""
        text = " ".join(t.strip() for t in err.all_inner_texts()).strip()
        return text.removesuffix("\u00d7").strip()  # the banner's close button

    def wait_error(self, timeout: float = 60) -> str:
        deadline = time.time() + seconds(timeout)
        while time.time() < deadline:
            text = self.error_text()
            if text:
                return text
            time.sleep(0.3)
        self.lab.fail(f"no visible error message within {timeout} s")

    def frames(self, seconds_: float, picture: str = "view") -> list[dict]:
        """Paints of `picture` with a new picture during the next `seconds_` seconds."""
        t0 = self.lab.now()
        time.sleep(seconds_)
        return distinct(self.paints(t0, picture))


def distinct(paints: list[dict]) -> list[dict]:
    """Paints whose picture differs from the one before (a repaint of the same frame is no frame)."""
    out, last = [], None
    for p in paints:
        if p["sig"] != last:
            out.append(p)
            last = p["sig"]
    return out


def fps(frames: list[dict]) -> float | None:
    if len(frames) < 2:
        return None
    span = (frames[-1]["t"] - frames[0]["t"]) / 1000
    return (len(frames) - 1) / span if span > 0 else None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def record(key: str, data: dict) -> None:
    """Adds measurements under `key` to test-artifacts/e2e/latency.json (merged across runs)."""
    path = artifact("latency.json")
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        results = {}
    data = dict(data)
    data["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results[key] = data
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
