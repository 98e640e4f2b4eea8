"""The core's WASI from a plain C host (tests/c/wasi_host.c linked with
libwasmprof.a, meson.build): a C test program sees its arguments, environment and
preopened directory, and its exit status comes back, the same as under
wasmtime."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers.c_programs import c_program
from helpers.env import native_env
from helpers.wasi_support import Case, Toolchains, prepare_dir, run_wasmtime, snapshot


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Path:
    return c_program("wasi_host")


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Toolchains:
    return Toolchains.shared(tmp_path_factory)


@pytest.mark.parametrize(
    "case",
    [
        Case("args_env.c", args=("x", "y"), env=(("GREETING", "hello"),)),
        Case("exit_code.c", args=("23", "exit"), env=(("GREETING", "hello"),)),
        Case("files.c", env=(("GREETING", "hello"),), files=(("input.txt", b"one\ntwo\n"),)),
    ],
    ids=lambda c: c.id,
)
def test_c_host_matches_wasmtime(host: Path, tools: Toolchains, case: Case, tmp_path: Path):
    wasm = tools.build(case.program)
    ref = run_wasmtime(wasm, case, prepare_dir(tmp_path / "ref", case), tmp_path / "ref_io")
    root = prepare_dir(tmp_path / "got", case)
    proc = subprocess.run([str(host), str(wasm), str(root), "/sandbox", *case.args], capture_output=True,
                          env=native_env(), timeout=120)
    assert proc.returncode == ref.code, proc.stderr
    assert proc.stdout == ref.stdout
    assert proc.stderr == ref.stderr
    assert snapshot(root) == ref.files
