"""wasmprof.Debugger on WAT kernels: steps, breakpoints of every kind,
watchpoints, writes, reverse execution, trace, and the cross-check that a
profile's total ticks equal what stepping counts instruction by instruction.

Oracles: wasmtime runs the same modules (results), the profiler counts the
same runs (ticks), and a forward run's recorded states (ticks, frames,
memory hash) are what going back must land on."""
from __future__ import annotations

import hashlib
from typing import Any, Tuple

import pytest
import wasmtime

import wasmprof
from helpers.paths import EXAMPLES
from helpers.wasm import instr_offset, wat2wasm

pytestmark = pytest.mark.timeout(120)

KERNEL = """
(module
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))
  (func $sq (param $x i32) (result i32) (i32.mul (local.get $x) (local.get $x)))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $sq (local.get $i))))
        (i32.store (i32.mul (local.get $i) (i32.const 4)) (local.get $acc))
        (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $acc))
  (func (export "sum_mem") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $s))
  (func (export "oob") (param $a i32) (result i32)
    (i32.add (i32.const 1) (i32.load (local.get $a)))))
"""


def kernel() -> Tuple[wasmprof.Module, bytes]:
    binary = wat2wasm(KERNEL)
    return wasmprof.Module(binary), binary


def wasmtime_call(binary: bytes, name: str, *args: Any) -> Any:
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, binary), [])
    return inst.exports(store)[name](store, *args)


def state(dbg: wasmprof.Debugger) -> Tuple[Any, ...]:
    """Everything a paused call's state is compared by."""
    frames = tuple((f.func_index, f.module_offset, tuple((l.type, l.value) for l in f.locals), tuple(f.operands))
                   for f in dbg.frames)
    mem = hashlib.sha256(dbg.memory[0:len(dbg.memory)]).hexdigest()
    return dbg.icount, dbg.ticks, frames, mem, tuple(v for _n, _t, v in dbg.globals.items())


def test_stepping_to_the_end_counts_the_profiles_ticks_and_wasmtimes_result() -> None:
    module, binary = kernel()
    dbg = wasmprof.Instance(module).debug()
    stop = dbg.call("run", 12)
    assert stop.reason == "entry" and dbg.icount == 0
    steps = 0
    while stop.reason != "returned":
        before = dbg.ticks
        stop = dbg.step()
        steps += 1
        assert dbg.ticks > before  # every instruction with code is at least one tick
        assert stop.reason in ("step", "returned")
    prof = wasmprof.profile(module, invoke="run", args=(12,))
    assert stop.ticks == prof.total_ticks
    assert stop.icount == steps
    assert stop.result == wasmtime_call(binary, "run", 12) == sum(i * i for i in range(12))


@pytest.mark.parametrize("path,name,args", [
    (EXAMPLES / "fib.wasm", "fib", (11,)),
    (EXAMPLES / "fib.wasm", "loop_sum", (60,)),
    (EXAMPLES / "kernel.wasm", "run", (40,)),
])
def test_cross_check_profile_ticks_equal_stepped_ticks(path: Any, name: str, args: Tuple[int, ...]) -> None:
    module = wasmprof.Module.from_file(str(path))
    prof = wasmprof.profile(module, invoke=name, args=args)
    dbg = wasmprof.Instance(module).debug()
    stop = dbg.call(name, *args)
    calls = 0
    while stop.reason == "step" or stop.reason == "entry":
        depth = len(dbg.frames)
        stop = dbg.step()
        calls += len(dbg.frames) > depth
    assert stop.reason == "returned"
    assert stop.ticks == prof.total_ticks
    assert stop.result == getattr(wasmprof.Instance(module).exports, name)(*args)
    # the per-function split agrees too: the calls the stepper saw are the profile's
    assert calls == sum(f.calls for f in prof.functions()) - 1 + (name == "run" and 0)


def test_function_breakpoint_stops_on_every_entry_with_its_argument() -> None:
    module, _ = kernel()
    dbg = wasmprof.Debugger(wasmprof.Instance(module))
    dbg.call("run", 6)
    bp = dbg.breakpoint("sq")
    seen = []
    stop = dbg.cont()
    while stop.reason == "breakpoint":
        assert stop.breakpoint is bp and stop.frame.name == "sq"
        seen.append(stop.frame["x"])
        assert [f.name for f in dbg.frames] == ["sq", "run"]
        stop = dbg.cont()
    assert seen == list(range(6)) and bp.hits == 6
    assert stop.reason == "returned" and stop.result == 55


