"""Fixtures for the browser tests: one JupyterLab server and one Chromium per session, a fresh
page per test; a failing test leaves a screenshot and the browser console in test-artifacts/e2e/.
"""

from __future__ import annotations

import re

import pytest

from . import harness


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    if rep.when == "call" and rep.failed:
        # Whatever page the test drove (its own or a module's shared notebook), keep its state.
        for lab in list(harness.LIVE_LABS):
            lab.screenshot(f"FAILED-{item.name}"[:80])


@pytest.fixture(scope="session")
def jupyter_server():
    harness.clean_artifacts()
    with harness.jupyterlab() as server:
        yield server


@pytest.fixture(scope="session")
def notebook7_server():
    """Jupyter Notebook 7 (the ``notebook`` package), started only for the tests that use it."""
    pytest.importorskip("notebook", reason="Jupyter Notebook 7 (pip install notebook) is missing")
    with harness.jupyterlab(app="notebook") as server:
        yield server


def _name(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]


@pytest.fixture(scope="module")
def module_lab(request, browser, jupyter_server):
    """One page for a whole test module (a notebook with several widgets, one kernel)."""
    lab = harness.Lab(browser, jupyter_server, _name(request).removesuffix(".py"))
    try:
        yield lab
    finally:
        lab.close()
        jupyter_server.shutdown_kernels()


@pytest.fixture()
def lab(request, browser, jupyter_server):
    name = _name(request)
    lab = harness.Lab(browser, jupyter_server, name)
    try:
        yield lab
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            harness.artifact(f"{name}.jupyterlab.log").write_text(jupyter_server.log_tail(20000))
        lab.close()
        jupyter_server.shutdown_kernels()
