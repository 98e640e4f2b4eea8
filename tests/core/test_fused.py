"""Superinstructions (csrc/exec/fused.h): the plain loop runs fused forms of the
commonest sequences.  Every form of every fused operator, with its result
left on the stack, stored into a local (local.set) or both (local.tee), must
compute what wasmtime computes for the unfused sequence; a fused load that
traps must report the load and leave the stack as the load saw it; and
nothing may fuse across a branch target."""

from __future__ import annotations

import struct

import pytest
import wasmtime

import wasmprof
import wasmprof.coredump as coredump
from helpers.wasm import instr_offset, wat2wasm

INT_OPS = ["add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u",
           "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
BINOPS = ([("i32", op) for op in INT_OPS] + [("i64", op) for op in INT_OPS]
          + [(t, op) for t in ("f32", "f64") for op in ("add", "sub", "mul", "div")])
CONST = {"i32": "-3", "i64": "-3", "f32": "2.5", "f64": "-0.75"}
# How each operand form gets a and b: from a call (the stack: no fusion of
# the operand), from a local, or b as a constant.
FORMS = {
    "s": "(call $id_a{t} (local.get $a)) (call $id_b{t} (local.get $b))",
    "ll": "(local.get $a) (local.get $b)",
    "lc": "(local.get $a) ({t}.const {k})",
    "sl": "(call $id_a{t} (local.get $a)) (local.get $b)",
    "sc": "(call $id_a{t} (local.get $a)) ({t}.const {k})",
}
LOADS = [("i32", "i32.load"), ("i64", "i64.load"), ("f32", "f32.load"), ("f64", "f64.load"),
         ("i32", "i32.load8_s"), ("i32", "i32.load8_u"), ("i32", "i32.load16_s"), ("i32", "i32.load16_u"),
         ("i64", "i64.load8_s"), ("i64", "i64.load8_u"), ("i64", "i64.load16_s"), ("i64", "i64.load16_u"),
         ("i64", "i64.load32_s"), ("i64", "i64.load32_u")]
DESTS = ["stack", "set", "tee"]
STORE_OF = {"i32": "i32.store", "i64": "i64.store", "f32": "f32.store", "f64": "f64.store"}


def result_type(t: str, op: str) -> str:
    return "i32" if op in INT_OPS[9:] else t


def finish(dest: str) -> str:
    """After the producer: leave its result, store it, or store and keep it."""
    return {"stack": "(local.get $d)",  # d is still 0: returns (result, 0)
            "set": "(local.set $d) (local.get $d) (local.get $d)",
            "tee": "(local.tee $d) (local.get $d)"}[dest]


def binop_func(t: str, op: str, form: str, dest: str) -> str:
    r = result_type(t, op)
    body = FORMS[form].format(t=t, k=CONST[t])
    return (f'(func (export "{t}.{op}/{form}/{dest}") (param $a {t}) (param $b {t}) (result {r} {r})'
            f" (local $d {r}) {body} ({t}.{op}) {finish(dest)})")


def binop_to_memory_func(t: str, op: str, form: str) -> str:
    """The result stored by the store of its type (the address pushed first)."""
    r = result_type(t, op)
    body = FORMS[form].format(t=t, k=CONST[t])
    return (f'(func (export "{t}.{op}/{form}/memory") (param $a {t}) (param $b {t}) (result i64 i64)'
            f" (memory.fill (i32.const 0) (i32.const 0) (i32.const 64))"
            f" (i32.const 8) {body} ({t}.{op}) ({STORE_OF[r]} offset=4)"
            f" (i64.load (i32.const 8)) (i64.load (i32.const 16)))")


def load_func(t: str, load: str, form: str, dest: str) -> str:
    addr = "(local.get $a)" if form == "l" else "(call $id_ai32 (local.get $a))"
    return (f'(func (export "{load}/{form}/{dest}") (param $a i32) (result {t} {t}) (local $d {t})'
            f" {addr} ({load} offset=3) {finish(dest)})")


# Accesses at a sum: how the i32.add gets its operands (fused.h's as/all/alc/asl/asc).
ADDR_FORMS = {
    "as": "(call $id_ai32 (local.get $a)) (call $id_bi32 (local.get $b))",
    "all": "(local.get $a) (local.get $b)",
    "alc": "(local.get $a) (i32.const 5)",
    "asl": "(call $id_ai32 (local.get $a)) (local.get $b)",
    "asc": "(call $id_ai32 (local.get $a)) (i32.const 5)",
}
STORES = [("i32", "i32.store"), ("i64", "i64.store"), ("f32", "f32.store"), ("f64", "f64.store"),
          ("i32", "i32.store8"), ("i32", "i32.store16"), ("i64", "i64.store8"), ("i64", "i64.store16"),
          ("i64", "i64.store32")]
STORE_VALUES = {"i32": "-1234567", "i64": "0x123456789abcdef0", "f32": "-1.75", "f64": "3.0e100"}
CMPS = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]


