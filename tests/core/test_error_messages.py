"""Decode and validation errors say where (the module offset) and what was
expected and what was found, after the spec's own wording:

    type mismatch: i32.add expects [i32 i32], found [i32 f64]

through the Python API (DecodeError / ValidationError: .reason, .offset)
and the command line (one line on stderr, exit status 1 as for every
module that fails).  The spec test suite's texts stay the start of our
messages; the runner does not compare them (it checks the error class),
so the last test here does.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Type

import pytest

import wasmprof
from helpers.builder import section
from helpers.env import python_env
from helpers.paths import SPEC_DIR
from helpers.wasm import func_body_range, instr_offset, leb_u, sections, wat2wasm

HEADER = b"\0asm\x01\0\0\0"
EMPTY_TYPE = section(1, b"\x01\x60\x00\x00")  # type 0: [] -> []


def error(data: bytes, cls: Type[wasmprof.Error]) -> wasmprof.Error:
    with pytest.raises(cls) as excinfo:
        wasmprof.Module(data)
    return excinfo.value


def section_start(data: bytes, sid: int) -> int:
    """Module offset of the contents of the (first) section with id sid."""
    return next(start for s, start, _end in sections(data) if s == sid)


# ---- validation: what the instruction expects, what the stack holds ------------------


def test_operand_types_expected_and_found():
    data = wat2wasm("(module (func (result i32) (i32.add (i32.const 1) (f64.const 2))))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: i32.add expects [i32 i32], found [i32 f64]"
    assert err.offset == instr_offset(data, 0, b"\x6a")
    assert str(err) == f"{err.reason} at offset {err.offset:#x}"


def test_found_shows_only_the_current_block():
    """Values below the block are not the instruction's to take."""
    data = wat2wasm("(module (func (i64.const 7) (block (drop (i64.add (f32.const 1)))) (drop)))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: i64.add expects [i64 i64], found [f32]"
    assert err.offset == instr_offset(data, 0, b"\x7c")


def test_an_empty_stack_is_found_empty():
    data = wat2wasm("(module (func (block (drop))))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: drop expects [any], found []"
    assert err.offset == instr_offset(data, 0, b"\x1a")


def test_block_results_expected_and_found():
    # (block (i32.const 1) (i32.const 2)) in a function without results:
    # body 00 | 02 40 | 41 01 | 41 02 | 0b | 0b; the block's end is its 8th byte.
    data = wat2wasm("(module (func (block (i32.const 1) (i32.const 2))))")
    start, _ = func_body_range(data, 0)
    assert data[start + 7] == 0x0B
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: end expects [] (the block's results), found [i32 i32]"
    assert err.offset == start + 7


def test_function_results_expected_and_found():
    data = wat2wasm("(module (func (result i32 f32) (i64.const 1)))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: end expects [i32 f32] (the function's results), found [i64]"
    assert err.offset == instr_offset(data, 0, b"\x0b")


def test_select_operands_found():
    data = wat2wasm("(module (func (result i32) (select (i32.const 1) (f64.const 2) (i32.const 0))))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: select expects two operands of one type, found [i32 f64]"
    assert err.offset == instr_offset(data, 0, b"\x1b")


def test_long_type_lists_show_their_top():
    """A call with twelve parameters: the expected list keeps its top eight."""
    params = " ".join(["i32"] * 11 + ["i64"])
    data = wat2wasm(f"(module (func $f (param {params})) (func (call $f (i32.const 1))))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch: call expects [... i32 i32 i32 i32 i32 i32 i32 i64], found [i32]"
    assert err.offset == instr_offset(data, 1, b"\x10\x00")


@pytest.mark.parametrize("wat,opcode,reason", [
    ("(module (func (param i32) (drop (local.get 3))))", b"\x20\x03",
     "unknown local 3: expected an index below 1"),
    ("(module (func (drop (global.get 0))))", b"\x23\x00", "unknown global 0: there are none"),
    ("(module (func (block (br 2))))", b"\x0c\x02", "unknown label 2: expected a depth below 2"),
    ("(module (memory 1) (func (drop (i32.load8_u align=2 (i32.const 0)))))", b"\x2d",
     "alignment must not be larger than natural: i32.load8_u expects at most 2^0, found 2^1"),
    ("(module (func (drop (memory.size))))", b"\x3f\x00",
     "unknown memory 0: memory.size expects a memory, the module has none"),
    ("(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))", b"\x24\x00",
     "global is immutable: global.set expects a mutable global, found const global 0"),
])
def test_index_and_immediate_errors(wat, opcode, reason):
    data = wat2wasm(wat)
    err = error(data, wasmprof.ValidationError)
    assert err.reason == reason
    assert err.offset == instr_offset(data, 0, opcode)


def test_constant_expression_type():
    data = wat2wasm("(module (global i32 (i64.const 1)))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "type mismatch in constant expression: expected [i32], found [i64]"
    assert data[err.offset] == 0x0B and data[err.offset - 2] == 0x42  # the `end` after i64.const 1


def test_start_function_type():
    data = wat2wasm("(module (func $f (param i32)) (start $f))")
    err = error(data, wasmprof.ValidationError)
    assert err.reason == "start function must have type [] -> []: found function 0 of type [i32] -> []"
    assert err.offset == section_start(data, 8)


def test_duplicate_export_at_the_second_entry():
    data = wat2wasm('(module (func) (export "a" (func 0)) (export "a" (func 0)))')
    err = error(data, wasmprof.ValidationError)
    assert err.reason == 'duplicate export name "a": expected each name once'
    # export section: count 2, then entries of 4 bytes each (name "a", kind, index)
    assert err.offset == section_start(data, 7) + 1 + 4


@pytest.mark.parametrize("wat,sid,entry,reason", [
    ("(module (memory 1) (memory 2))", 5, 1, "multiple memories: expected at most 1, found 2"),
    ("(module (table 2 1 funcref))", 4, 0,
     "size minimum must not be greater than maximum: expected minimum <= maximum, found 2 > 1"),
    ("(module (memory 65537))", 5, 0, "memory size must be at most 65536 pages (4GiB): found minimum 65537"),
])
def test_table_and_memory_entries(wat, sid, entry, reason):
    """Reported at the offending entry of its section (entries of two bytes here)."""
    data = wat2wasm(wat)
    err = error(data, wasmprof.ValidationError)
    assert err.reason == reason
    assert err.offset == section_start(data, sid) + 1 + 2 * entry


# ---- decoding: what the binary format expects, which byte was found ------------------


def test_section_id():
    err = error(HEADER + b"\x2a\x00", wasmprof.DecodeError)
    assert err.reason == "malformed section id: expected 0..12, found 42 (0x2a)"
    assert err.offset == 8


def test_magic_header():
    err = error(b"\0asX\x01\0\0\0", wasmprof.DecodeError)
    assert err.reason == "magic header not detected: expected 00 61 73 6d (\\0asm), found 00 61 73 58"
    assert err.offset == 0


def test_value_type_byte():
    data = HEADER + section(1, b"\x01\x60\x02\x7f\x40\x00")  # [i32 0x40] -> []
    err = error(data, wasmprof.DecodeError)
    assert err.reason.startswith("malformed value type: expected 0x7f i32, ")
    assert err.reason.endswith(", found 0x40")
    assert data[err.offset] == 0x40 and err.offset == len(HEADER) + 2 + 4


def test_leb128_too_long():
    data = HEADER + EMPTY_TYPE + section(3, b"\x81\x80\x80\x80\x80\x00")
    err = error(data, wasmprof.DecodeError)
    assert err.reason == "integer representation too long: expected a 32-bit LEB128 in at most 5 bytes"
    assert err.offset == section_start(data, 3) + 5


def test_body_not_ending_in_end():
    body = b"\x00\x01"  # no locals, nop: no final `end`
    data = HEADER + EMPTY_TYPE + section(3, b"\x01\x00") + section(10, b"\x01" + leb_u(len(body)) + body)
    err = error(data, wasmprof.DecodeError)
    assert err.reason == "END opcode expected: the function body's last byte is 0x01, not 0x0b"
    assert err.offset == len(data) - 1


def test_illegal_opcode_in_a_body():
    body = b"\x00\xff\x0b"
    data = HEADER + EMPTY_TYPE + section(3, b"\x01\x00") + section(10, b"\x01" + leb_u(len(body)) + body)
    err = error(data, wasmprof.DecodeError)
    assert err.reason == "illegal opcode 0xff: expected a WebAssembly 2.0 opcode"
    assert err.offset == len(data) - 2


# ---- the command line -------------------------------------------------------------------


def test_cli_reports_one_line_with_offset(tmp_path):
    data = wat2wasm("(module (func (export \"f\") (result i32) (i32.add (i32.const 1) (f64.const 2))))")
    path = tmp_path / "bad.wasm"
    path.write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "wasmprof", "run", str(path), "--invoke", "f"],
                          capture_output=True, text=True, cwd=tmp_path, env=python_env(), timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    at = instr_offset(data, 0, b"\x6a")
    assert proc.stderr.splitlines() == [
        f"wasmprof: ValidationError: type mismatch: i32.add expects [i32 i32], found [i32 f64] at offset {at:#x}"]
    assert proc.stdout == ""


# ---- the spec's wording comes first ---------------------------------------------------

# Binary modules of the spec suite whose message does not start with the
# spec's text, and why.  Each still fails with the right error class.
SPEC_WORDING_EXCEPTIONS = {
    # The decoder checks a body's last byte before its instructions: a body
    # cut short (or followed by extra bytes) is found not to end in `end`.
    ("binary", 439): "unexpected end of section or function",
    ("binary", 455): "section size mismatch",
    ("binary", 1817): "unexpected end",
    # The end of a section found while reading the next element.
    ("binary", 1632): "length out of bounds",
    ("binary-leb128", 348): "integer representation too long",
    # wast2json wrote `select (result)` (no types) as a plain `select`.
    ("select", 324): "invalid result arity",
}


def test_spec_wording_starts_every_message():
    scripts = sorted((SPEC_DIR / "core").glob("*/*.json"))
    if not scripts:
        pytest.skip("spec tests not found")
    checked = 0
    wrong = []
    for script in scripts:
        for cmd in json.loads(script.read_text())["commands"]:
            if cmd["type"] not in ("assert_invalid", "assert_malformed") or cmd.get("module_type") == "text":
                continue
            cls = wasmprof.ValidationError if cmd["type"] == "assert_invalid" else wasmprof.DecodeError
            err = error((script.parent / cmd["filename"]).read_bytes(), cls)
            key = (script.parent.name, cmd["line"])
            if key in SPEC_WORDING_EXCEPTIONS:
                assert SPEC_WORDING_EXCEPTIONS[key] == cmd["text"], key
                assert not err.reason.startswith(cmd["text"]), f"{key} is no longer an exception: {err.reason}"
            elif not err.reason.startswith(cmd["text"]):
                wrong.append(f"{key}: expected {cmd['text']!r} first, got {err.reason!r}")
            checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked > 2000
