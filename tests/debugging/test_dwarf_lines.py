"""The DWARF line-program decoder (csrc/observe/dwarf.c) on hand-assembled programs:
versions 4 and 5, the 64-bit format, every standard opcode clang emits,
sequences the linker discarded, and malformed units (warning, earlier rows
kept).  The real-compiler check is in test_backtrace.py (llvm-dwarfdump)."""
from __future__ import annotations

import struct
import warnings
from typing import List, Optional, Tuple

import pytest

import wasmprof
from helpers.wasm import leb_s, leb_u
from helpers.builder import build, custom

LINE_BASE, LINE_RANGE, OPCODE_BASE = -5, 14, 13
STD_LENGTHS = bytes([0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1])


class Program:
    """Opcode emitters for one line program (addresses are Code-relative)."""

    def __init__(self) -> None:
        self.ops = bytearray()

    def set_address(self, a: int) -> "Program":
        self.ops += b"\x00" + leb_u(5) + b"\x02" + struct.pack("<I", a)
        return self

    def advance_pc(self, n: int) -> "Program":
        self.ops += b"\x02" + leb_u(n)
        return self

    def advance_line(self, n: int) -> "Program":
        self.ops += b"\x03" + leb_s(n)
        return self

    def set_file(self, f: int) -> "Program":
        self.ops += b"\x04" + leb_u(f)
        return self

    def set_column(self, c: int) -> "Program":
        self.ops += b"\x05" + leb_u(c)
        return self

    def copy(self) -> "Program":
        self.ops += b"\x01"
        return self

    def special(self, addr_adv: int, line_adv: int) -> "Program":
        op = (line_adv - LINE_BASE) + LINE_RANGE * addr_adv + OPCODE_BASE
        assert OPCODE_BASE <= op <= 255
        self.ops.append(op)
        return self

    def const_add_pc(self) -> "Program":  # adds (255 - 13) // 14 = 17
        self.ops += b"\x08"
        return self

    def fixed_advance_pc(self, n: int) -> "Program":
        self.ops += b"\x09" + struct.pack("<H", n)
        return self

    def misc(self) -> "Program":  # negate_stmt, prologue_end, set_isa 0, discriminator
        self.ops += b"\x06\x0a\x0c\x00" + b"\x00\x02\x04\x01"
        return self

    def end_sequence(self) -> "Program":
        self.ops += b"\x00\x01\x01"
        return self


def cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def unit_v4(prog: Program, dirs: List[str], files: List[Tuple[str, int]], dwarf64: bool = False) -> bytes:
    header = bytes([1, 1, 1, LINE_BASE & 0xFF, LINE_RANGE, OPCODE_BASE]) + STD_LENGTHS
    header += b"".join(cstr(d) for d in dirs) + b"\0"
    header += b"".join(cstr(n) + leb_u(d) + b"\0\0" for n, d in files) + b"\0"
    off = 8 if dwarf64 else 4
    body = struct.pack("<H", 4) + len(header).to_bytes(off, "little") + header + bytes(prog.ops)
    if dwarf64:
        return b"\xff\xff\xff\xff" + struct.pack("<Q", len(body)) + body
    return struct.pack("<I", len(body)) + body


def unit_v5(prog: Program, dirs: List[int], files: List[Tuple[int, int]]) -> bytes:
    """dirs/files give offsets into .debug_line_str (DW_FORM_line_strp);
    files are (path offset, dir index, udata form)."""
    header = bytes([1, 1, 1, LINE_BASE & 0xFF, LINE_RANGE, OPCODE_BASE]) + STD_LENGTHS
    header += bytes([1]) + leb_u(1) + leb_u(0x1F) + leb_u(len(dirs)) + b"".join(struct.pack("<I", d) for d in dirs)
    header += bytes([2]) + leb_u(1) + leb_u(0x1F) + leb_u(2) + leb_u(0x0F) + leb_u(len(files))
    header += b"".join(struct.pack("<I", p) + leb_u(d) for p, d in files)
    body = struct.pack("<H", 5) + bytes([4, 0]) + struct.pack("<I", len(header)) + header + bytes(prog.ops)
    return struct.pack("<I", len(body)) + body


def module(debug_line: bytes, extra: Tuple[bytes, ...] = (), nfuncs: int = 2, nops: int = 60):
    b = build(nfuncs, [custom(".debug_line", debug_line), *extra], nops=nops)
    return wasmprof.Module(b.binary), b


