"""Memories, globals and tables from Python: reading and writing guest state,
growing, host-created objects shared with the guest."""

from __future__ import annotations

import pytest

import wasmprof
from helpers.wasm import instantiate

PAGE = 65536

MEMORY = """
(module
  (memory (export "mem") 1 4)
  (data (i32.const 16) "hello")
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)
"""


@pytest.fixture
def mem_inst():
    return instantiate(MEMORY)


# ---- memory ------------------------------------------------------------------------


def test_memory_size_and_pages(mem_inst):
    mem = mem_inst.exports.mem
    assert mem.pages == 1
    assert mem.size == PAGE
    assert mem.type.min == 1 and mem.type.max == 4


def test_memory_data_view_reads_guest_writes(mem_inst):
    mem = mem_inst.exports.mem
    view = mem.data
    assert isinstance(view, memoryview)
    assert len(view) == PAGE
    assert bytes(view[16:21]) == b"hello"
    mem_inst.exports.store(100, 0x04030201)
    assert bytes(view[100:104]) == b"\x01\x02\x03\x04"


def test_memory_data_view_is_writable(mem_inst):
    mem = mem_inst.exports.mem
    view = mem.data
    assert not view.readonly
    view[200:204] = b"\x78\x56\x34\x12"
    assert mem_inst.exports.load(200) == 0x12345678


def test_memory_read_write_methods(mem_inst):
    mem = mem_inst.exports.mem
    assert mem.read(16, 5) == b"hello"
    assert isinstance(mem.read(16, 5), bytes)
    mem.write(300, b"\xff\xff\xff\x7f")
    assert mem_inst.exports.load(300) == 0x7FFFFFFF
    mem.write(PAGE - 2, b"ab")
    assert mem.read(PAGE - 2, 2) == b"ab"
    assert mem.read(PAGE, 0) == b""


# A negative address may also be refused by the integer conversion itself.
NEGATIVE_OK = (IndexError, OverflowError, ValueError)


@pytest.mark.parametrize("addr,n", [(PAGE - 1, 2), (PAGE, 1), (0, PAGE + 1), (2**40, 1), (2**32 - 1, 2)])
def test_memory_read_out_of_bounds(mem_inst, addr, n):
    with pytest.raises(IndexError):
        mem_inst.exports.mem.read(addr, n)


@pytest.mark.parametrize("addr", [PAGE - 1, PAGE, 2**40, 2**32 - 1])
def test_memory_write_out_of_bounds(mem_inst, addr):
    mem = mem_inst.exports.mem
    before = mem.read(PAGE - 4, 4)
    with pytest.raises(IndexError):
        mem.write(addr, b"xy")
    assert mem.read(PAGE - 4, 4) == before  # nothing partially written


def test_memory_negative_address(mem_inst):
    mem = mem_inst.exports.mem
    with pytest.raises(NEGATIVE_OK):
        mem.read(-1, 1)
    with pytest.raises(NEGATIVE_OK):
        mem.read(0, -1)
    before = mem.read(PAGE - 4, 4)
    with pytest.raises(NEGATIVE_OK):
        mem.write(-1, b"xy")
    assert mem.read(PAGE - 4, 4) == before  # nothing partially written


def test_memory_grow_from_python(mem_inst):
    mem = mem_inst.exports.mem
    assert mem.grow(2) == 1
    assert mem.pages == 3
    assert mem.size == 3 * PAGE
    assert mem_inst.exports.size() == 3
    assert len(mem.data) == 3 * PAGE  # a fresh view covers the new size
    mem.write(3 * PAGE - 4, b"\x01\0\0\0")
    assert mem_inst.exports.load(3 * PAGE - 4) == 1
    assert mem.grow(0) == 3


def test_memory_grow_past_max_is_limit_error(mem_inst):
    mem = mem_inst.exports.mem
    with pytest.raises(wasmprof.LimitError):
        mem.grow(4)
    assert mem.pages == 1


def test_memory_grow_from_guest_seen_by_python(mem_inst):
    mem = mem_inst.exports.mem
    assert mem_inst.exports.grow(1) == 1
    assert mem.pages == 2
    assert mem_inst.exports.grow(10) == -1
    assert mem.pages == 2
    assert mem.read(2 * PAGE - 1, 1) == b"\0"


def test_host_memory_shared_with_guest():
    mem = wasmprof.Memory(1, 2)
    assert mem.pages == 1 and mem.type.max == 2
    inst = instantiate(
        """(module (import "env" "mem" (memory 1 2))
             (data (i32.const 0) "wasm")
             (func (export "grow") (result i32) (memory.grow (i32.const 1))))""",
        {"env": {"mem": mem}},
    )
    assert mem.read(0, 4) == b"wasm"
    assert inst.exports.grow() == 1
    assert mem.pages == 2
    assert inst.exports.grow() == -1


def test_host_memory_without_max():
    mem = wasmprof.Memory(0)
    assert mem.size == 0 and mem.type.max is None
    assert mem.grow(1) == 0
    assert mem.size == PAGE


