"""The WebAssembly 2.0 core spec tests, one test per .wast script.

The scripts were converted by wast2json and live beside the project, in
../shared/wasm-spec/core/NAME/NAME.json.  When that folder is missing the
tests are skipped (a failure under CI).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from helpers.env import python_env
from helpers.paths import PYTHON, ROOT, SPEC_DIR

CORE_DIR = SPEC_DIR / "core"
SCRIPTS = sorted(CORE_DIR.glob("*/*.json"))
def _require_spec() -> None:
    if not SCRIPTS:
        pytest.skip(f"spec tests not found at {CORE_DIR}")


def _rel(path) -> str:
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("script", SCRIPTS or [None], ids=[p.parent.name for p in SCRIPTS] or ["missing"])
def test_spec_script(script):
    _require_spec()
    from wasmprof import spectest

    result = spectest.run_file_result(str(script))
    passed, failed, skipped, failures = result.as_tuple()
    listing = "\n".join(str(f) for f in failures)
    # A failure includes a `module` or `action` command outside any
    # assertion that failed (a note): none may.
    assert failed == 0 and not result.notes, f"{_rel(script)}: {failed} failed:\n{listing}"
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


def _copy_script(name: str, dest) -> "os.PathLike[str]":
    import shutil

    _require_spec()
    shutil.copytree(CORE_DIR / name, dest / name)
    return dest / name / f"{name}.json"


def test_a_module_that_fails_to_load_fails_the_script(tmp_path):
    """A `module` command outside any assertion is checked: a module the runner
    wrongly rejects fails the script even when no assertion would notice.
    Here the script's first module has its last instructions replaced by an
    opcode that does not exist; its assertions then fail too, and the note
    names the module."""
    from wasmprof import spectest

    script = _copy_script("fac", tmp_path)
    first = json.loads(script.read_text())["commands"][0]
    assert first["type"] == "module"
    module = script.parent / first["filename"]
    module.write_bytes(module.read_bytes()[:-3] + b"\xff\x0b\x0b")  # 0xff: no such opcode
    result = spectest.run_file_result(str(script))
    assert result.failed > 0
    assert any(first["filename"] in note and "failed to load" in note for note in result.notes), result.notes
    proc = subprocess.run([PYTHON, "-m", "wasmprof.spectest", str(script)], cwd=ROOT, env=python_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "failed to load" in proc.stdout


def test_a_module_no_assertion_uses_still_counts(tmp_path):
    """The only check on a module that no assertion follows is the runner's
    note: dropping every assertion of a script leaves the bare module
    commands, and a broken one must still fail."""
    from wasmprof import spectest

    script = _copy_script("fac", tmp_path)
    data = json.loads(script.read_text())
    data["commands"] = [c for c in data["commands"] if c["type"] == "module"]
    script.write_text(json.dumps(data))
    assert spectest.run_file_result(str(script)).as_tuple() == (0, 0, 0, [])
    module = script.parent / data["commands"][0]["filename"]
    module.write_bytes(module.read_bytes()[:-3] + b"\xff\x0b\x0b")
    result = spectest.run_file_result(str(script))
    assert (result.passed, result.failed) == (0, 1)
    assert "failed to load" in result.failures[0]
