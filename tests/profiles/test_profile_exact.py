"""Exactness of the profiler: call trees, call counts and ticks against an
independent reference interpreter (tests/helpers/reference.py) and against
what the guest counts itself."""
from __future__ import annotations

import shutil

import pytest

import wasmprof
from helpers.paths import EXAMPLES
from helpers.profile_checks import check_invariants, tree_of, write_wasm
from wasmprof.profiles.profiler import profile

pytestmark = pytest.mark.skipif(shutil.which("wasm-objdump") is None, reason="wabt's wasm-objdump is needed")

from helpers.reference import RefTrap, Reference  # noqa: E402


@pytest.mark.parametrize("export,arg", [("fib", 0), ("fib", 1), ("fib", 12), ("fib_iter", 30), ("loop_sum", 200)])
def test_fib_examples_match_reference(export, arg):
    ref = Reference(str(EXAMPLES / "fib.wasm"))
    expected = ref.call(export, [arg])
    prof = profile(EXAMPLES / "fib.wasm", invoke=export, args=(arg,))
    assert prof.trap is None
    assert prof.result & 0xFFFFFFFFFFFFFFFF == expected[0]
    assert prof.total_ticks == ref.ticks
    assert tree_of(prof) == ref.tree
    check_invariants(prof)


@pytest.mark.parametrize("n", [1, 2, 50, 200])
def test_kernel_call_tree_matches_reference(n):
    ref = Reference(str(EXAMPLES / "kernel.wasm"))
    ref.call("run", [n])
    prof = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(n,))
    assert prof.total_ticks == ref.ticks
    assert tree_of(prof) == ref.tree
    check_invariants(prof)


OOB_LOOP = """
(module
  (memory 1)
  (func $put (param $i i32)
    (i32.store (i32.add (i32.const 65000) (i32.shl (local.get $i) (i32.const 2))) (local.get $i)))
  (func (export "fill") (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $put (local.get $i))
        (i32.store (i32.add (i32.const 64000) (local.get $i)) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"""


@pytest.mark.parametrize("n", [10, 1000])
def test_trap_keeps_totals_exact(tmp_path, n):
    """fill(1000) stores past the memory's end inside $put, in the middle of
    its straight-line body, after 134 good iterations."""
    path = write_wasm(tmp_path, OOB_LOOP)
    ref = Reference(str(path))
    try:
        ref.call("fill", [n])
        trapped = False
    except RefTrap:
        trapped = True
    prof = profile(path, invoke="fill", args=(n,))
    assert trapped == (n == 1000)
    assert (prof.trap is not None) == trapped
    if trapped:
        assert isinstance(prof.trap, wasmprof.Trap) and prof.trap.kind == "memory_oob"
    assert prof.total_ticks == ref.ticks
    assert tree_of(prof) == ref.tree
    check_invariants(prof)


TRAP_AT = """
(module
  (func $f (param $k i32) (result i32)
    {before}
    (drop (i32.div_s (i32.const 7) (local.get $k)))
    {after}
    (i32.const 1))
  (func (export "run") (param $k i32) (result i32)
    (call $f (local.get $k))))
"""


@pytest.mark.parametrize("before,after", [
    ("", ""),
    ("(nop)", "(nop) (nop)"),
    ("(drop (i32.const 1)) (nop)", "(drop (i32.add (i32.const 1) (i32.const 2))) (block (nop))"),
])
@pytest.mark.parametrize("k", [0, 1])
def test_trap_position_inside_a_block(tmp_path, before, after, k):
    path = write_wasm(tmp_path, TRAP_AT.format(before=before, after=after))
    ref = Reference(str(path))
    try:
        ref.call("run", [k])
    except RefTrap:
        pass
    prof = profile(path, invoke="run", args=(k,))
    assert (prof.trap is not None) == (k == 0)
    assert prof.total_ticks == ref.ticks
    assert tree_of(prof) == ref.tree


COUNTER = """
(module
  (global $n (mut i32) (i32.const 0))
  (func $count (global.set $n (i32.add (global.get $n) (i32.const 1))))
  (func $a (param $i i32)
    (call $count)
    (if (i32.and (local.get $i) (i32.const 1)) (then (call $count) (call $b (local.get $i)))))
  (func $b (param $i i32)
    (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 3))) (then (call $count))))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $a (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (global.get $n)))
"""


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_call_counts_equal_the_guests_own_count(tmp_path, n):
    prof = profile(write_wasm(tmp_path, COUNTER), invoke="run", args=(n,))
    count_calls = sum(node.calls for node in prof.nodes if node.func == 0)
    assert count_calls == prof.result
    assert sum(node.calls for node in prof.nodes if node.func == 1) == n
    check_invariants(prof)


def test_same_run_gives_identical_profiles():
    a = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(200,), flamechart=True)
    b = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(200,), flamechart=True)
    assert a.to_json() == b.to_json()
    assert a.to_json().encode() == b.to_json().encode()


