"""The stepping loop's superinstructions (csrc/exec/code.h: stepping code).

Its code holds a fused copy with the superinstructions of
WP_FUSED_XOPS_STEPPING, each checking that no stop falls inside it, and an
unfused copy it goes on in when one does.  Every form of them (the binary
operators with operands from the stack, locals and constants, their results
into locals, the compare-and-jumps, the loop steps: tests/core/test_fused.py's
module) must give the plain loop's results whether the debugger runs through
them (cont), steps through them one instruction at a time, or stops at a
breakpoint inside them; and every way of getting somewhere must agree on
where that is and how many ticks it took."""
from __future__ import annotations

from typing import Any, List, Tuple

import pytest

import wasmprof
from wasmprof import _core
from core.test_fused import ARGS, BINOPS, CMPS, DESTS, FORMS, module_text
from helpers.wasm import wat2wasm

pytestmark = pytest.mark.timeout(300)


def jump_func(cmp: str, form: str, kind: str) -> str:
    """An i32 compare in operand form `form` (test_fused's FORMS) deciding a
    br_if forward (j), a br_if back to a loop header (jb) or an if (ju)."""
    test = f"{FORMS[form].format(t='i32', k='5')} (i32.{cmp})"
    body = {"j": f"(block $out (br_if $out {test}) (local.set $r (i32.const 9)))",
            "jb": "(block $out (loop $l (br_if $out (i32.ge_u (local.get $r) (i32.const 3)))"
                  f" (local.set $r (i32.add (local.get $r) (i32.const 1))) (br_if $l {test})))",
            "ju": f"(if {test} (then (local.set $r (i32.const 7))))"}[kind]
    return (f'(func (export "cj/{cmp}/{form}/{kind}") (param $a i32) (param $b i32) (result i32) (local $r i32)'
            f" {body} (local.get $r))")


JUMPS = [f"cj/{cmp}/{form}/{kind}" for cmp in CMPS for form in FORMS for kind in ("j", "jb", "ju")]


@pytest.fixture(scope="module")
def module() -> wasmprof.Module:
    funcs = "".join(jump_func(cmp, form, kind) for cmp in CMPS for form in FORMS for kind in ("j", "jb", "ju"))
    text = module_text()
    return wasmprof.Module(wat2wasm(text[:-1] + funcs + ")"))


def calls() -> List[Tuple[str, Tuple[Any, ...]]]:
    """Every export of the stepping loop's forms, with the arguments test_fused uses."""
    out = []
    for t, op in BINOPS:
        for form in FORMS:
            for dest in DESTS:
                out += [(f"{t}.{op}/{form}/{dest}", args) for args in ARGS[t][:2]]
    out += [(name, args) for name in JUMPS for args in ((7, 3), (3, 7), (5, 5))]
    for cmp in CMPS:
        for step in ("ll", "lc"):
            for bound in ("sl", "sc"):
                for edge in ("back", "forward"):
                    out += [(f"step/{cmp}/{step}/{bound}/{edge}", args) for args in ((0, 1, 10), (17, 3, 20))]
    return out


def counted(inst: wasmprof.Instance, name: str, args: tuple) -> Tuple[tuple, int]:
    """The plain loop's results and the counted loop's ticks (as tests/profiles/test_profile_exact.py reads them)."""
    got = inst.exports[name](*args)
    before = _core._ticks()
    inst.exports[name].call(*args, max_ticks=1 << 40)
    return (tuple(got) if isinstance(got, (tuple, list)) else (got,)), _core._ticks() - before


def offsets_stepping(dbg: wasmprof.Debugger, name: str, args: tuple) -> Tuple[List[Tuple[int, int, int]], tuple]:
    """(icount, ticks, offset) before each instruction, stepping one at a time; the results."""
    stop = dbg.call(name, *args)
    seen = []
    while not stop.ended:
        seen.append((dbg.icount, dbg.ticks, dbg.frames[0].module_offset))
        stop = dbg.step()
    return seen, stop.results


