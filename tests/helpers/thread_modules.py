"""The modules the thread tests run (tests/core/test_threads.py from Python
threads, tests/c_hosts/test_threads_c.py from pthreads through
tests/c/threads_host.c, which reads their exports by these names)."""
from __future__ import annotations

CHAIN = 40  # functions in the call chain: each is translated on its first call

# fib; fill_sum(n, k): memory as scratch (stores k, then adds it up n times,
# reading it back each time: a call of another thread interleaved in between
# would store its own k and change the sum); bump: a global counter; spin: an
# endless loop; chain(x) = x + CHAIN through CHAIN functions.
THREADS_WAT = (
    """(module
  (memory (export "memory") 1)
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $fill_sum (export "fill_sum") (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $s i64)
    (i32.store (i32.const 16) (local.get $k))
    (block $done (loop $sum
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (i32.load (i32.const 16)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sum)))
    (local.get $s))
  (func $bump (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func $spin (export "spin") (loop $l (br $l)))
  (func $chain (export "chain") (param i32) (result i32) (call $c0 (local.get 0)))
"""
    + "".join(f"  (func $c{i} (param i32) (result i32) (call $c{i + 1} (i32.add (local.get 0) (i32.const 1))))\n"
              for i in range(CHAIN - 1))
    + f"  (func $c{CHAIN - 1} (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))\n"
)

# Imports THREADS_WAT's fib and puts it in its own table: each instance of
# it keeps the provider's instance alive (a reference taken and dropped).
LINKED_WAT = """(module
  (import "provider" "fib" (func $fib (param i32) (result i32)))
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $fib)
  (func (export "fib_via_table") (param i32) (result i32)
    (call_indirect (type $t) (local.get 0) (i32.const 0))))"""


def fill_sum(n: int, k: int) -> int:
    """What fill_sum(n, k) returns when no other call interleaves."""
    return n * k
