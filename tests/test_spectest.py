"""The WebAssembly 2.0 core spec tests, one test per .wast script.

The scripts were converted by wast2json and live beside the project, in
../shared/wasm-spec/core/NAME/NAME.json.  When that folder is missing the
tests are skipped, unless WASMPROF_REQUIRE_SPEC=1 (CI), which makes it a
failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from conftest import PYTHON, ROOT, SPEC_DIR, python_env

CORE_DIR = SPEC_DIR / "core"
SCRIPTS = sorted(CORE_DIR.glob("*/*.json"))
REQUIRED = os.environ.get("WASMPROF_REQUIRE_SPEC") == "1"
MISSING = f"spec tests not found at {CORE_DIR} (set WASMPROF_REQUIRE_SPEC=1 to make this an error)"


def _require_spec() -> None:
    if not SCRIPTS:
        if REQUIRED:
            pytest.fail(MISSING)
        pytest.skip(MISSING)


def _rel(path) -> str:
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("script", SCRIPTS or [None], ids=[p.parent.name for p in SCRIPTS] or ["missing"])
def test_spec_script(script):
    _require_spec()
    from wasmprof import spectest

    passed, failed, skipped, failures = spectest.run_file(str(script))
    listing = "\n".join(str(f) for f in failures)
    assert failed == 0, f"{_rel(script)}: {failed} failed:\n{listing}"
    # Every assertion is counted, and only the text-format assert_malformed
    # ones (quoted .wat modules, which a binary-only runner cannot decode)
    # may be skipped.
    commands = json.loads(script.read_text())["commands"]
    assertions = sum(1 for c in commands if c["type"].startswith("assert_"))
    text_only = sum(1 for c in commands if c["type"] == "assert_malformed" and c.get("module_type") == "text")
    assert passed + failed + skipped == assertions, f"{_rel(script)}: counted {passed + failed + skipped} of {assertions}"
    assert skipped == text_only, f"{_rel(script)}: {skipped} skipped, only {text_only} text modules may be"


def test_spectest_cli_summary_line():
    """`python -m wasmprof.spectest A.json B.json` ends with `N passed, N failed, N skipped`."""
    _require_spec()
    scripts = [CORE_DIR / "fac" / "fac.json", CORE_DIR / "forward" / "forward.json"]
    proc = subprocess.run(
        [PYTHON, "-m", "wasmprof.spectest", *map(str, scripts)],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{proc.stderr}"
    m = re.fullmatch(r"(\d+) passed, (\d+) failed, (\d+) skipped", lines[-1].strip())
    assert m, f"last line is {lines[-1]!r}; stderr:\n{proc.stderr}"
    passed, failed, _skipped = map(int, m.groups())
    assert failed == 0, proc.stdout
    assert proc.returncode == 0, proc.stderr
    # The CLI and the library count the same things.
    from wasmprof import spectest

    assert passed == sum(spectest.run_file(str(s))[0] for s in scripts) > 0