def test_offset_and_function_relative_breakpoints() -> None:
    module, binary = kernel()
    run_index = 1
    off = instr_offset(binary, run_index, bytes([0x24, 0x00]))  # global.set $counter
    body = module.func_body_offset(run_index)
    for where in ({"offset": off}, {"function": "run", "offset": off - body}):
        dbg = wasmprof.Instance(module).debug()
        dbg.call("run", 3)
        bp = dbg.breakpoint(**where)
        assert bp.offset == off
        hits = []
        stop = dbg.cont()
        while stop.reason == "breakpoint":
            assert stop.frame.module_offset == off
            assert stop.frame.func_offset == off - body
            hits.append(dbg.globals["counter"])
            stop = dbg.cont()
        assert hits == [0, 1, 2]  # before the global.set runs


def test_conditional_ignore_enable_disable_delete() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 10)
    bp = dbg.breakpoint("sq", condition=lambda d: d.frame["x"] % 3 == 0)
    assert [dbg.cont().frame["x"] for _ in range(3)] == [0, 3, 6]
    dbg.disable(bp)
    other = dbg.breakpoint("sq", ignore=1)
    assert dbg.cont().frame["x"] == 8  # 7 is skipped by the ignore count
    dbg.delete(other)
    dbg.enable(bp)
    assert dbg.cont().frame["x"] == 9
    dbg.delete()
    assert dbg.breakpoints == [] and dbg.cont().reason == "returned"


def test_temporary_breakpoint_is_deleted_when_hit() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 4)
    bp = dbg.breakpoint("sq", temporary=True)
    assert dbg.cont().breakpoint is bp
    assert dbg.breakpoints == []
    assert dbg.cont().reason == "returned"


def test_memory_watchpoint_stops_after_the_write_with_old_and_new_values() -> None:
    module, binary = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 8)
    wp = dbg.watch(4 * 5, 4)
    stop = dbg.cont()
    assert stop.reason == "watchpoint" and stop.watchpoint is wp
    assert (stop.old, stop.new) == (0, sum(i * i for i in range(6)))
    assert dbg.memory[20:24] == stop.new.to_bytes(4, "little")
    store = instr_offset(binary, 1, bytes([0x36, 0x02, 0x00]))  # i32.store
    assert stop.frame.module_offset > store  # after the write, in the same function
    assert dbg.cont().reason == "returned" and wp.hits == 1


def test_global_watchpoint() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 3)
    dbg.watch_global("counter")
    values = []
    stop = dbg.cont()
    while stop.reason == "watchpoint":
        values.append((stop.old, stop.new))
        stop = dbg.cont()
    assert values == [(0, 1), (1, 2), (2, 3)]


def test_set_local_and_memory_change_the_result() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 5)
    dbg.breakpoint("sq")
    for _ in range(3):
        dbg.cont()
    dbg.set_local("x", 100)  # sq(2) becomes sq(100)
    assert dbg.frame["x"] == 100
    dbg.delete()
    assert dbg.cont().result == 0 + 1 + 10000 + 9 + 16

    inst = wasmprof.Instance(module)
    inst.exports.memory.write(0, b"".join(i.to_bytes(4, "little") for i in (1, 2, 3, 4)))
    dbg = inst.debug()
    dbg.call("sum_mem", 4)
    dbg.memory[8:12] = (1000).to_bytes(4, "little")
    dbg.globals["counter"] = 7
    assert dbg.cont().result == 1 + 2 + 1000 + 4
    assert inst.exports.memory.read(8, 4) == (1000).to_bytes(4, "little")


def test_reverse_step_lands_on_every_state_a_forward_run_reached() -> None:
    module, _ = kernel()
    dbg = wasmprof.Debugger(wasmprof.Instance(module), snapshot_every=16)  # many snapshots: replay between
    dbg.call("run", 9)
    forward = [state(dbg)]
    while dbg.step().reason == "step":
        forward.append(state(dbg))
    assert len(dbg._s.snapshots()) > 4
    for expected in reversed(forward):
        stop = dbg.reverse_step() if dbg.paused or dbg.icount > expected[0] else None
        if dbg.icount != expected[0]:
            stop = dbg.reverse_step()
        assert stop is not None and stop.reason in ("step", "start")
        assert state(dbg) == expected
    # and forward again from the start reaches the same end
    assert dbg.cont().result == sum(i * i for i in range(9))


