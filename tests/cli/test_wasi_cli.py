"""`python -m wasmprof run` for WASI commands, like `wasmtime run`: program
arguments after --, --dir HOST[::GUEST], --env K=V, and the guest's exit
status as the process's; bare kernels with --invoke keep working."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.env import python_env
from helpers.paths import ROOT
from helpers.wasm import wat2wasm
from helpers.wasi_support import Case, Toolchains, prepare_dir, run_wasmtime, snapshot


def wasmprof_run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wasmprof", "run", *args], cwd=cwd, env=python_env(),
                          capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Toolchains:
    return Toolchains.shared(tmp_path_factory)


def test_cli_runs_command_like_wasmtime(tools: Toolchains, tmp_path: Path):
    case = Case("args_env.c", args=("-v", "--flag", "two words"), env=(("HOME", "/h"), ("X", "1=2")))
    wasm = tools.build(case.program)
    ref = run_wasmtime(wasm, case, prepare_dir(tmp_path / "ref", case), tmp_path / "io")
    proc = wasmprof_run(str(wasm), "--env", "HOME=/h", "--env", "X=1=2", "--", *case.args)
    assert proc.returncode == ref.code == 4
    assert proc.stdout == ref.stdout
    assert b"argv[1]=<-v>" in proc.stdout


@pytest.mark.parametrize("code", [0, 1, 3, 42])
def test_cli_exit_status(tools: Toolchains, code: int):
    wasm = tools.build("exit_code.c")
    proc = wasmprof_run(str(wasm), "--", str(code), "exit")
    assert proc.returncode == code
    assert proc.stdout == f"exiting with {code} via exit".encode()
    assert proc.stderr == b"bye\n"


def test_cli_dir_mapping(tools: Toolchains, tmp_path: Path):
    case = Case("files.c", files=(("input.txt", b"cli\n"),))
    wasm = tools.build(case.program)
    ref_root = prepare_dir(tmp_path / "ref", case)
    ref = run_wasmtime(wasm, case, ref_root, tmp_path / "io")
    root = prepare_dir(tmp_path / "got", case)
    proc = wasmprof_run(str(wasm), "--dir", f"{root}::/sandbox")
    assert proc.returncode == ref.code == 0
    assert proc.stdout == ref.stdout
    assert snapshot(root) == ref.files


def test_cli_dir_without_guest_path(tools: Toolchains, tmp_path: Path):
    # HOST alone: the guest sees the directory under the same (here relative) name,
    # which wasi-libc matches for /sandbox too
    wasm = tools.build("dirlist.c")
    box = tmp_path / "sandbox"
    box.mkdir()
    (box / "a.txt").write_text("a")
    proc = wasmprof_run(str(wasm), "--dir", "sandbox", cwd=tmp_path)
    assert proc.returncode == 0
    assert b"/sandbox: 3 entries\n  d .\n  d ..\n  f a.txt\n" in proc.stdout
    assert (box / "made" / "alias").is_symlink()
    proc = wasmprof_run(str(wasm), "--dir", f"{box}::/elsewhere")
    assert b"opendir /sandbox failed" in proc.stdout


def test_cli_bare_kernel_still_works():
    proc = wasmprof_run("examples/fib.wasm", "--invoke", "fib", "20")
    assert proc.returncode == 0 and proc.stdout.split() == [b"6765"]
    proc = wasmprof_run("examples/fib.wasm", "--invoke", "fib", "--", "10")
    assert proc.returncode == 0 and proc.stdout.split() == [b"55"]


def test_cli_invoke_in_wasi_module(tmp_path: Path):
    text = """(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (memory (export "memory") 1)
                (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
                (func (export "quit") (param i32) (call $exit (local.get 0))))"""
    path = tmp_path / "m.wasm"
    path.write_bytes(wat2wasm(text))
    proc = wasmprof_run(str(path), "--invoke", "add", "2", "40")
    assert proc.returncode == 0 and proc.stdout.split() == [b"42"]
    proc = wasmprof_run(str(path), "--invoke", "quit", "9")
    assert proc.returncode == 9


def test_cli_usage_errors(tmp_path: Path):
    proc = wasmprof_run("examples/fib.wasm", "--dir", str(tmp_path))
    assert proc.returncode == 2 and b"need a module that imports WASI" in proc.stderr
    text = '(module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))) (func (export "_start")))'
    path = tmp_path / "y.wasm"
    path.write_bytes(wat2wasm(text))
    proc = wasmprof_run(str(path), "--dir", str(tmp_path / "missing"))
    assert proc.returncode == 2 and b"cannot preopen" in proc.stderr
