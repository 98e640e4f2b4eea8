"""Deep and unbounded recursion: the guest's call stack is bounded by the
core (frames live in an explicit array, not on the C stack), so runaway
recursion is a Trap of kind "stack_exhausted" in an ordinary Python process,
and the instance stays usable afterwards."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

import wasmprof
from helpers.env import python_env
from helpers.paths import PYTHON, ROOT
from helpers.wasm import instantiate, instr_offset

RECURSION = """
(module
  (type $v (func))
  (table 2 funcref)
  (elem (i32.const 0) $ping $pong)

  ;; unbounded self recursion
  (func $forever (export "forever") (call $forever))

  ;; unbounded recursion with arguments and locals in every frame
  (func $forever_args (export "forever_args") (param i64 f64) (result i64)
    (local i32 i32 i32)
    (call $forever_args (i64.add (local.get 0) (i64.const 1)) (local.get 1)))

  ;; depth(n): recurse n times with a counter, returning n
  (func $depth (export "depth") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1)
                     (call $depth (i32.sub (local.get $n) (i32.const 1)))))))

  ;; mutual recursion through call_indirect: ping -> pong -> ping ...
  (func $ping (export "ping") (call_indirect (type $v) (i32.const 1)))
  (func $pong (call_indirect (type $v) (i32.const 0)))

  (func (export "ok") (result i32) (i32.const 42))
)
"""


@pytest.fixture(scope="module")
def rec():
    return instantiate(RECURSION).exports


def _assert_exhausted(excinfo):
    trap = excinfo.value
    assert trap.kind == "stack_exhausted"
    assert trap.message == "call stack exhausted"
    assert "call stack exhausted" in str(trap)


def test_unbounded_self_recursion(rec):
    with pytest.raises(wasmprof.Trap) as excinfo:
        rec.forever()
    _assert_exhausted(excinfo)


def test_unbounded_recursion_with_locals(rec):
    with pytest.raises(wasmprof.Trap) as excinfo:
        rec.forever_args(0, 1.5)
    _assert_exhausted(excinfo)


def test_million_deep_counter(rec):
    with pytest.raises(wasmprof.Trap) as excinfo:
        rec.depth(1_000_000)
    _assert_exhausted(excinfo)


def test_moderate_depth_returns(rec):
    # Well below the default ceiling of 50000 frames: must simply work.
    assert rec.depth(10_000) == 10_000


def test_mutual_recursion_through_call_indirect(rec):
    with pytest.raises(wasmprof.Trap) as excinfo:
        rec.ping()
    _assert_exhausted(excinfo)


def test_instance_usable_after_exhaustion(rec):
    for _ in range(3):
        with pytest.raises(wasmprof.Trap):
            rec.depth(1_000_000)
        assert rec.ok() == 42
        assert rec.depth(1000) == 1000


def test_trap_identifies_recursing_function(rec, wat):
    binary = wat(RECURSION)
    with pytest.raises(wasmprof.Trap) as excinfo:
        rec.forever()
    # $forever is function 0; the frame that cannot grow the stack is at its
    # call instruction (0x10 0x00: call 0).
    assert excinfo.value.func_index == 0
    assert excinfo.value.offset == instr_offset(binary, 0, b"\x10\x00")


def test_recursion_through_host_function_does_not_crash():
    """guest -> Python host -> guest -> ... without bound.  Each round trip
    uses C stack in the extension and in CPython, so this must end in a
    Trap or a RecursionError, never in a crash.  Run in a child process so a
    crash is a test failure rather than the end of the test run."""
    script = textwrap.dedent(
        """
        import wasmprof, wasmtime
        binary = bytes(wasmtime.wat2wasm('''
          (module
            (import "env" "host" (func $host))
            (func (export "guest") (call $host)))'''))
        holder = {}
        def host():
            holder["inst"].exports.guest()
        inst = wasmprof.Instance(wasmprof.Module(binary), {"env": {"host": host}})
        holder["inst"] = inst
        try:
            inst.exports.guest()
        except wasmprof.Trap as e:
            print("trap", e.kind)
        except RecursionError:
            print("recursion error")
        else:
            print("returned")
        """
    )
    proc = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"child died with status {proc.returncode}:\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip() in ("trap stack_exhausted", "recursion error"), proc.stdout + proc.stderr