def test_cont_and_step_agree_with_the_plain_loop_on_every_form(module):
    inst, dbg = wasmprof.Instance(module), wasmprof.Instance(module).debug()
    for name, args in calls():
        want, ticks = counted(inst, name, args)
        dbg.call(name, *args)
        stop = dbg.cont()
        assert stop.reason == "returned" and stop.results == want, (name, args, stop)
        assert stop.ticks == ticks, (name, args)
        run_icount = stop.icount
        seen, results = offsets_stepping(dbg, name, args)
        assert results == want, (name, args)
        assert len(seen) == run_icount, (name, args)  # one stop per instruction
        assert [s[0] for s in seen] == list(range(run_icount))
        assert all(b[1] > a[1] for a, b in zip(seen, seen[1:])), (name, args)  # a tick per instruction


def test_a_breakpoint_on_each_instruction_stops_where_stepping_does(module):
    """A breakpoint on every instruction: cont() visits them in the order step()
    does, with the same icount and ticks; superinstructions are entered in the
    middle (an XOP_unfuse patch) and left again at the next block."""
    for name, args in [("i32.add/ll/set", (7, 3)), ("i32.lt_s/lc/tee", (-1, 31)),
                       ("step/lt_u/ll/sl/back", (0, 1, 10)), ("step/ne/lc/sc/forward", (17, 3, 20)),
                       ("f64.mul/sl/tee", (1.5, 0.25))]:
        dbg = wasmprof.Instance(module).debug()
        seen, want = offsets_stepping(dbg, name, args)
        dbg.call(name, *args)
        for offset in sorted({s[2] for s in seen}):
            dbg.breakpoint(offset)
        hits = []
        stop = dbg.last_stop
        while True:
            hits.append((dbg.icount, dbg.ticks, dbg.frames[0].module_offset))
            stop = dbg.cont()
            if stop.ended:
                break
            assert stop.reason == "breakpoint", (name, stop)
        assert stop.results == want
        assert hits == seen, name


def test_deleting_a_breakpoint_inside_a_superinstruction_lets_it_run_whole(module):
    name, args = "step/lt_u/ll/sl/back", (0, 1, 10)
    want, ticks = counted(wasmprof.Instance(module), name, args)
    dbg = wasmprof.Instance(module).debug()
    seen, _ = offsets_stepping(dbg, name, args)
    dbg.call(name, *args)
    inner = seen[len(seen) // 2][2]
    bp = dbg.breakpoint(inner)
    stop = dbg.cont()
    assert stop.reason == "breakpoint" and dbg.frames[0].module_offset == inner
    at = (dbg.icount, dbg.ticks)
    assert at in {(s[0], s[1]) for s in seen if s[2] == inner}
    dbg.delete(bp)
    stop = dbg.cont()
    assert stop.reason == "returned" and stop.results == want and stop.ticks == ticks
    assert stop.icount == len(seen)


def test_run_to_every_tick_lands_where_stepping_does(module):
    name, args = "step/ge_s/lc/sl/back", (0, 1, 10)
    dbg = wasmprof.Instance(module).debug()
    seen, _ = offsets_stepping(dbg, name, args)
    dbg.call(name, *args)
    dbg.cont()  # to the end: run_to goes back through the snapshots and replay
    for icount, ticks, offset in seen[::-1]:
        dbg.run_to(tick=ticks)
        assert (dbg.icount, dbg.ticks, dbg.frames[0].module_offset) == (icount, ticks, offset)


def test_steps_of_n_instructions_land_where_single_steps_do(module):
    """step(n) for n > 1 runs superinstructions whole when the stop falls
    after them and through the unfused copy when it falls inside: each stop
    must be exactly n instructions on."""
    names = [(name, args) for name, args in calls() if name.startswith(("i32.", "cj/", "step/"))][::2]
    dbg = wasmprof.Instance(module).debug()
    for name, args in names:
        seen, want = offsets_stepping(dbg, name, args)
        for n in (2, 3, 4, 5, 7):
            stop = dbg.call(name, *args)
            while not stop.ended:
                assert (dbg.icount, dbg.ticks, dbg.frames[0].module_offset) == seen[dbg.icount], (name, args, n)
                before = dbg.icount
                stop = dbg.step(n)
                assert stop.ended or dbg.icount == before + n, (name, args, n)
            assert stop.results == want and stop.icount == len(seen), (name, args, n)
