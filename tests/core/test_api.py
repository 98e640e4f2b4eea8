"""The Python API (its reference: docs/api/, from the docstrings): modules, their imports and
exports, instances and their exports, and decode/validation errors.

Values, host imports, memory/globals/tables and traps have their own files
(test_values.py, test_imports.py, test_memory.py, test_traps.py)."""

from __future__ import annotations

import pathlib

import pytest

import wasmprof
from helpers.paths import EXAMPLES
from helpers.wasm import leb_u

HEADER = b"\0asm\x01\0\0\0"

KITCHEN_SINK = """
(module
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "tab" (table 3 10 funcref))
  (import "env" "mem" (memory 1))
  (import "env" "g" (global (mut f64)))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (result i64 f64) (i64.const 1) (f64.const 2))
  (table (export "t") 2 funcref)
  (global (export "answer") i32 (i32.const 42))
  (global (export "counter") (mut i64) (i64.const 0))
  (export "m" (memory 0))
)
"""


def custom_section(name: bytes, data: bytes) -> bytes:
    payload = leb_u(len(name)) + name + data
    return b"\x00" + leb_u(len(payload)) + payload


# ---- Module ------------------------------------------------------------------


def test_module_from_bytes_like(wat):
    binary = wat("(module (func (export \"f\")))")
    for data in (binary, bytearray(binary), memoryview(binary)):
        module = wasmprof.Module(data)
        assert [e.name for e in module.exports] == ["f"]


def test_module_from_file(tmp_path, wat):
    path = tmp_path / "m.wasm"
    path.write_bytes(wat("(module (func (export \"g\")))"))
    for p in (str(path), path):
        assert [e.name for e in wasmprof.Module.from_file(p).exports] == ["g"]


def test_module_from_missing_file(tmp_path):
    with pytest.raises(OSError):
        wasmprof.Module.from_file(tmp_path / "nope.wasm")


def test_module_from_example_file():
    module = wasmprof.Module.from_file(EXAMPLES / "fib.wasm")
    assert {e.name for e in module.exports} == {"fib", "fib_iter", "loop_sum"}


def test_imports_listing(wat):
    module = wasmprof.Module(wat(KITCHEN_SINK))
    imports = module.imports
    assert [(i.module, i.name, i.kind) for i in imports] == [
        ("env", "f", "func"),
        ("env", "tab", "table"),
        ("env", "mem", "memory"),
        ("env", "g", "global"),
    ]
    f, tab, mem, g = (i.type for i in imports)
    assert f.params == ("i32", "i64") and f.results == ("f32",)
    assert (tab.element, tab.min, tab.max) == ("funcref", 3, 10)
    assert (mem.min, mem.max) == (1, None)
    assert (g.content, g.mutable) == ("f64", True)


def test_exports_listing(wat):
    module = wasmprof.Module(wat(KITCHEN_SINK))
    exports = {e.name: e for e in module.exports}
    assert [e.name for e in module.exports] == ["add", "pair", "t", "answer", "counter", "m"]
    assert exports["add"].kind == "func"
    assert exports["add"].type.params == ("i32", "i32")
    assert exports["add"].type.results == ("i32",)
    assert exports["pair"].type.params == ()
    assert exports["pair"].type.results == ("i64", "f64")
    assert exports["t"].kind == "table"
    assert (exports["t"].type.element, exports["t"].type.min, exports["t"].type.max) == ("funcref", 2, None)
    assert exports["answer"].kind == "global"
    assert (exports["answer"].type.content, exports["answer"].type.mutable) == ("i32", False)
    assert (exports["counter"].type.content, exports["counter"].type.mutable) == ("i64", True)
    assert exports["m"].kind == "memory"
    assert (exports["m"].type.min, exports["m"].type.max) == (1, None)


def test_reference_and_externref_types_named(wat):
    module = wasmprof.Module(
        wat('(module (func (export "r") (param funcref externref) (result externref) (local.get 1)))')
    )
    (export,) = module.exports
    assert export.type.params == ("funcref", "externref")
    assert export.type.results == ("externref",)


def test_custom_sections(wat):
    binary = wat("(module)") + custom_section(b"hello", b"\x01\x02world") + custom_section(b"empty", b"")
    sections = wasmprof.Module(binary).custom_sections
    assert ("hello", b"\x01\x02world") in [(name, bytes(data)) for name, data in sections]
    assert ("empty", b"") in [(name, bytes(data)) for name, data in sections]


def test_examples_carry_name_section():
    names = [name for name, _ in wasmprof.Module.from_file(EXAMPLES / "fib.wasm").custom_sections]
    assert "name" in names


