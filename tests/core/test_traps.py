"""Every trap kind surfaces as wasmprof.Trap with kind, spec message, the
index of the function that trapped and the module offset of the trapping
instruction.  (Call stack exhaustion is in test_recursion.py.)"""

from __future__ import annotations

import pytest

import wasmprof
from helpers.wasm import instr_offset, wat2wasm

# Function indices are given in comments: one import comes first, so that a
# correct func_index must count imported functions too.
TRAPS = """
(module
  (type $v (func))
  (type $i (func (result i32)))
  (import "env" "dummy" (func $dummy))                                  ;; 0
  (memory 1)
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $seven)
  (func $seven (type $i) (i32.const 7))                                 ;; 1
  (func (export "unreachable") unreachable)                             ;; 2
  (func (export "load") (param i32) (result i32)                        ;; 3
    (i32.load (local.get 0)))
  (func (export "load_offset") (param i32) (result i32)                 ;; 4
    (i32.load offset=4 (local.get 0)))
  (func (export "table_get") (param i32) (result funcref)               ;; 5
    (table.get $t (local.get 0)))
  (func (export "div_s") (param i32 i32) (result i32)                   ;; 6
    (i32.div_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f32) (result i32)                       ;; 7
    (i32.trunc_f32_s (local.get 0)))
  (func (export "call_i") (param i32) (result i32)                      ;; 8
    (call_indirect $t (type $i) (local.get 0)))
  (func (export "call_v") (param i32)                                   ;; 9
    (call_indirect $t (type $v) (local.get 0)))
  (func $inner (param i64) (result i64)                                 ;; 10
    (i64.rem_u (i64.const 1) (local.get 0)))
  (func (export "nested") (param i64) (result i64)                      ;; 11
    (i64.add (i64.const 1) (call $inner (local.get 0))))
  (func (export "rem_s") (param i32 i32) (result i32)                   ;; 12
    (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "store8") (param i32)                                   ;; 13
    (i32.store8 (local.get 0) (i32.const 1)))
  (func (export "fill") (param i32 i32)                                 ;; 14
    (memory.fill (local.get 0) (i32.const 0xaa) (local.get 1)))
)
"""

MESSAGES = {
    "unreachable": "unreachable",
    "memory_oob": "out of bounds memory access",
    "table_oob": "out of bounds table access",
    "div_zero": "integer divide by zero",
    "int_overflow": "integer overflow",
    "invalid_conversion": "invalid conversion to integer",
    "undefined_element": "undefined element",
    "null_element": "uninitialized element",
    "signature_mismatch": "indirect call type mismatch",
}

I32_MIN = -(2**31)

# (export, args, kind, function index, opcode bytes of the trapping instruction)
CASES = [
    ("unreachable", (), "unreachable", 2, b"\x00"),
    ("load", (65536,), "memory_oob", 3, b"\x28"),
    ("load", (65533,), "memory_oob", 3, b"\x28"),
    ("load", (-1,), "memory_oob", 3, b"\x28"),
    ("load_offset", (0xFFFFFFFE,), "memory_oob", 4, b"\x28"),
    ("store8", (65536,), "memory_oob", 13, b"\x3a"),
    ("fill", (65000, 1000), "memory_oob", 14, b"\xfc\x0b"),
    ("table_get", (2,), "table_oob", 5, b"\x25"),
    ("div_s", (1, 0), "div_zero", 6, b"\x6d"),
    ("div_s", (I32_MIN, -1), "int_overflow", 6, b"\x6d"),
    ("trunc", (3e9,), "int_overflow", 7, b"\xa8"),
    ("trunc", (float("nan"),), "invalid_conversion", 7, b"\xa8"),
    ("call_i", (2,), "undefined_element", 8, b"\x11"),
    ("call_i", (1,), "null_element", 8, b"\x11"),
    ("call_v", (0,), "signature_mismatch", 9, b"\x11"),
    ("nested", (0,), "div_zero", 10, b"\x82"),
    ("rem_s", (1, 0), "div_zero", 12, b"\x6f"),
]


@pytest.fixture(scope="module")
def binary():
    return wat2wasm(TRAPS)


@pytest.fixture(scope="module")
def ex(binary):
    return wasmprof.Instance(wasmprof.Module(binary), {"env": {"dummy": lambda: None}}).exports


@pytest.mark.parametrize(
    "export,args,kind,func_index,opcode", CASES, ids=[f"{c[2]}-{c[0]}{c[1]}" for c in CASES]
)
def test_trap(binary, ex, export, args, kind, func_index, opcode):
    with pytest.raises(wasmprof.Trap) as excinfo:
        ex[export](*args)
    trap = excinfo.value
    assert isinstance(trap, wasmprof.Error)
    assert trap.kind == kind
    assert trap.message == MESSAGES[kind]
    assert trap.func_index == func_index
    assert trap.offset == instr_offset(binary, func_index, opcode)
    text = str(trap)
    assert MESSAGES[kind] in text
    assert str(func_index) in text


def test_every_trap_kind_covered():
    assert {c[2] for c in CASES} == set(MESSAGES)


def test_no_trap_on_edge_cases(ex):
    # i32.rem_s INT_MIN % -1 is 0, not a trap; the last byte of memory is readable.
    assert ex.rem_s(I32_MIN, -1) == 0
    assert ex.load(65532) == 0
    assert ex.call_i(0) == 7
    assert ex.table_get(1) is None
    ex.fill(65536, 0)


def test_out_of_bounds_fill_writes_nothing(binary):
    # Bulk memory: an out-of-bounds fill traps before writing anything.
    ex = wasmprof.Instance(wasmprof.Module(binary), {"env": {"dummy": lambda: None}}).exports
    with pytest.raises(wasmprof.Trap):
        ex.fill(65000, 1000)
    assert ex.load(65000) == 0
    assert ex.load(65532) == 0
    ex.fill(65532, 4)
    assert ex.load(65532) == -0x55555556  # 0xaaaaaaaa as a signed i32


def test_instance_usable_after_traps(ex):
    for export, args, kind, _func, _op in CASES:
        with pytest.raises(wasmprof.Trap):
            ex[export](*args)
        assert ex.call_i(0) == 7