def addr_load_func(t: str, load: str, form: str, dest: str) -> str:
    return (f'(func (export "{load}@{form}/{dest}") (param $a i32) (param $b i32) (result {t} {t})'
            f" (local $d {t}) {ADDR_FORMS[form]} (i32.add) ({load} offset=3) {finish(dest)})")


def addr_store_func(t: str, store: str, form: str, value: str) -> str:
    v = "(local.get $v)" if value == "l" else f"({t}.const {STORE_VALUES[t]})"
    reads = " ".join(f"(i64.load (i32.const {8 * i}))" for i in range(6))
    return (f'(func (export "{store}@{form}/{value}") (param $a i32) (param $b i32) (param $v {t})'
            f" (result i64 i64 i64 i64 i64 i64) (memory.fill (i32.const 0) (i32.const 0) (i32.const 64))"
            f" {ADDR_FORMS[form]} (i32.add) {v} ({store} offset=2) {reads})")


def step_func(cmp: str, step: str, bound: str, edge: str) -> str:
    """A counted loop whose exit test is `i = i + STEP; i CMP BOUND` then br_if,
    to the loop header (back-edge) or out of the block (forward)."""
    add = "(local.get $step)" if step == "ll" else "(i32.const 3)"
    lim = "(local.get $n)" if bound == "sl" else "(i32.const 20)"
    test = f"(i32.{cmp} (local.tee $i (i32.add (local.get $i) {add})) {lim})"
    body = f"(br_if $l {test})" if edge == "back" else f"(br_if $exit {test}) (br $l)"
    return (f'(func (export "step/{cmp}/{step}/{bound}/{edge}") (param $i i32) (param $step i32) (param $n i32)'
            f" (result i32 i32) (local $count i32)"
            f" (block $exit (loop $l (br_if $exit (i32.ge_u (local.get $count) (i32.const 50)))"
            f" (local.set $count (i32.add (local.get $count) (i32.const 1))) {body}))"
            f" (local.get $i) (local.get $count))")


def module_text() -> str:
    ids = "".join(f"(func $id_a{t} (param {t}) (result {t}) (local.get 0))"
                  f"(func $id_b{t} (param {t}) (result {t}) (local.get 0))" for t in CONST)
    funcs = [binop_func(t, op, form, dest) for t, op in BINOPS for form in FORMS for dest in DESTS]
    funcs += [binop_to_memory_func(t, op, form) for t, op in BINOPS for form in FORMS]
    funcs += [load_func(t, load, form, dest) for t, load in LOADS for form in ("s", "l") for dest in DESTS]
    funcs += [addr_load_func(t, load, form, dest) for t, load in LOADS for form in ADDR_FORMS for dest in DESTS]
    funcs += [addr_store_func(t, store, form, value) for t, store in STORES for form in ("all", "alc")
              for value in "lc"]
    funcs += [step_func(cmp, step, bound, edge) for cmp in CMPS for step in ("ll", "lc") for bound in ("sl", "sc")
              for edge in ("back", "forward")]
    data = "".join("\\%02x" % ((i * 37 + 11) & 0xFF) for i in range(64))
    return f'(module (memory 1) (data (i32.const 0) "{data}")' + ids + "".join(funcs) + ")"


ARGS = {"i32": [(7, 3), (-1, 31), (0x7FFFFFFF, -2), (5, 5)],
        "i64": [(7, 3), (-1, 63), (2**62, -(2**40)), (5, 5)],
        "f32": [(1.5, 0.25), (-3.0, 7.0), (1e30, -1e-3)],
        "f64": [(1.5, 0.25), (-3.0, 7.0), (1e300, -1e-3)]}


