"""Child process for tests/core/test_interrupt.py: runs endless guests and stops
them with SIGINT from a threading.Timer, or with wasmprof.interrupt() from a
thread, printing one JSON line per case: whether the call was interrupted,
the exception type, where it says the guest stopped (function index and
module offset), the latency in seconds, and whether the instance worked
afterwards.  A child process, so that a stray KeyboardInterrupt or a hang
cannot take the test run down with it."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import wasmtime

import wasmprof

WAT = """
(module
  (import "env" "py" (func $py (param i32) (result i32)))
  ;; loop br 0 end
  (func (export "spin") (loop $l (br $l)))
  ;; an endless loop with work and a conditional back-edge
  (func (export "spin_if") (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.const 1))))
  ;; endless loop reached through br_table
  (func (export "spin_table") (loop $l (br_table $l $l (i32.const 1))))
  ;; recursion where every frame loops a while: deep, but the depth is the
  ;; limit only after a very long time
  (func $rec (export "rec") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))
    (call $rec (i32.add (local.get $n) (i32.const 1))))
  ;; endless loop calling a Python host function
  (func (export "spin_host") (local $i i32)
    (loop $l
      (local.set $i (call $py (local.get $i)))
      (br $l)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
)
"""


def main() -> None:
    module = wasmprof.Module(bytes(wasmtime.wat2wasm(WAT)))
    inst = wasmprof.Instance(module, {"env": {"py": lambda i: i + 1}})
    ex = inst.exports
    cases = [
        ("spin", "sigint", ()),
        ("spin_if", "sigint", ()),
        ("spin_table", "sigint", ()),
        ("rec", "sigint", (0,)),
        ("spin_host", "sigint", ()),
        ("spin", "thread", ()),
        ("rec", "thread", (0,)),
    ]
    # an endless start function: instantiation itself is interrupted
    start_module = wasmprof.Module(bytes(wasmtime.wat2wasm("(module (func $s (loop $l (br $l))) (start $s))")))
    cases.append(("start", "sigint", ()))
    for name, how, args in cases:
        sent = [0.0]
        if how == "sigint":
            def fire() -> None:
                sent[0] = time.perf_counter()
                os.kill(os.getpid(), signal.SIGINT)
        else:
            def fire() -> None:
                sent[0] = time.perf_counter()
                wasmprof.interrupt()
        timer = threading.Timer(0.2, fire)
        start = time.perf_counter()
        timer.start()
        outcome = "returned"
        detail = ""
        where = None
        try:
            if name == "start":
                wasmprof.Instance(start_module)
            else:
                getattr(ex, name)(*args)
        except KeyboardInterrupt as e:
            outcome = "KeyboardInterrupt"
            detail = str(e)
            where = [getattr(e, "func_index", None), getattr(e, "offset", None)]
        except BaseException as e:  # reported, not hidden
            outcome = type(e).__name__
            detail = str(e)
        end = time.perf_counter()
        timer.join()
        print(
            json.dumps(
                {
                    "case": f"{name}/{how}",
                    "outcome": outcome,
                    "detail": detail,
                    "where": where,
                    "latency": end - sent[0] if sent[0] else None,
                    "elapsed": end - start,
                    "works_after": ex.add(2, 3) == 5,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
    sys.exit(0)