# ---- globals ----------------------------------------------------------------------

GLOBALS = """
(module
  (global (export "const") i32 (i32.const -7))
  (global $var (export "var") (mut i64) (i64.const 1))
  (global (export "f") (mut f64) (f64.const 0.25))
  (func (export "get_var") (result i64) (global.get $var))
  (func (export "set_var") (param i64) (global.set $var (local.get 0)))
)
"""


def test_global_get(instance):
    ex = instance(GLOBALS).exports
    assert ex.const.value == -7
    assert ex.var.value == 1
    assert ex.f.value == 0.25
    assert (ex.const.type.content, ex.const.type.mutable) == ("i32", False)
    assert (ex.var.type.content, ex.var.type.mutable) == ("i64", True)


def test_global_set_seen_by_guest_and_back(instance):
    ex = instance(GLOBALS).exports
    ex.var.value = -(2**63)
    assert ex.get_var() == -(2**63)
    ex.set_var(123)
    assert ex.var.value == 123
    ex.f.value = 2
    assert ex.f.value == 2.0


def test_global_immutable_set_raises(instance):
    ex = instance(GLOBALS).exports
    with pytest.raises(wasmprof.Error):
        ex.const.value = 1
    assert ex.const.value == -7


def test_global_set_wrong_type(instance):
    ex = instance(GLOBALS).exports
    with pytest.raises(TypeError):
        ex.var.value = "x"
    with pytest.raises((OverflowError, TypeError)):
        ex.var.value = 2**64


def test_host_global_imported():
    g = wasmprof.Global("i32", 10, mutable=True)
    assert g.value == 10 and g.type.mutable
    inst = instantiate(
        """(module (import "env" "g" (global $g (mut i32)))
             (func (export "inc") (global.set $g (i32.add (global.get $g) (i32.const 1)))))""",
        {"env": {"g": g}},
    )
    inst.exports.inc()
    assert g.value == 11
    g.value = 100
    inst.exports.inc()
    assert g.value == 101


def test_host_global_immutable():
    g = wasmprof.Global("f32", 1.5)
    assert g.value == 1.5
    assert g.type.mutable is False
    with pytest.raises(wasmprof.Error):
        g.value = 2.0


# ---- tables --------------------------------------------------------------------------

TABLES = """
(module
  (type $ret (func (result i32)))
  (table $t (export "tab") 3 8 funcref)
  (table $e (export "ext") 2 externref)
  (func $one (export "one") (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (elem (table $t) (i32.const 0) func $one $two)
  (func (export "call") (param i32) (result i32) (call_indirect $t (type $ret) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "get_ext") (param i32) (result externref) (table.get $e (local.get 0)))
)
"""


def test_table_get(instance):
    ex = instance(TABLES).exports
    tab = ex.tab
    assert len(tab) == 3
    assert (tab.type.element, tab.type.min, tab.type.max) == ("funcref", 3, 8)
    assert tab[0]() == 1
    assert tab[1]() == 2
    assert tab[2] is None
    with pytest.raises(IndexError):
        tab[3]


def test_table_set(instance):
    ex = instance(TABLES).exports
    ex.tab[2] = ex.one
    assert ex.call(2) == 1
    ex.tab[0] = wasmprof.Func(lambda: 40, params=[], results=["i32"])
    assert ex.call(0) == 40
    ex.tab[1] = None
    with pytest.raises(wasmprof.Trap) as excinfo:
        ex.call(1)
    assert excinfo.value.kind == "null_element"
    with pytest.raises(IndexError):
        ex.tab[3] = None
    with pytest.raises(TypeError):
        ex.tab[0] = 5


def test_table_grow(instance):
    ex = instance(TABLES).exports
    assert ex.tab.grow(2) == 3
    assert len(ex.tab) == 5
    assert ex.size() == 5
    assert ex.tab[4] is None
    assert ex.tab.grow(1, ex.one) == 5
    assert ex.call(5) == 1
    with pytest.raises(wasmprof.LimitError):
        ex.tab.grow(10)
    assert len(ex.tab) == 6


def test_externref_table(instance):
    ex = instance(TABLES).exports
    token = object()
    assert ex.ext[0] is None
    ex.ext[1] = token
    assert ex.ext[1] is token
    assert ex.get_ext(1) is token
    assert ex.ext.type.element == "externref"


def test_host_table_imported():
    tab = wasmprof.Table("funcref", min=2)
    assert len(tab) == 2 and tab.type.max is None
    tab[1] = wasmprof.Func(lambda: 9, params=[], results=["i32"])
    inst = instantiate(
        """(module (type $r (func (result i32)))
             (import "env" "t" (table 2 funcref))
             (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))""",
        {"env": {"t": tab}},
    )
    assert inst.exports.call(1) == 9
    with pytest.raises(wasmprof.Trap):
        inst.exports.call(0)
