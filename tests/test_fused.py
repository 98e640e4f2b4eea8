"""Superinstructions (csrc/fused.h): the plain loop runs fused forms of the
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
from conftest import instr_offset, wat2wasm

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


def load_func(t: str, load: str, form: str, dest: str) -> str:
    addr = "(local.get $a)" if form == "l" else "(call $id_ai32 (local.get $a))"
    return (f'(func (export "{load}/{form}/{dest}") (param $a i32) (result {t} {t}) (local $d {t})'
            f" {addr} ({load} offset=3) {finish(dest)})")


def module_text() -> str:
    ids = "".join(f"(func $id_a{t} (param {t}) (result {t}) (local.get 0))"
                  f"(func $id_b{t} (param {t}) (result {t}) (local.get 0))" for t in CONST)
    funcs = [binop_func(t, op, form, dest) for t, op in BINOPS for form in FORMS for dest in DESTS]
    funcs += [load_func(t, load, form, dest) for t, load in LOADS for form in ("s", "l") for dest in DESTS]
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
    ours, (store, theirs) = engines
    return tuple(ours.exports[name](*args)), tuple(theirs[name](store, *args))


@pytest.mark.parametrize("t,op", BINOPS, ids=[f"{t}.{op}" for t, op in BINOPS])
def test_binary_operators_in_every_form_agree_with_wasmtime(engines, t, op):
    r = result_type(t, op)
    for form in FORMS:
        for dest in DESTS:
            name = f"{t}.{op}/{form}/{dest}"
            for args in ARGS[t]:
                got, want = both(engines, name, args)
                assert [bits(r, v) for v in got] == [bits(r, v) for v in want], (name, args)


@pytest.mark.parametrize("t,load", LOADS, ids=[load for _, load in LOADS])
def test_loads_in_every_form_agree_with_wasmtime(engines, t, load):
    for form in ("s", "l"):
        for dest in DESTS:
            name = f"{load}/{form}/{dest}"
            for addr in (0, 5, 20, 40):
                got, want = both(engines, name, (addr,))
                assert [bits(t, v) for v in got] == [bits(t, v) for v in want], (name, addr)


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
    (local.get $d)))
"""


@pytest.mark.parametrize("export,func,opcode,stack", [
    ("into_local", 0, b"\x2f\x01\x07", [11, 65530]),      # i32.load16_u: the address from a local
    ("into_tee", 1, b"\x29\x03\x09", [12, 65531]),        # i64.load: the address computed
])
def test_a_trapping_load_into_a_local_reports_the_load(tmp_path, export, func, opcode, stack):
    binary = wat2wasm(TRAPPING)
    path = tmp_path / "core.wasm"
    instance = wasmprof.Instance(wasmprof.Module(binary), coredump=str(path))
    with pytest.raises(wasmprof.Trap) as info:
        instance.exports[export](65530)
    assert info.value.kind == "memory_oob"
    assert info.value.offset == instr_offset(binary, func, opcode)
    [frame] = coredump.load(path).frames
    assert [v.bits for v in frame.stack] == stack
    assert instance.exports[export](16) == 0  # in range: memory is zero


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