def bits(t: str, v) -> int:
    if t == "f32":
        return struct.unpack("<I", struct.pack("<f", v))[0]
    if t == "f64":
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    return v & (0xFFFFFFFF if t == "i32" else 0xFFFFFFFFFFFFFFFF)


@pytest.fixture(scope="module")
def engines():
    binary = wat2wasm(module_text())
    ours = wasmprof.Instance(wasmprof.Module(binary))
    store = wasmtime.Store()
    theirs = wasmtime.Instance(store, wasmtime.Module(store.engine, binary), [])
    return ours, (store, theirs.exports(store))


def both(engines, name: str, args: tuple) -> tuple:
    """What each engine returns for name(*args); a trap gives ()."""
    ours, (store, theirs) = engines
    try:
        got = tuple(ours.exports[name](*args))
    except wasmprof.Trap as trap:
        assert trap.kind == "memory_oob", (name, args)
        got = ()
    try:
        want = tuple(theirs[name](store, *args))
    except wasmtime.Trap:
        want = ()
    return got, want


@pytest.mark.parametrize("t,op", BINOPS, ids=[f"{t}.{op}" for t, op in BINOPS])
def test_binary_operators_in_every_form_agree_with_wasmtime(engines, t, op):
    r = result_type(t, op)
    for form in FORMS:
        for dest in DESTS:
            name = f"{t}.{op}/{form}/{dest}"
            for args in ARGS[t]:
                got, want = both(engines, name, args)
                assert [bits(r, v) for v in got] == [bits(r, v) for v in want], (name, args)
        for args in ARGS[t]:
            got, want = both(engines, f"{t}.{op}/{form}/memory", args)
            assert [bits("i64", v) for v in got] == [bits("i64", v) for v in want], (form, args)


@pytest.mark.parametrize("t,load", LOADS, ids=[load for _, load in LOADS])
def test_loads_in_every_form_agree_with_wasmtime(engines, t, load):
    for form in ("s", "l"):
        for dest in DESTS:
            name = f"{load}/{form}/{dest}"
            for addr in (0, 5, 20, 40):
                got, want = both(engines, name, (addr,))
                assert [bits(t, v) for v in got] == [bits(t, v) for v in want], (name, addr)


@pytest.mark.parametrize("t,load", LOADS, ids=[load for _, load in LOADS])
def test_loads_at_a_sum_agree_with_wasmtime(engines, t, load):
    # (-8, 10): the sum wraps to 2 at 32 bits, as i32.add does, before the offset
    for form in ADDR_FORMS:
        for dest in DESTS:
            name = f"{load}@{form}/{dest}"
            for args in ((3, 4), (-8, 10), (20, 17), (-5, 0)):
                got, want = both(engines, name, args)
                assert [bits(t, v) for v in got] == [bits(t, v) for v in want], (name, args)


@pytest.mark.parametrize("t,store", STORES, ids=[store for _, store in STORES])
def test_stores_at_a_sum_agree_with_wasmtime(engines, t, store):
    value = {"i32": -99, "i64": -(2**50) + 7, "f32": 0.1, "f64": -2.5e-300}[t]
    for form in ("all", "alc"):
        for v in "lc":
            name = f"{store}@{form}/{v}"
            for a, b in ((3, 4), (-8, 10), (20, 13)):
                got, want = both(engines, name, (a, b, value))
                assert [bits("i64", x) for x in got] == [bits("i64", x) for x in want], (name, a, b)


@pytest.mark.parametrize("cmp", CMPS)
def test_loop_steps_agree_with_wasmtime(engines, cmp):
    for step in ("ll", "lc"):
        for bound in ("sl", "sc"):
            for edge in ("back", "forward"):
                name = f"step/{cmp}/{step}/{bound}/{edge}"
                for args in ((0, 1, 10), (-5, 2, 7), (0x7FFFFFF0, 8, -1), (10, -3, 0), (17, 3, 20)):
                    got, want = both(engines, name, args)
                    assert [bits("i32", x) for x in got] == [bits("i32", x) for x in want], (name, args)


