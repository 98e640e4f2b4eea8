"""CoreMark in the benchmark (bench/coremark.py) and bench/run.py end to end:
CoreMark is built from ../shared/bench/coremark, runs at a few iterations
under every engine that has WASI, and its CRCs equal the native build's and
CoreMark's own known values; output CoreMark itself flags, or a run with
other seeds or another iteration count, is rejected.  Nothing is timed.

Needs clang-14, gcc and cmake (the wasm3 CLI); a failure under CI."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest

from helpers.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import coremark  # noqa: E402
import run as bench_run  # noqa: E402
from engines import Native, Wasm3Cli, Wasmprof, WasmprofProfiled, Wasmtime, cache_dir  # noqa: E402

QUICK = coremark.QUICK_ITERATIONS
# CoreMark's known CRCs for the 2K performance run (core_main.c's tables, whatever the
# iteration count) and, for 10 iterations, the final CRC this machine's native build gives.
KNOWN_LIST, KNOWN_MATRIX, KNOWN_STATE = 0xE714, 0x1FD7, 0x8E3A
FINAL_AT_10 = 0xFCAF


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> coremark.CoreMark:
    return coremark.build(tmp_path_factory.mktemp("coremark"))


@pytest.fixture(scope="module")
def native_stdout(built) -> bytes:
    return subprocess.run([str(built.native_exe), *built.args(QUICK)], capture_output=True, check=True,
                          timeout=60).stdout


def test_the_native_build_gives_coremarks_known_crcs(built, native_stdout):
    assert QUICK == 10
    checksum = built.checksum(QUICK, native_stdout)
    assert checksum == (KNOWN_LIST << 48) | (KNOWN_MATRIX << 32) | (KNOWN_STATE << 16) | FINAL_AT_10


@pytest.mark.parametrize("engine", [Wasmprof, WasmprofProfiled, Wasmtime, Native, "wasm3-cli"],
                         ids=lambda e: e if isinstance(e, str) else e.key)
def test_every_wasi_engine_validates(engine, built, native_stdout, tmp_path):
    engine = Wasm3Cli(cache_dir()) if engine == "wasm3-cli" else (
        Native(tmp_path) if engine is Native else engine())
    assert engine.unavailable() is None
    assert engine.cannot_run(built) is None
    _, checksum = engine.run(built, QUICK)
    assert checksum == built.checksum(QUICK, native_stdout)


def test_output_coremark_flags_is_rejected(native_stdout):
    text = native_stdout.decode()
    bad = text.replace("[0]crclist       : 0xe714",
                       "[0]ERROR! list crc 0xe715 - should be 0xe714\n[0]crclist       : 0xe715")
    assert bad != text
    with pytest.raises(ValueError, match="list crc"):
        coremark.parse_output(QUICK, bad.encode())
    with pytest.raises(ValueError, match="incomplete"):
        coremark.parse_output(QUICK, text.replace("[0]crcfinal", "[0]crc").encode())
    with pytest.raises(ValueError, match="not 11"):
        coremark.parse_output(11, native_stdout)


def test_other_seeds_are_rejected(built):
    # CoreMark's validation run: its CRCs are right for its seeds, but it is not the performance run.
    out = subprocess.run([str(built.native_exe), "0x3415", "0x3415", "0x66", str(QUICK)], capture_output=True,
                         timeout=60).stdout
    assert b"ERROR" not in out.replace(coremark.TOO_SHORT.encode(), b"")
    with pytest.raises(ValueError, match="seedcrc 0x18f2"):
        coremark.parse_output(QUICK, out)


def test_run_py_quick_reports_a_score_for_every_wasi_engine():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = bench_run.main(["--quick", "--only", "coremark", "--only", "fib", "--skip", "wasm-interp"])
    text = out.getvalue()
    assert status == 0, text
    assert "wasm3-cli      peer      Wasm3 v0.9.0" in text
    scores = text.split("CoreMark score, coremark 10 iterations")[1].splitlines()[3:]
    rows = {ln.split()[0]: ln.split()[1:] for ln in scores if ln.strip()}
    assert set(rows) == {"wasmprof", "wasmprof+prof", "wasm3-cli", "pywasm3", "wasmtime", "native"}
    for key in ("wasmprof", "wasmprof+prof", "wasm3-cli", "wasmtime", "native"):
        assert float(rows[key][0]) > 0 and rows[key][1].endswith("x"), (key, rows[key])
    assert rows["wasm3-cli"][1] == "1.00x" and rows["native"][2] == "1.00x"
    assert rows["pywasm3"][0] == "n/a"
    # fib is in the geometric mean; CoreMark is not (pywasm3 has no CoreMark time).
    geomean = [ln for ln in text.split("Ratio to wasm3-cli")[1].splitlines() if ln.startswith("geomean")][0]
    assert "(" not in geomean, geomean


def test_a_wasm3_cli_that_cannot_be_built_says_why(tmp_path):
    engine = Wasm3Cli(tmp_path / "cache")
    engine.build_script = tmp_path / "build.sh"
    assert engine.unavailable() == f"n/a ({engine.build_script} not found)"
    engine = Wasm3Cli(tmp_path / "cache")
    engine.build_script = tmp_path / "build.sh"
    engine.build_script.write_text("echo 'cmake: command not found' >&2; exit 1\n")
    assert engine.unavailable() == "n/a (build.sh failed: cmake: command not found)"
    assert not list((tmp_path / "cache").glob("*/wasm3")), "nothing half-built is left to reuse"