# ---- Instance and exports ----------------------------------------------------


def test_instance_exports_access(instance):
    inst = instance(
        """(module
             (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
             (memory (export "mem") 1)
             (global (export "g") i32 (i32.const 7))
             (table (export "tab") 1 funcref))"""
    )
    exports = inst.exports
    assert exports.add(2, 3) == 5
    assert exports["add"](4, 5) == 9
    assert sorted(exports) == ["add", "g", "mem", "tab"]
    assert len(exports) == 4
    assert isinstance(exports.add, wasmprof.Func)
    assert isinstance(exports.mem, wasmprof.Memory)
    assert isinstance(exports.g, wasmprof.Global)
    assert isinstance(exports.tab, wasmprof.Table)
    with pytest.raises(AttributeError):
        exports.nope
    with pytest.raises(KeyError):
        exports["nope"]


def test_instance_without_imports_argument(instance):
    inst = instance('(module (func (export "one") (result i32) (i32.const 1)))')
    assert inst.exports.one() == 1


def test_func_type_attribute(instance):
    inst = instance('(module (func (export "f") (param f32 i64) (result f64 i32) (f64.const 0) (i32.const 0)))')
    assert inst.exports.f.type.params == ("f32", "i64")
    assert inst.exports.f.type.results == ("f64", "i32")


def test_same_module_two_instances_are_independent(wat):
    module = wasmprof.Module(
        wat(
            """(module (global $c (mut i32) (i32.const 0))
                 (func (export "bump") (result i32)
                   (global.set $c (i32.add (global.get $c) (i32.const 1))) (global.get $c)))"""
        )
    )
    a, b = wasmprof.Instance(module), wasmprof.Instance(module)
    assert [a.exports.bump(), a.exports.bump(), b.exports.bump()] == [1, 2, 1]


def test_module_outlives_dropped_references(wat):
    # The instance keeps its module alive: drop every other reference.
    inst = wasmprof.Instance(wasmprof.Module(wat('(module (func (export "f") (result i32) (i32.const 3)))')))
    f = inst.exports.f
    del inst
    assert f() == 3


# ---- decode and validation errors -------------------------------------------


def test_error_hierarchy():
    for cls in (wasmprof.DecodeError, wasmprof.ValidationError, wasmprof.LinkError, wasmprof.Trap, wasmprof.LimitError):
        assert issubclass(cls, wasmprof.Error)
    assert issubclass(wasmprof.Error, Exception)


def test_decode_error_bad_magic():
    with pytest.raises(wasmprof.DecodeError) as excinfo:
        wasmprof.Module(b"\0asX\x01\0\0\0")
    assert isinstance(excinfo.value.reason, str) and excinfo.value.reason
    assert excinfo.value.offset is None or 0 <= excinfo.value.offset < 8


def test_decode_error_empty_input():
    with pytest.raises(wasmprof.DecodeError):
        wasmprof.Module(b"")


def test_decode_error_offset_of_bad_section_id():
    # Section id 0x0d does not exist in Wasm 2.0; it sits at offset 8.
    with pytest.raises(wasmprof.DecodeError) as excinfo:
        wasmprof.Module(HEADER + b"\x0d\x00")
    err = excinfo.value
    assert isinstance(err.offset, int)
    assert err.offset == 8
    assert str(err) == f"{err.reason} at offset {err.offset:#x}"


def test_validation_error_offset():
    # (func) whose body is `i32.add` on an empty stack:
    #   8: type section   01 04 01 60 00 00
    #  14: func section   03 02 01 00
    #  18: code section   0a 05 01 03 00 6a 0b   (i32.add at offset 23)
    binary = HEADER + bytes.fromhex("010401600000" "03020100" "0a050103006a0b")
    assert binary[23] == 0x6A
    with pytest.raises(wasmprof.ValidationError) as excinfo:
        wasmprof.Module(binary)
    err = excinfo.value
    assert isinstance(err.offset, int)
    assert err.offset == 23
    assert isinstance(err.reason, str) and err.reason
    assert str(err) == f"{err.reason} at offset {err.offset:#x}"


def test_validation_error_type_mismatch(wat):
    # wasmtime's assembler does not type-check, so the module reaches us invalid.
    with pytest.raises(wasmprof.ValidationError):
        wasmprof.Module(wat('(module (func (result i32) (i64.const 1)))'))


def test_errors_are_catchable_as_base(wat):
    with pytest.raises(wasmprof.Error):
        wasmprof.Module(b"garbage")


def test_module_path_object_is_accepted():
    assert wasmprof.Module.from_file(pathlib.Path(EXAMPLES) / "kernel.wasm").exports
