"""The C embedding: `make lib examples` builds libwasmprof.a and the example
host (examples/host.c) in the build directory (build/release), and the host
runs exports of examples/*.wasm.

Skipped when make or meson is missing (a failure under CI)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers.env import native_env
from helpers.paths import BUILD_DIR, ROOT

HOST = BUILD_DIR / "host"


@pytest.fixture(scope="module")
def host():
    missing = [tool for tool in ("make", "meson") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not found"
        pytest.skip(message)
    proc = subprocess.run(
        ["make", "lib", "examples", f"BUILD={BUILD_DIR}"], cwd=ROOT, env=native_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"make failed:\n{proc.stdout}\n{proc.stderr}"
    assert (BUILD_DIR / "libwasmprof.a").is_file()
    assert HOST.is_file()
    return HOST


def run_host(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HOST), *args], cwd=ROOT, env=native_env(), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args,expected",
    [
        (("examples/fib.wasm", "fib", "20"), "6765"),
        (("examples/fib.wasm", "fib", "0"), "0"),
        (("examples/fib.wasm", "fib_iter", "30"), "832040"),
        (("examples/fib.wasm", "fib_iter", "0x10"), "987"),
        (("examples/fib.wasm", "loop_sum", "1000"), "332833500"),
        (("examples/kernel.wasm", "run", "1000"), "-263481369"),
        (("examples/kernel.wasm", "checksum", "0", "0"), str(0x811C9DC5 - 2**32)),
    ],
)
def test_host_runs_exports(host, args, expected):
    proc = run_host(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [expected]


def test_host_make_check_c(host):
    proc = subprocess.run(["make", "check-c", f"BUILD={BUILD_DIR}"], cwd=ROOT, env=native_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check-c: ok" in proc.stdout


def test_host_reports_trap(host):
    # 100000 values do not fit in kernel.wasm's 4 pages: fill traps.
    proc = run_host("examples/kernel.wasm", "run", "100000")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "trap [memory_oob]: out of bounds memory access" in proc.stderr
    assert "(function " in proc.stderr and "(offset 0x" in proc.stderr


def test_host_reports_decode_error(host, tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x0d\x00")
    proc = run_host(str(bad), "f")
    assert proc.returncode == 1
    assert "decode error" in proc.stderr
    assert "(offset 0x8)" in proc.stderr


def test_host_reports_missing_export(host):
    proc = run_host("examples/fib.wasm", "nope")
    assert proc.returncode == 1
    assert 'no export named "nope"' in proc.stderr


def test_host_rejects_bad_arguments(host):
    for args in (("fib",), ("fib", "1", "2"), ("fib", "x"), ("fib", "4294967296")):
        proc = run_host("examples/fib.wasm", *args)
        assert proc.returncode == 1, args
        assert "host:" in proc.stderr


def test_host_missing_file(host, tmp_path):
    proc = run_host(str(tmp_path / "missing.wasm"), "f")
    assert proc.returncode == 1
    assert "cannot read" in proc.stderr
