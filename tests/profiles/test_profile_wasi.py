"""wasmprof.profile() on real programs compiled from C with wasi-libc (the
WASI layer's test programs): the profile covers the whole run, host (WASI)
calls included, and a proc_exit is an exit code, not an error."""
from __future__ import annotations

import io

import pytest

import wasmprof
from helpers.profile_checks import check_invariants
from helpers.wasi_support import Toolchains


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Toolchains:
    return Toolchains.shared(tmp_path_factory)


def _wasi(args, out: io.BytesIO) -> "wasmprof.Wasi":
    return wasmprof.Wasi(args=args, stdout=out, stderr=io.BytesIO())


@pytest.mark.parametrize("how,code", [("return", 0), ("return", 3), ("exit", 7)])
def test_profile_a_c_program(tools: Toolchains, how: str, code: int):
    wasm = tools.build("exit_code.c")
    out = io.BytesIO()
    prof = wasmprof.profile(wasm, wasi=_wasi(["exit_code", str(code), how], out))
    assert out.getvalue() == f"exiting with {code} via {how}".encode()
    check_invariants(prof)
    assert prof.root.name == "_start"
    assert prof.trap is None
    if how == "exit" or code:
        assert prof.exit_code == code     # proc_exit ends the run: the profile up to it
    assert prof.total_ticks > 1000
    host = [n for n in prof.nodes if n.host]
    assert any(n.name.startswith("wasi_snapshot_preview1.") for n in host)
    assert any("fd_write" in n.name for n in host)
    # the same run twice gives the same counts
    again = wasmprof.profile(wasm, wasi=_wasi(["exit_code", str(code), how], io.BytesIO()))
    assert [(n.parent, n.func, n.calls, n.self_ticks) for n in again.nodes] == \
           [(n.parent, n.func, n.calls, n.self_ticks) for n in prof.nodes]


def test_profile_gives_a_wasi_program_the_default_environment(tools: Toolchains, capfd):
    """Without wasi=, a WASI command gets what wasmprof.run gives it: args as its arguments."""
    wasm = tools.build("exit_code.c")
    prof = wasmprof.profile(wasm, args=("5", "return"))
    assert capfd.readouterr().out == "exiting with 5 via return"
    assert prof.exit_code == 5 and prof.root.name == "_start"
    check_invariants(prof)


def test_profile_cli_runs_a_wasi_program_with_its_arguments(tools: Toolchains, tmp_path):
    import subprocess
    import sys

    from helpers.env import python_env
    from helpers.paths import ROOT

    wasm = tools.build("exit_code.c")
    out = tmp_path / "p.folded"
    proc = subprocess.run([sys.executable, "-m", "wasmprof", "profile", str(wasm), "-o", str(out), "--", "4", "exit"],
                          cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4, proc.stderr          # the program's exit status
    assert proc.stdout.startswith("exiting with 4 via exit")
    lines = out.read_text().splitlines()
    assert lines and all(line.startswith("_start") for line in lines)
    assert any(";main" in line for line in lines)          # names from the program's name section
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) > 1000
