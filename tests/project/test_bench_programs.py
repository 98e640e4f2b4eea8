"""The committed benchmark programs (bench/programs/*.wasm) compute what their
C source computes: each runs at a small size under wasmtime, the wasm3 CLI
(bench's wasm3-cli engine, built from ../shared/bench/wasm3) and, once
wasmprof has WASI (wasmprof.run and wasmprof.Wasi), under wasmprof, and its
checksum must equal the native gcc build's for the same size.  The .nowasi
builds (for engines without WASI) are checked too, with the size patched in
as bench/run.py does for wasm-interp.  Nothing is timed.

Needs gcc (skipped without it; a failure under CI), and clang-14 and cmake for the wasm3 CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from helpers.env import native_env
from helpers.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from engines import Wasm3Cli, Wasmprof, Wasmtime, cache_dir, patch_size  # noqa: E402
from programs import NATIVE_CFLAGS, Program, discover, parse_checksum  # noqa: E402

PROGRAMS = discover()


def test_every_kind_of_work_is_there():
    assert {p.name for p in PROGRAMS} >= {"fib", "sieve", "nbody", "hashtable", "dispatch", "sort_strings"}
    for program in PROGRAMS:
        assert program.wasm.is_file() and program.nowasi_wasm.is_file(), f"{program.name}: run build.sh"
        assert 0 < program.quick_size() < program.default_size


@pytest.fixture(scope="module")
def native_checksums(tmp_path_factory) -> dict:
    """Checksum of each program's native gcc -O2 build at its quick size."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out_dir = tmp_path_factory.mktemp("native")
    sums = {}
    for program in PROGRAMS:
        exe = out_dir / program.name
        subprocess.run(["gcc", *NATIVE_CFLAGS, "-o", str(exe), str(program.source), "-lm"],
                       check=True, env=native_env())
        size = program.quick_size()
        proc = subprocess.run([str(exe), str(size)], capture_output=True, check=True, env=native_env(),
                              timeout=120)
        sums[program.name] = parse_checksum(program, size, proc.stdout)
    return sums


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_wasmtime_matches_native(program: Program, native_checksums):
    _, checksum = Wasmtime().run(program, program.quick_size())
    assert checksum == native_checksums[program.name]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_nowasi_build_matches_native(program: Program, native_checksums):
    import wasmtime

    module_bytes = patch_size(program.nowasi_wasm.read_bytes(), program.quick_size())
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, module_bytes)
    assert module.imports == [], "the .nowasi build must import nothing"
    instance = wasmtime.Instance(store, module, [])
    checksum = instance.exports(store)["run"](store) & 0xFFFFFFFF
    assert checksum == native_checksums[program.name]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_wasm3_cli_matches_native(program: Program, native_checksums):
    engine = Wasm3Cli(cache_dir())  # built by ../shared/bench/wasm3/build.sh once, then reused
    assert engine.unavailable() is None
    _, checksum = engine.run(program, program.quick_size())
    assert checksum == native_checksums[program.name]


def test_patch_size_rejects_a_module_without_the_marker():
    with pytest.raises(ValueError, match="exactly once"):
        patch_size(b"\0asm\x01\0\0\0", 5)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_wasmprof_matches_native(program: Program, native_checksums):
    reason = Wasmprof().unavailable()
    if reason:
        pytest.skip(f"wasmprof cannot run WASI commands: {reason}")
    _, checksum = Wasmprof().run(program, program.quick_size())
    assert checksum == native_checksums[program.name]


def test_a_wrong_output_line_is_rejected():
    program = PROGRAMS[0]
    with pytest.raises(ValueError):
        parse_checksum(program, 3, f"{program.name} n=4 checksum=0000abcd\n".encode())
    assert parse_checksum(program, 4, f"{program.name} n=4 checksum=0000abcd\n".encode()) == 0xABCD
