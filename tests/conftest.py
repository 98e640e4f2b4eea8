"""Shared helpers for the wasmprof test suite.

- ROOT, SPEC_DIR, EXAMPLES: where things are (the spec tests live beside the
  project, at ROOT/../shared/wasm-spec).
- wat2wasm(text) / the `wat` fixture: assemble WebAssembly text to bytes
  with the wasmtime package (wasmtime.wat2wasm).
- instantiate(text, imports) / the `instance` fixture: assemble and
  instantiate in one step.
- instr_offset(binary, func_index, opcode): the module byte offset of an
  instruction inside a function body, for checking the offsets that errors
  and traps report.
- python_env() / native_env(): environments for child processes.  Under the
  sanitizer run (.ci/run) LD_PRELOAD carries libasan; Python children need it
  to load the sanitized extension, native tools (make, cc) do not.
- The skip policy: a test skips when a tool it needs is missing, but under
  CI (env CI set) a skip fails the run unless it is on CI_ALLOWED_SKIPS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Skips that a CI run may take, each with why that is acceptable there:
# (node id prefix, fragment of the skip reason) -> why.  Any other skip under
# CI fails the test (pytest_runtest_makereport), so a tool CI forgot to
# install, or a guard for a feature that now exists, cannot hide tests.
CI_ALLOWED_SKIPS = {
    ("tests/test_memory_hugepages.py", "no transparent huge pages"):
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
SPEC_DIR = ROOT.parent / "shared" / "wasm-spec"
EXAMPLES = ROOT / "examples"


def wat2wasm(text: str) -> bytes:
    """Assemble a WebAssembly text module to its binary encoding."""
    import wasmtime

    return bytes(wasmtime.wat2wasm(text))


def instantiate(text: str, imports=None):
    """Assemble, decode and instantiate a text module; returns the Instance."""
    import wasmprof

    return wasmprof.Instance(wasmprof.Module(wat2wasm(text)), imports)


@pytest.fixture
def wat():
    return wat2wasm


@pytest.fixture
def instance():
    return instantiate


def python_env() -> dict[str, str]:
    """Environment for a child Python that imports wasmprof."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def native_env() -> dict[str, str]:
    """Environment for native tools (make, cc, the C host): no preloaded ASan."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


PYTHON = sys.executable

# The meson build directory whose C programs the tests run: build/release
# (what setup.sh, tests/run.sh and `make` share) unless WASMPROF_BUILD_DIR
# names another, as .ci/run does for its sanitizer pass (build/asan).
BUILD_DIR = Path(os.environ.get("WASMPROF_BUILD_DIR", ROOT / "build" / "release"))


def c_program(name: str) -> Path:
    """A C program of the meson build (meson.build: `host`, or a C host of
    tests/c/ such as `profile_host`; all at the build directory's top), built first with `make all` (a no-op
    when `pip install -e .` already built that directory).  Skips when make
    or meson is missing (a failure under CI: the skip policy above)."""
    import shutil
    import subprocess

    missing = [tool for tool in ("make", "meson") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not found")
    make = subprocess.run(["make", "all", f"BUILD={BUILD_DIR}"], cwd=ROOT, env=native_env(), capture_output=True,
                          text=True, timeout=900)
    assert make.returncode == 0, make.stdout + make.stderr
    exe = BUILD_DIR / name
    assert exe.is_file(), f"{exe} was not built"
    return exe


# ---- a little binary reader: offsets of function bodies and instructions ----


def read_leb_u(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at pos; returns (value, next position)."""
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def leb_s(value: int) -> bytes:
    """Encode a signed LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def leb_u(value: int) -> bytes:
    """Encode an unsigned LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sections(binary: bytes) -> list[tuple[int, int, int]]:
    """The sections of a module as (id, payload start, payload end)."""
    assert binary[:8] == b"\0asm\x01\0\0\0"
    out = []
    pos = 8
    while pos < len(binary):
        sid = binary[pos]
        size, start = read_leb_u(binary, pos + 1)
        out.append((sid, start, start + size))
        pos = start + size
    return out


def _skip_limits(binary: bytes, pos: int) -> int:
    flags = binary[pos]
    _, pos = read_leb_u(binary, pos + 1)
    if flags & 1:
        _, pos = read_leb_u(binary, pos)
    return pos


def imported_func_count(binary: bytes) -> int:
    """How many of the module's imports are functions."""
    count = 0
    for sid, start, _end in sections(binary):
        if sid != 2:
            continue
        n, pos = read_leb_u(binary, start)
        for _ in range(n):
            for _name in range(2):
                length, pos = read_leb_u(binary, pos)
                pos += length
            kind = binary[pos]
            pos += 1
            if kind == 0:  # func: type index
                _, pos = read_leb_u(binary, pos)
                count += 1
            elif kind == 1:  # table: reftype, limits
                pos = _skip_limits(binary, pos + 1)
            elif kind == 2:  # memory: limits
                pos = _skip_limits(binary, pos)
            elif kind == 3:  # global: valtype, mutability
                pos += 2
            else:
                raise ValueError(f"unknown import kind {kind}")
    return count


def func_body_range(binary: bytes, func_index: int) -> tuple[int, int]:
    """(start, end) module offsets of a defined function's body (its locals
    declarations and instructions, up to and including the final `end`)."""
    defined = func_index - imported_func_count(binary)
    assert defined >= 0, "imported functions have no body"
    for sid, start, _end in sections(binary):
        if sid != 10:
            continue
        n, pos = read_leb_u(binary, start)
        for i in range(n):
            size, pos = read_leb_u(binary, pos)
            if i == defined:
                return pos, pos + size
            pos += size
    raise ValueError(f"no body for function {func_index}")


def instr_offset(binary: bytes, func_index: int, opcode: bytes) -> int:
    """The module offset of the one occurrence of the byte string `opcode`
    in the instructions of function func_index (after its locals
    declarations; the test modules are written so that it is unique)."""
    start, end = func_body_range(binary, func_index)
    ndecls, start = read_leb_u(binary, start)
    for _ in range(ndecls):
        _, start = read_leb_u(binary, start)
        start += 1  # value type
    body = binary[start:end]
    first = body.find(opcode)
    assert first >= 0, f"opcode {opcode.hex()} not in function {func_index}"
    assert body.find(opcode, first + 1) < 0, f"opcode {opcode.hex()} is not unique in function {func_index}"
    return start + first