def test_reverse_cont_returns_to_the_previous_hit() -> None:
    module, _ = kernel()
    dbg = wasmprof.Debugger(wasmprof.Instance(module), snapshot_every=32)
    dbg.call("run", 10)
    dbg.breakpoint("sq")
    hits = []
    for _ in range(6):
        assert dbg.cont().reason == "breakpoint"
        hits.append(state(dbg))
    for expected in reversed(hits[:-1]):
        stop = dbg.reverse_cont()
        assert stop.reason == "breakpoint" and stop.frame.name == "sq"
        assert state(dbg) == expected
    assert dbg.reverse_cont().reason == "start" and dbg.icount == 0
    # watchpoints too: back to the previous write, with its values
    dbg.delete()
    wp = dbg.watch_global("counter")
    for _ in range(4):
        dbg.cont()
    at4 = state(dbg)
    dbg.cont()
    stop = dbg.reverse_cont()
    assert stop.reason == "watchpoint" and stop.watchpoint is wp and (stop.old, stop.new) == (3, 4)
    assert state(dbg) == at4


def test_run_to_tick_forwards_and_backwards_and_after_the_end() -> None:
    module, _ = kernel()
    dbg = wasmprof.Debugger(wasmprof.Instance(module), snapshot_every=8)
    dbg.call("run", 7)
    by_tick = {}
    while True:
        by_tick.setdefault(dbg.ticks, state(dbg))
        if dbg.step().reason != "step":
            break
    end = dbg.ticks
    ticks = sorted(by_tick)
    for tick in (ticks[len(ticks) // 2], ticks[1], ticks[-2], ticks[-3], ticks[len(ticks) // 3], ticks[2]):
        stop = dbg.run_to(tick=tick)
        assert stop.reason == "tick" and stop.ticks == tick
        assert state(dbg) == by_tick[tick]
    # `block` and `loop` have no code: the first instruction is at tick 2, so
    # tick 1 lands there (the first instruction at or past it)
    assert ticks[0] == 2
    dbg.run_to(tick=1)
    assert state(dbg) == by_tick[2]
    assert dbg.run_to(tick=end + 10).reason == "returned"


def test_trap_stop_keeps_the_frames_and_the_ticks() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("oob", 70000)
    stop = dbg.cont()
    assert stop.reason == "trapped" and isinstance(stop.error, wasmprof.Trap)
    assert stop.error.kind == "memory_oob"
    assert stop.frame.name == "oob" and stop.frame.locals[0].value == 70000
    prof = wasmprof.profile(module, invoke="oob", args=(70000,))
    assert stop.ticks == prof.total_ticks
    # and back from a trap
    assert dbg.reverse_step().reason == "step" and dbg.paused


def test_trace_yields_each_instruction_and_writes_a_bounded_file(tmp_path: Any) -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 4)
    entries = list(dbg.trace())
    assert dbg.last_stop.reason == "returned"
    assert [e.icount for e in entries] == list(range(len(entries))) and len(entries) == dbg.last_stop.icount
    assert entries[0].opcode == "local.get" and entries[-1].opcode == "end"
    assert all(b.tick > a.tick for a, b in zip(entries, entries[1:]))
    assert {e.function for e in entries} == {"run", "sq"}
    dbg.call("run", 50)
    path = tmp_path / "trace.txt"
    limited = list(dbg.trace(max_instructions=100, path=str(path)))
    assert len(limited) == 100 and len(path.read_text().splitlines()) == 100
    assert dbg.paused and dbg.icount == 100


def test_disassembly_names_calls_locals_and_globals() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 2)
    text = [i.text for i in dbg.disassemble(function="run")]
    assert "call 0 <sq>" in text and "global.set 0 <counter>" in text and "local.get 2 <acc>" in text
    around = dbg.disassemble(n=5)
    assert len(around) == 5 and sum(i.current for i in around) == 1


def test_profile_from_here_to_the_end() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 10)
    dbg.breakpoint("sq")
    for _ in range(4):
        dbg.cont()
    here = dbg.ticks
    prof = dbg.profile()
    total = wasmprof.profile(module, invoke="run", args=(10,)).total_ticks
    assert prof.total_ticks == total - here
    assert {f.name: f.calls for f in prof.functions()}["sq"] == 6  # sq(4)..sq(9) from here
    assert prof.stop.reason == "returned"