def test_counted_variant_counts_like_the_profiler():
    """A tick limit runs the counted loop (no call tree): same ticks."""
    from wasmprof import _core

    inst = wasmprof.Instance(wasmprof.Module.from_file(str(EXAMPLES / "kernel.wasm")))
    before = _core._ticks()
    inst.exports.run.call(300, max_ticks=10**12)
    counted = _core._ticks() - before
    assert counted == profile(EXAMPLES / "kernel.wasm", invoke="run", args=(300,)).total_ticks


def test_counted_and_profiled_runs_keep_their_own_code():
    """The ticked loop runs counted code (ticks only) without a profile and code that also counts
    blocks under one (code.h: XOP_tick_blocks), translated separately: on one instance, a profile
    after counted runs still has every instruction's count, and counted runs after it the same
    ticks as before."""
    from wasmprof import _core

    def counted(inst: wasmprof.Instance) -> int:
        before = _core._ticks()
        inst.exports.run.call(300, max_ticks=10**12)
        return _core._ticks() - before

    inst = wasmprof.Instance(wasmprof.Module.from_file(str(EXAMPLES / "kernel.wasm")))
    first = counted(inst)
    with wasmprof.profiling() as session:
        inst.exports.run(300)
    fresh = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(300,))
    rows = [(o.func, o.offset, o.ticks, o.count) for o in session.profile.offsets()]
    assert rows and rows == [(o.func, o.offset, o.ticks, o.count) for o in fresh.offsets()]
    assert counted(inst) == first == session.profile.total_ticks


def test_start_function_is_profiled(tmp_path):
    path = write_wasm(tmp_path, """
      (module (global $g (mut i32) (i32.const 0))
        (func $init (global.set $g (i32.const 5)))
        (start $init))""")
    prof = profile(path)
    assert [n.func for n in prof.nodes[1:]] == [0]
    assert prof.nodes[1].calls == 1
    assert prof.total_ticks == 3  # i32.const, global.set, end


# Superinstructions run in profiled code too (csrc/exec/fused.h): a trap at a
# fused access charges the sequence up to the access and refunds what
# follows it in the block (a local.set fused after a load included).
FUSED_TRAP = """
(module
  (memory 1)
  (func $f (param $p i32) (result i32) (local $d i32) (local $x i64)
    (local.set $x (i64.const 2))
    (drop (select (local.get $p) (local.get $d) (local.get $p)))
    {access}
    (drop (i32.add (local.get $d) (i32.const 2)))
    (local.set $d (i32.mul (local.get $d) (local.get $d)))
    (local.get $d))
  (func (export "run") (param $p i32) (result i32)
    (call $f (local.get $p))))
"""


@pytest.mark.parametrize("access", [
    "(local.set $d (i32.load8_u offset=7 (local.get $p)))",                             # l_ load into a local
    "(local.set $d (i32.load offset=9 (i32.add (local.get $p) (i32.const 1))))",        # load at a sum, into a local
    "(i32.store offset=5 (i32.add (local.get $p) (local.get $d)) (i32.const 77))",      # store at a sum
    "(i32.store offset=3 (local.get $p) (i32.add (local.get $d) (i32.const 5)))",       # result to memory
])
@pytest.mark.parametrize("p", [16, 65530])
def test_trap_in_a_fused_access_keeps_totals_exact(tmp_path, access, p):
    path = write_wasm(tmp_path, FUSED_TRAP.format(access=access))
    ref = Reference(str(path))
    try:
        ref.call("run", [p])
    except RefTrap:
        pass
    prof = profile(path, invoke="run", args=(p,))
    assert (prof.trap is not None) == (p == 65530)
    assert prof.total_ticks == ref.ticks
    assert tree_of(prof) == ref.tree


# A host function the guest calls, which reads the tick count and on odd
# arguments calls back into the guest (a nested entry into the loop).
HOST_CALLS = """
(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (func (export "leaf") (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 1)))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $host (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $s)))
"""


def test_hosts_see_the_same_ticks_counted_and_profiled(tmp_path):
    """The ticked loop keeps its count in locals (csrc/exec/loop_ticked.c) and writes it back
    before a host runs: a host reads the same count, and a nested entry adds its ticks the same
    way, with a tick limit as under a profile (which moves the count itself at calls)."""
    from wasmprof import _core

    seen: list[int] = []
    start = [0]

    def host(x: int) -> int:
        seen.append(_core._ticks() - start[0])
        return inst.exports.leaf(x) if x % 2 else x

    inst = wasmprof.Instance(wasmprof.Module(write_wasm(tmp_path, HOST_CALLS).read_bytes()),
                             {"env": {"host": host}})

    def counted() -> tuple[int, list[int]]:
        seen.clear()
        start[0] = _core._ticks()
        assert inst.exports.run.call(20, max_ticks=10**12) == sum(x + x % 2 for x in range(20))
        return _core._ticks() - start[0], list(seen)

    total, at_hosts = counted()
    seen.clear()
    with wasmprof.profiling() as session:
        start[0] = _core._ticks()
        inst.exports.run(20)
    assert len(at_hosts) == 20 and at_hosts == sorted(at_hosts) and at_hosts[0] > 0
    assert (total, at_hosts) == (session.profile.total_ticks, seen)
    assert counted() == (total, at_hosts)