TRAPPING = """
(module
  (memory 1)
  (func (export "into_local") (param $p i32) (result i32) (local $d i32)
    (i32.const 11)
    (local.set $d (i32.load16_u offset=7 (local.get $p)))
    (drop)
    (local.get $d))
  (func (export "into_tee") (param $p i32) (result i64) (local $d i64)
    (i32.const 12)
    (local.tee $d (i64.load offset=9 (i32.add (local.get $p) (i32.const 1))))
    (drop) (drop)
    (local.get $d))
  (func (export "at_sum") (param $p i32) (result i32)
    (i32.const 13)
    (i32.load16_s offset=6 (i32.add (local.get $p) (i32.const 2)))
    (i32.add))
  (func (export "store_at_sum") (param $p i32) (result i32) (local $q i32)
    (i32.const 14)
    (i64.store32 offset=5 (i32.add (local.get $p) (local.get $q)) (i64.const 77))
    (drop)
    (i32.const 0))
  (func (export "result_to_memory") (param $p i32) (result i32) (local $x f64)
    (i32.const 15)
    (local.set $x (f64.const 2))
    (f64.store offset=1 (local.get $p) (f64.add (local.get $x) (f64.const 0.5)))
    (drop)
    (i32.const 0)))
"""


@pytest.mark.parametrize("export,func,opcode,stack,in_range", [
    ("into_local", 0, b"\x2f\x01\x07", [11, 65530], 0),          # i32.load16_u: the address from a local
    ("into_tee", 1, b"\x29\x03\x09", [12, 65531], 0),            # i64.load: the address computed
    ("at_sum", 2, b"\x2e\x01\x06", [13, 65532], 13),             # i32.load16_s at local + constant
    ("store_at_sum", 3, b"\x3e\x02\x05", [14, 65530, 77], 0),    # i64.store32 of a constant at local + local
    ("result_to_memory", 4, b"\x39\x03\x01", [15, 65530, 0x4004000000000000], 0),  # f64.store of an f64.add
])
def test_a_trapping_fused_access_reports_the_access(tmp_path, export, func, opcode, stack, in_range):
    binary = wat2wasm(TRAPPING)
    path = tmp_path / "core.wasm"
    instance = wasmprof.Instance(wasmprof.Module(binary), coredump=str(path))
    with pytest.raises(wasmprof.Trap) as info:
        instance.exports[export](65530)
    assert info.value.kind == "memory_oob"
    assert info.value.offset == instr_offset(binary, func, opcode)
    [frame] = coredump.load(path).frames
    assert [v.bits for v in frame.stack] == stack
    assert instance.exports[export](16) == in_range  # memory is zero


def test_nothing_fuses_into_a_store_that_is_a_branch_target():
    # The local.set after the block is reached by the br_if too: the add at
    # the block's end must not absorb it, or the branch would skip the store.
    binary = wat2wasm("""
    (module (func (export "f") (param $a i32) (param $b i32) (result i32) (local $d i32)
      (block (result i32)
        (i32.const 100)
        (br_if 0 (local.get $b))
        (drop)
        (i32.add (local.get $a) (i32.const 1)))
      (local.set $d)
      (local.get $d)))""")
    f = wasmprof.Instance(wasmprof.Module(binary)).exports["f"]
    assert f(5, 0) == 6
    assert f(5, 1) == 100


def test_runs_of_local_gets():
    # Three or more local.gets in a row: the first two become one get2
    # instruction, whatever follows.
    binary = wat2wasm("""
    (module
      (func (export "three") (param $a i32) (param $b i32) (param $c i32) (result i32 i32 i32)
        (local.get $a) (local.get $b) (local.get $c))
      (func (export "select") (param $a i64) (param $b i64) (param $c i32) (result i64)
        (select (local.get $a) (local.get $b) (local.get $c)))
      (func (export "five") (param $a i32) (param $b i32) (result i32)
        (local.get $a) (local.get $b) (local.get $a) (local.get $b) (local.get $a)
        (i32.sub) (i32.add) (i32.mul) (i32.sub)))""")
    ours = wasmprof.Instance(wasmprof.Module(binary)).exports
    store = wasmtime.Store()
    theirs = wasmtime.Instance(store, wasmtime.Module(store.engine, binary), []).exports(store)
    for name, args in [("three", (1, -2, 3)), ("select", (2**40, -5, 0)), ("select", (2**40, -5, 1)),
                       ("five", (7, 100)), ("five", (-3, 2**31 - 1))]:
        got, want = ours[name](*args), theirs[name](store, *args)
        assert (tuple(got) if isinstance(got, (tuple, list)) else got) == \
            (tuple(want) if isinstance(want, (tuple, list)) else want), (name, args)
