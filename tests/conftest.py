"""The suite's configuration: fixtures, and its policy on skips.

Shared code lives in the helpers/ package (tests/helpers/__init__.py lists
its modules).  The skip policy: a test skips when a tool it needs is
missing, but under CI (env CI set) a skip fails the run unless it is on
CI_ALLOWED_SKIPS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# `import helpers` from every test folder, and from the copies of this file
# that tests/project/test_suite_policy.py makes.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers.wasm import instantiate, wat2wasm  # noqa: E402

# Skips that a CI run may take, each with why that is acceptable there:
# (node id prefix, fragment of the skip reason) -> why.  Any other skip under
# CI fails the test (pytest_runtest_makereport), so a tool CI forgot to
# install, or a guard for a feature that now exists, cannot hide tests.
CI_ALLOWED_SKIPS = {
    ("tests/core/test_memory_hugepages.py", "no transparent huge pages"):
        "a property of the CI machine's kernel, not of the project: wasmprof then runs without huge pages",
}


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def ci_allows_skip(nodeid: str, reason: str) -> bool:
    """Whether a skip of nodeid for reason is on CI_ALLOWED_SKIPS."""
    return any(nodeid.startswith(prefix) and fragment in reason for prefix, fragment in CI_ALLOWED_SKIPS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not ci_allows_skip(report.nodeid, reason):
            report.outcome = "failed"
            report.longrepr = f"skipped under CI, and not on CI_ALLOWED_SKIPS (tests/conftest.py): {reason}"


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter files it as a skip
def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A whole module skipped at collection (importorskip) under CI fails too."""
    if os.environ.get("CI") and report.skipped:
        reason = _skip_reason(report)
        if not ci_allows_skip(report.nodeid, reason):
            report.outcome = "failed"
            report.longrepr = f"skipped under CI, and not on CI_ALLOWED_SKIPS (tests/conftest.py): {reason}"


@pytest.fixture
def wat():
    return wat2wasm


@pytest.fixture
def instance():
    return instantiate
