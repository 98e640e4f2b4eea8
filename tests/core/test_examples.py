"""The bundled examples (examples/*.wasm, built from the .wat sources beside
them) and the README's quick start: `python -m wasmprof run FILE --invoke
NAME ARGS...`."""

from __future__ import annotations

import struct
import subprocess

import pytest

import wasmprof
from helpers.env import python_env
from helpers.paths import EXAMPLES, PYTHON, ROOT
from helpers.wasm import sections, wat2wasm


def kernel_run(n: int) -> int:
    """A Python model of kernel.wasm's run(n), as a signed i32."""
    x, values = 12345, []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        values.append(x - 2**32 if x >= 2**31 else x)
    h = 0x811C9DC5
    for byte in b"".join(struct.pack("<i", v) for v in sorted(values)):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


@pytest.fixture(scope="module")
def fib():
    return wasmprof.Instance(wasmprof.Module.from_file(EXAMPLES / "fib.wasm")).exports


@pytest.fixture(scope="module")
def kernel():
    return wasmprof.Instance(wasmprof.Module.from_file(EXAMPLES / "kernel.wasm")).exports


def test_fib(fib):
    expected = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]
    assert [fib.fib(n) for n in range(11)] == expected
    assert [fib.fib_iter(n) for n in range(11)] == expected
    assert fib.fib(25) == 75025
    assert fib.fib_iter(47) == 2971215073 - 2**32  # wraps as an i32
    assert fib.fib_iter.call(47, unsigned=True) == 2971215073


def test_loop_sum(fib):
    assert fib.loop_sum(0) == 0
    assert fib.loop_sum(-5) == 0
    assert fib.loop_sum(10_000) == sum(i * i % 1000003 for i in range(10_000))


@pytest.mark.parametrize("n", [0, 1, 2, 100, 1000])
def test_kernel_run(kernel, n):
    assert kernel.run(n) == kernel_run(n)
    assert kernel.is_sorted(n) == 1


def test_kernel_out_of_memory_traps(kernel):
    with pytest.raises(wasmprof.Trap) as excinfo:
        kernel.run(65537)
    assert excinfo.value.kind == "memory_oob"


@pytest.mark.parametrize("name", ["fib", "kernel", "imports"])
def test_committed_wasm_matches_source(name):
    """The committed .wasm is the .wat source assembled: every non-custom
    section is identical when the source is assembled again here (with
    wasmtime; the custom sections may differ between assemblers)."""
    committed = (EXAMPLES / f"{name}.wasm").read_bytes()
    fresh = wat2wasm((EXAMPLES / f"{name}.wat").read_text())

    def standard_sections(binary: bytes) -> dict[int, bytes]:
        return {sid: binary[start:end] for sid, start, end in sections(binary) if sid != 0}

    assert standard_sections(committed) == standard_sections(fresh), (
        f"examples/{name}.wasm is stale: rebuild it (see examples/README.md)"
    )


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "wasmprof", *args], cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=300
    )


def test_quick_start_command(tmp_path):
    svg = tmp_path / "kernel.svg"
    proc = run_cli("profile", "examples/kernel.wasm", "--invoke", "run", "--top", "10", "-o", str(svg), "--", "2000")
    assert proc.returncode == 0, proc.stderr
    assert "partition" in proc.stdout and "total ticks" in proc.stdout
    assert svg.read_text().startswith("<?xml") and "partition" in svg.read_text()


def test_run_command():
    proc = run_cli("run", "examples/fib.wasm", "--invoke", "fib", "25")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["75025"]


def test_cli_several_results_and_negative_args(tmp_path):
    path = tmp_path / "m.wasm"
    path.write_bytes(wat2wasm('(module (func (export "f") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0)))'))
    proc = run_cli("run", str(path), "--invoke", "f", "-3", "-4")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["-4", "-3"]


def test_cli_trap_exits_1():
    proc = run_cli("run", "examples/kernel.wasm", "--invoke", "run", "100000")
    assert proc.returncode == 1
    assert "out of bounds memory access" in proc.stderr
