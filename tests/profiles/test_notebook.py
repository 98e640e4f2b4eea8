"""notebooks/explore_profile.ipynb is executed so it never rots.

tests/jupyter/test_notebooks.py executes it (and every other notebook) against the real `wasmprof.profile()`
and opens its outputs in Chromium.  test_notebook_runs_on_synthetic_profiles
executes the same notebook with `wasmprof.profile` replaced by a synthetic profile builder, so
the exploration code (tables, flamegraph, DataFrame, plot, diff) is exercised in any case.
Without nbclient the tests skip (a failure under CI).
"""
from __future__ import annotations

import pytest

from helpers.paths import ROOT, TESTS

NOTEBOOK = ROOT / "notebooks" / "explore_profile.ipynb"


def _need(module: str):
    try:
        return __import__(module)
    except ImportError:
        pytest.skip(f"{module} is not installed (tests/run.sh installs it)")


def _execute(extra_first_cell: str = ""):
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    for module in ("ipykernel", "pandas", "matplotlib"):
        _need(module)
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    if extra_first_cell:
        nb.cells.insert(0, nbformat.v4.new_code_cell(extra_first_cell))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return nb


def _outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if kind in o.get("data", {})]


STUB = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import wasmprof
from helpers import profile_samples
from helpers.paths import ROOT, TESTS
def _stub_profile(path, *, invoke=None, args=(), **kw):
    return profile_samples.kernel_like(n=args[0] // 250, module_name="kernel.wasm")
wasmprof.profile = _stub_profile
"""


def test_notebook_runs_on_synthetic_profiles():
    nb = _execute(STUB)
    assert _outputs(nb, "image/png")
    assert _outputs(nb, "image/svg+xml")
    html = [o["data"]["text/html"] for o in _outputs(nb, "text/html")]
    assert any("<svg" in h and "wasmprof-top" in h for h in html), "the profile summary was not rendered"
