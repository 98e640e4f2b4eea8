"""The C API of native imports, C host functions with a context pointer,
instance limits and interrupts: tests/c/native_interrupt.c linked against
libwasmprof.a (meson.build), run on a module assembled here."""

from __future__ import annotations

import subprocess


from helpers.c_programs import c_program
from helpers.env import native_env
from helpers.wasm import wat2wasm

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
    exe = c_program("native_interrupt")
    env = native_env()
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(wat2wasm(WAT))
    run = subprocess.run([str(exe), str(wasm)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "all ok"
    assert "ok spin interrupted" in run.stdout
