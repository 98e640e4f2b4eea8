"""The C API of native imports, C host functions with a context pointer,
instance limits and interrupts: tests/c/native_interrupt.c linked against
build/libwasmprof.a (make lib), run on a module assembled here."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT, native_env, wat2wasm

WAT = """
(module
  (import "env" "cos" (func $cos (param f64) (result f64)))
  (import "env" "scale" (func $scale (param i32) (result i32)))
  (memory 1)
  (func (export "cos") (param f64) (result f64) (call $cos (local.get 0)))
  (func (export "scale") (param i32) (result i32) (call $scale (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""


def test_c_native_host_limits_interrupts(tmp_path):
    missing = [tool for tool in ("make", "cc") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not found (required under CI)")
        pytest.skip(f"{missing} not found")
    env = native_env()
    make = subprocess.run(["make", "lib"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert make.returncode == 0, make.stdout + make.stderr
    exe = tmp_path / "native_interrupt"
    cc = subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-Iinclude", "tests/c/native_interrupt.c",
         "build/libwasmprof.a", "-lffi", "-lm", "-lpthread", "-o", str(exe)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert cc.returncode == 0, cc.stderr
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(wat2wasm(WAT))
    run = subprocess.run([str(exe), str(wasm)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "all ok"
    assert "ok spin interrupted" in run.stdout