def loc(m: wasmprof.Module, b, rel: int) -> Optional[Tuple[str, int, Optional[int]]]:
    r = m.source_location(b.code_start + rel)
    return None if r is None else (r.file, r.line, r.column)


def test_v4_rows_and_opcodes() -> None:
    p = (Program().set_address(3).advance_line(9).set_column(4).copy()   # 3: line 10 col 4
         .special(2, 1)                                                  # 5: line 11
         .set_column(0).special(0, 2)                                    # 5: line 13 (same address)
         .misc().advance_pc(4).copy()                                    # 9: line 13
         .set_file(2).const_add_pc().special(0, -3)                      # 26: line 10, file 2
         .fixed_advance_pc(10).advance_line(90).copy()                   # 36: line 100
         .advance_pc(4).end_sequence())                                  # 40: end
    m, b = module(unit_v4(p, ["/src", "inc"], [("a.c", 1), ("b.h", 2)]))
    assert m.dwarf_warning() is None
    assert loc(m, b, 2) is None                      # before the sequence
    assert loc(m, b, 3) == ("/src/a.c", 10, 4)
    assert loc(m, b, 4) == ("/src/a.c", 10, 4)
    assert loc(m, b, 5) == ("/src/a.c", 13, None)    # the last row at an address wins
    assert loc(m, b, 9) == ("/src/a.c", 13, None)
    assert loc(m, b, 25) == ("/src/a.c", 13, None)
    assert loc(m, b, 26) == ("inc/b.h", 10, None)
    assert loc(m, b, 36) == ("inc/b.h", 100, None)
    assert loc(m, b, 39) == ("inc/b.h", 100, None)
    assert loc(m, b, 40) is None                     # past the end of the sequence
    assert m.source_location(b.code_start - 1) is None


def test_discarded_sequences_and_several_units() -> None:
    dead = Program().set_address(0).advance_line(4).copy().advance_pc(50).end_sequence()
    tomb = Program().set_address(0xFFFFFFFF).advance_line(6).copy().advance_pc(2).end_sequence()
    live = Program().set_address(10).advance_line(19).copy().advance_pc(5).end_sequence()
    u1 = unit_v4(dead, [], [("dead.c", 0)])
    u2 = unit_v4(tomb, [], [("tomb.c", 0)])
    u3 = unit_v4(live, [], [("/abs/live.c", 0)], dwarf64=True)
    m, b = module(u1 + u2 + u3)
    assert m.dwarf_warning() is None
    assert loc(m, b, 5) is None  # the dead sequence at 0 would have covered it
    assert loc(m, b, 12) == ("/abs/live.c", 20, None)
    assert loc(m, b, 15) is None


def test_sequences_ending_at_or_past_4gib() -> None:
    """Sequences high in the address space ending exactly at 2^32 and past it: their ends must not
    wrap around to low addresses (an end row at 0x30 would cut the live sequence's line short)."""
    live = Program().set_address(0x20).advance_line(1).copy().advance_pc(0x20).end_sequence()
    at = Program().set_address(0xFFFFF000).advance_line(6).copy().advance_pc(0x1000).end_sequence()
    past = Program().set_address(0xFFFFFF00).advance_line(8).copy().advance_pc(0x130).end_sequence()
    m, b = module(unit_v4(live, [], [("live.c", 0)]) + unit_v4(at, [], [("at.c", 0)])
                  + unit_v4(past, [], [("past.c", 0)]), nops=80)
    assert m.dwarf_warning() is None
    for rel in (0x20, 0x2F, 0x30, 0x35, 0x3F):
        assert loc(m, b, rel) == ("live.c", 2, None), hex(rel)
    assert loc(m, b, 0x40) is None and loc(m, b, 0x1F) is None


def test_v5_line_strp_and_zero_based_files() -> None:
    line_str = b"/comp\0main.rs\0lib/util.rs\0"
    p = (Program().set_address(4).set_file(0).advance_line(2).copy()
         .set_file(1).special(3, 5).advance_pc(1).end_sequence())
    unit = unit_v5(p, dirs=[0], files=[(6, 0), (14, 0)])
    m, b = module(unit, (custom(".debug_line_str", line_str),))
    assert m.dwarf_warning() is None
    assert loc(m, b, 4) == ("/comp/main.rs", 3, None)
    assert loc(m, b, 7) == ("/comp/lib/util.rs", 8, None)


