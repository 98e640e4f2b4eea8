"""Material for the profile_many tests: the inputs, the one-by-one oracle, and host functions that
kill the worker running them (module-level, so that worker processes can unpickle them)."""
from __future__ import annotations

import os
import signal
from functools import reduce
from typing import Any, Dict, Iterable, Tuple

import wasmprof
from helpers.paths import EXAMPLES
from helpers.wasm import wat2wasm

KERNEL = str(EXAMPLES / "kernel.wasm")
KERNEL_INPUTS = list(range(1, 201))  # run(n): quicksort of n values, a call tree that differs with n
TRAPPING = 100_000  # more values than kernel.wasm's memory holds: a trap in fill

# run(n): some work, then env.hook(n); the hook kills its process for two inputs.
HOOK_WAT = """
(module (import "env" "hook" (func $hook (param i32) (result i32)))
  (func $work (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (local.get $s))
  (func (export "run") (param $n i32) (result i32)
    (drop (call $work (i32.mul (local.get $n) (i32.const 100))))
    (call $hook (local.get $n))))
"""
EXITS = 13      # hook(13) calls os._exit(3)
KILLED = 17     # hook(17) sends SIGKILL to its own process
HOOK_INPUTS = list(range(40))


def hook(n: int) -> int:
    if n == EXITS:
        os._exit(3)
    if n == KILLED:
        os.kill(os.getpid(), signal.SIGKILL)
    return n * 2


def hook_imports() -> Dict[str, Dict[str, Any]]:
    return {"env": {"hook": hook}}


def harmless_hook(n: int) -> int:
    return n * 2


def hook_module() -> bytes:
    return wat2wasm(HOOK_WAT)


def one_by_one(module: Any, inputs: Iterable[Any], **kwargs: Any) -> wasmprof.Profile:
    """The oracle: each run profiled in this process by wasmprof.profile, summed by Profile.merge."""
    return reduce(wasmprof.Profile.merge, [wasmprof.profile(module, args=(n,), **kwargs) for n in inputs])


def path_counters(profile: wasmprof.Profile) -> Dict[Tuple[str, ...], Tuple[int, int, int]]:
    """{call path as names: (calls, self ticks, total ticks)}, computed without wasmprof's merge code."""
    out: Dict[Tuple[str, ...], Tuple[int, int, int]] = {}
    for path, node in profile.stacks():
        key = tuple(n.name for n in path)
        assert key not in out, f"two nodes for the call path {key}"
        out[key] = (node.calls, node.self_ticks, node.total_ticks)
    root = profile.root
    out[()] = (root.calls, root.self_ticks, root.total_ticks)
    return out