def test_host_calls_are_replayed_not_repeated() -> None:
    text = """(module (import "env" "now" (func $now (result i32)))
      (global $g (mut i32) (i32.const 0))
      (func (export "go") (result i32) (local $a i32)
        (local.set $a (call $now)) (global.set $g (local.get $a))
        (i32.add (local.get $a) (call $now))))"""
    calls = []

    def now() -> int:
        calls.append(1)
        return 1000 * len(calls)

    module = wasmprof.Module(wat2wasm(text))
    inst = wasmprof.Instance(module, {"env": {"now": wasmprof.Func(now, [], ["i32"])}})
    dbg = inst.debug()
    dbg.call("go")
    assert dbg.cont().result == 3000 and len(calls) == 2
    assert dbg.reverse_step(3).reason == "step"
    assert dbg.cont().result == 3000 and len(calls) == 2  # the same answers, the host not called again
    dbg.run_to(tick=2)
    assert dbg.globals["g"] == 0
    dbg.step(3)
    assert dbg.globals["g"] == 1000 and len(calls) == 2


def test_errors_are_clear() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    with pytest.raises(RuntimeError, match="no call is paused"):
        dbg.step()
    with pytest.raises(KeyError, match="no function named"):
        dbg.breakpoint("nope")
    with pytest.raises(ValueError, match="no code at or after"):
        dbg.breakpoint("nofile.c:3")
    with pytest.raises(TypeError):
        wasmprof.Debugger(module)  # type: ignore[arg-type]
    dbg.call("run", 1)
    with pytest.raises(KeyError):
        dbg.set_local("nope", 1)
    with pytest.raises(IndexError):
        dbg.memory[70000:70004]


def forward_states(module: wasmprof.Module, name: str, *args: int) -> list:
    """The state after each instruction of a call stepped one by one, with its frame depth."""
    dbg = wasmprof.Instance(module).debug()
    dbg.call(name, *args)
    out = [(state(dbg), len(dbg.frames))]
    while dbg.step().reason == "step":
        out.append((state(dbg), len(dbg.frames)))
    return out


def test_step_over_and_step_out_land_where_single_steps_do() -> None:
    """step_over runs a call to its return and step_out runs to the caller:
    each lands on the state single steps reach (the first one back at the
    depth asked for), never elsewhere."""
    module, _ = kernel()
    forward = forward_states(module, "run", 4)
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 4)
    over = 0
    while dbg.paused:
        depth = len(dbg.frames)
        at = dbg.icount
        stop = dbg.step_over()
        if stop.reason != "step":
            break
        # the first state after `at` at this depth (or shallower: a return)
        expected = next(s for s, d in forward[at + 1:] if d <= depth)
        assert state(dbg) == expected
        over += dbg.icount > at + 1
    assert over == 4  # each of the four calls of sq ran to its return in one step_over
    assert dbg.last_stop.result == sum(i * i for i in range(4))

    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 4)
    dbg.breakpoint("sq")
    dbg.cont()
    dbg.cont()  # sq(1), at its first instruction
    at = dbg.icount
    stop = dbg.step_out()
    assert stop.reason == "step" and [f.name for f in dbg.frames] == ["run"]
    assert state(dbg) == next(s for s, d in forward[at + 1:] if d == 1)


def test_breakpoint_by_function_index_and_global_by_index() -> None:
    module, _ = kernel()
    dbg = wasmprof.Instance(module).debug()
    dbg.call("run", 3)
    bp = dbg.breakpoint(function=0)  # function 0 is $sq (a plain int would be a module offset)
    assert bp.kind == "function" and bp.func_index == 0
    stop = dbg.cont()
    assert stop.breakpoint is bp and stop.frame.name == "sq" and stop.frame.func_index == 0
    stop = dbg.cont()
    assert stop.frame["x"] == 1 and dbg.globals[0] == dbg.globals["counter"] == 1
    dbg.globals[0] = 41
    dbg.delete()
    assert dbg.cont().reason == "returned" and dbg.globals["counter"] == 43  # 41, then two more iterations


def test_exit_stops_with_the_status() -> None:
    """A WASI proc_exit ends the call with an "exited" stop and its status."""
    text = """(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 3))))"""
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(text)), wasi=wasmprof.Wasi())
    dbg = inst.debug()
    dbg.call("_start")
    stop = dbg.cont()
    assert stop.reason == "exited" and stop.exit_code == 3 and stop.ended
    assert "exited with status 3" in str(stop)