def test_malformed_unit_keeps_earlier_rows_and_warns() -> None:
    good = unit_v4(Program().set_address(5).advance_line(1).copy().advance_pc(3).end_sequence(), [], [("g.c", 0)])
    bad = unit_v4(Program().set_address(20).copy(), [], [("b.c", 0)])[:-3]  # truncated mid-opcode
    bad = struct.pack("<I", len(bad) - 4 + 40) + bad[4:]                    # and a length past the end
    m, b = module(good + bad)
    with pytest.warns(UserWarning, match=r"\.debug_line: unit at 0x[0-9a-f]+: length past the section"):
        assert loc(m, b, 6) == ("g.c", 2, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loc(m, b, 21) is None


@pytest.mark.parametrize("version", [1, 6])
def test_unsupported_version(version: int) -> None:
    unit = bytearray(unit_v4(Program().set_address(5).copy().end_sequence(), [], [("x.c", 0)]))
    unit[4:6] = struct.pack("<H", version)
    m, b = module(bytes(unit))
    assert "unsupported version" in m.dwarf_warning()
    with pytest.warns(UserWarning, match="unsupported version"):
        assert loc(m, b, 5) is None


def test_no_debug_line() -> None:
    m = wasmprof.Module(build(1).binary)
    assert m.source_location(0) is None and m.dwarf_warning() is None


def test_malformed_debug_info_keeps_lines() -> None:
    line = unit_v4(Program().set_address(5).advance_line(1).copy().advance_pc(3).end_sequence(), [], [("g.c", 0)])
    info = struct.pack("<I", 8) + struct.pack("<H", 4) + struct.pack("<I", 0) + b"\x04" + b"\x09"  # code 9: unknown
    abbrev = b"\x01\x11\x00\x00\x00\x00"  # code 1: compile_unit, no children, no attributes
    m, b = module(line, (custom(".debug_info", info), custom(".debug_abbrev", abbrev)))
    assert "unknown abbreviation code" in m.dwarf_warning()
    with pytest.warns(UserWarning, match=r"\.debug_info"):
        r = m.source_location(b.code_start + 6)
    assert (r.file, r.line, r.function) == ("g.c", 2, None)


def test_debug_info_function_ranges() -> None:
    """A hand-made unit: one subprogram [5, 9) named by DW_AT_name (string form),
    with an inlined call [6, 8) whose name comes through DW_AT_abstract_origin."""
    line = unit_v4(Program().set_address(5).advance_line(1).copy().advance_pc(1).advance_line(10).copy()
                   .advance_pc(3).end_sequence(), [], [("f.c", 0)])
    # abbrevs: 1 compile_unit (children, stmt_list data4); 2 subprogram (children, name string,
    # low_pc addr, high_pc data4); 3 subprogram (no children, name string: the abstract one);
    # 4 inlined_subroutine (no children, abstract_origin ref4, low_pc addr, high_pc data4,
    # call_file data1, call_line data1)
    abbrev = (b"\x01\x11\x01\x10\x06\x00\x00"
              b"\x02\x2e\x01\x03\x08\x11\x01\x12\x06\x00\x00"
              b"\x03\x2e\x00\x03\x08\x00\x00"
              b"\x04\x1d\x00\x31\x13\x11\x01\x12\x06\x58\x0b\x59\x0b\x00\x00"
              b"\x00")
    body = bytearray()
    body += b"\x01" + struct.pack("<I", 0)                      # CU, stmt_list 0
    abstract_at = len(body) + 11                                # offset of the abstract DIE
    body += b"\x03" + b"inl\0"                                  # abstract subprogram "inl"
    body += b"\x02" + b"outer\0" + struct.pack("<II", 5, 4)     # outer [5, 9)
    body += b"\x04" + struct.pack("<I", abstract_at) + struct.pack("<II", 6, 2) + b"\x01\x21"
    body += b"\x00\x00"                                         # end outer's children, end CU's
    info = struct.pack("<H", 4) + struct.pack("<I", 0) + b"\x04" + bytes(body)
    info = struct.pack("<I", len(info)) + info
    m, b = module(line, (custom(".debug_info", info), custom(".debug_abbrev", abbrev)))
    assert m.dwarf_warning() is None
    assert m.source_location(b.code_start + 5).function == "outer"
    r = m.source_location(b.code_start + 7)
    assert (r.line, r.function) == (12, "inl")
    assert m.source_location(b.code_start + 8).function == "outer"
