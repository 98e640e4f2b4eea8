"""Source-level variables of wasm functions from DWARF `.debug_info`
(versions 2 to 5, 32-bit format): for a code address, the enclosing
subprogram's parameters and variables with their names, types and
locations.  Locations understood are those clang emits for wasm:

  DW_OP_fbreg N          in linear memory at frame base + N (-O0 code), the
                         frame base being DW_OP_WASM_location 0 L (local L)
                         or 3 G (global G, e.g. __stack_pointer)
  DW_OP_WASM_location 0 L [DW_OP_stack_value]   wasm local L (optimised code)
  DW_OP_WASM_location 3 G                       wasm global G
Location lists and other expressions are reported as not understood.
Parsing stops at the first malformed unit (a debugging aid never raises)."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Optional

from .dwarf_lines import _Bad, _Cursor, _string_at

TAG_COMPILE_UNIT, TAG_SUBPROGRAM, TAG_VARIABLE, TAG_FORMAL_PARAMETER = 0x11, 0x2E, 0x34, 0x05
TAG_LEXICAL_BLOCK, TAG_INLINED = 0x0B, 0x1D
TAG_BASE, TAG_POINTER, TAG_REFERENCE, TAG_RVALUE_REF = 0x24, 0x0F, 0x10, 0x42
TAG_TYPEDEF, TAG_CONST, TAG_VOLATILE, TAG_STRUCT, TAG_CLASS, TAG_UNION, TAG_ENUM, TAG_ARRAY = (
    0x16, 0x26, 0x35, 0x13, 0x02, 0x17, 0x04, 0x01)
AT_NAME, AT_LOCATION, AT_TYPE, AT_LOW_PC, AT_HIGH_PC, AT_FRAME_BASE, AT_BYTE_SIZE, AT_ENCODING = (
    0x03, 0x02, 0x49, 0x11, 0x12, 0x40, 0x0B, 0x3E)
AT_SPECIFICATION, AT_ABSTRACT_ORIGIN, AT_LINKAGE_NAME, AT_MIPS_LINKAGE = 0x47, 0x31, 0x6E, 0x2007
AT_STMT_LIST, AT_COMP_DIR = 0x10, 0x1B
ATE_FLOAT, ATE_SIGNED, ATE_SIGNED_CHAR, ATE_BOOLEAN = 0x04, 0x05, 0x06, 0x02
OP_FBREG, OP_WASM_LOCATION, OP_STACK_VALUE = 0x91, 0xED, 0x9F


@dataclass
class Die:
    offset: int
    tag: int
    attrs: dict
    children: list = field(default_factory=list)


@dataclass
class Location:
    """Where a variable lives: kind "memory" (frame-base relative, or an
    absolute address when base is None), "local" or "global"."""

    kind: str
    index: int = 0
    offset: int = 0
    base: Optional["Location"] = None


@dataclass
class Variable:
    name: str
    param: bool
    type_name: str
    size: Optional[int]
    encoding: Optional[int]  # DW_ATE_* of a base type; None for others
    pointer: bool
    location: Optional[Location]
    why_not: Optional[str] = None  # a location this reader does not understand


@dataclass
class Function:
    low: int
    high: int
    name: Optional[str]
    frame_base: Optional[Location]
    variables: list


def _expr(data: bytes) -> tuple:
    """(Location or None, reason)."""
    c = _Cursor(data, 0, len(data))
    try:
        op = c.fixed(1)
        if op == OP_FBREG:
            return Location("memory", offset=c.sleb()), None
        if op == OP_WASM_LOCATION:
            kind = c.fixed(1)
            index = c.fixed(4) if kind == 3 and len(data) == 6 else c.uleb()
            if kind in (0, 3):
                return Location("local" if kind == 0 else "global", index=index), None
            return None, f"wasm location kind {kind}"
        if op == 0x03:  # DW_OP_addr
            return Location("memory", offset=c.fixed(len(data) - 1), base=None), None
    except _Bad:
        return None, "a malformed location"
    return None, f"DWARF expression op {op:#x}"


class DebugInfo:
    """Functions (with their variables) by code address range."""

    def __init__(self, info: bytes, abbrev: bytes, str_: Optional[bytes] = None,
                 line_str: Optional[bytes] = None) -> None:
        self.functions: list = []
        self.comp_dirs: dict = {}  # a unit's .debug_line offset -> its DW_AT_comp_dir
        self.warning: Optional[str] = None
        self._str, self._line_str = str_, line_str
        pos = 0
        while pos < len(info):
            try:
                pos = self._unit(info, abbrev, pos)
            except _Bad as e:
                self.warning = f".debug_info: unit at {pos:#x}: {e}; later units ignored"
                break
        self.functions.sort(key=lambda f: f.low)
        self._lows = [f.low for f in self.functions]

    def _abbrevs(self, data: bytes, offset: int) -> dict:
        c = _Cursor(data, offset, len(data))
        table = {}
        while True:
            code = c.uleb()
            if code == 0:
                return table
            tag, children = c.uleb(), c.fixed(1)
            specs = []
            while True:
                at, form = c.uleb(), c.uleb()
                implicit = c.sleb() if form == 0x21 else None
                if at == 0 and form == 0:
                    break
                specs.append((at, form, implicit))
            table[code] = (tag, children, specs)

    def _value(self, c: _Cursor, form: int, implicit, unit: int, offset_size: int, addr_size: int, version: int):
        fixed = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8, 0x25: 1, 0x26: 2, 0x28: 4,
                 0x29: 1, 0x2A: 2, 0x2C: 4}
        if form == 0x01:  # addr
            return c.fixed(addr_size)
        if form in (0x11, 0x12, 0x13, 0x14):  # ref1..ref8: unit-relative
            return ("ref", unit + c.fixed(fixed[form]))
        if form == 0x15:  # ref_udata
            return ("ref", unit + c.uleb())
        if form == 0x10:  # ref_addr
            return ("ref", c.fixed(offset_size if version >= 3 else addr_size))
        if form in fixed:
            return c.fixed(fixed[form])
        if form == 0x0D:
            return c.sleb()
        if form == 0x0F:
            return c.uleb()
        if form == 0x08:
            return c.cstr()
        if form == 0x0E:
            return _string_at(self._str, c.fixed(offset_size))
        if form == 0x1F:
            return _string_at(self._line_str, c.fixed(offset_size))
        if form == 0x17:  # sec_offset
            return ("sec_offset", c.fixed(offset_size))
        if form in (0x18, 0x09):  # exprloc, block
            n = c.uleb()
            data = c.data[c.pos : c.pos + n]
            c.skip(n)
            return bytes(data)
        if form in (0x0A, 0x03, 0x04):
            n = c.fixed({0x0A: 1, 0x03: 2, 0x04: 4}[form])
            data = c.data[c.pos : c.pos + n]
            c.skip(n)
            return bytes(data)
        if form == 0x0C:  # flag
            return c.fixed(1)
        if form == 0x19:  # flag_present
            return 1
        if form == 0x21:  # implicit_const
            return implicit
        if form == 0x1E:  # data16
            c.skip(16)
            return None
        if form == 0x20:  # ref_sig8
            c.skip(8)
            return None
        if form in (0x1A, 0x1B):  # strx, addrx (need the unit's bases: unsupported, skipped)
            c.uleb()
            return None
        if form == 0x16:  # indirect
            return self._value(c, c.uleb(), implicit, unit, offset_size, addr_size, version)
        raise _Bad(f"form {form:#x} unsupported")

    def _unit(self, info: bytes, abbrev: bytes, start: int) -> int:
        c = _Cursor(info, start, len(info))
        length = c.fixed(4)
        if length >= 0xFFFFFFF0:
            raise _Bad("64-bit DWARF is not supported")
        end = c.pos + length
        if end > len(info):
            raise _Bad("length past the section")
        c = _Cursor(info, c.pos, end)
        version = c.fixed(2)
        if version >= 5:
            unit_type, addr_size, abbrev_off = c.fixed(1), c.fixed(1), c.fixed(4)
            if unit_type in (2, 6):  # type and split-type units
                c.skip(12)
            elif unit_type in (4, 5):
                c.skip(8)
        elif 2 <= version <= 4:
            abbrev_off, addr_size = c.fixed(4), c.fixed(1)
        else:
            raise _Bad(f"version {version}")
        abbrevs = self._abbrevs(abbrev, abbrev_off)
        dies: dict = {}
        stack: list = []
        roots: list = []
        while c.pos < end:
            off = c.pos
            code = c.uleb()
            if code == 0:
                if stack:
                    stack.pop()
                continue
            if code not in abbrevs:
                raise _Bad(f"abbreviation {code} missing")
            tag, children, specs = abbrevs[code]
            attrs = {}
            for at, form, implicit in specs:
                attrs[at] = self._value(c, form, implicit, start, 4, addr_size, version)
                if at == AT_HIGH_PC and form != 0x01:  # DWARF 4+: a length, not an address
                    attrs[at] = ("length", attrs[at])
            die = Die(off, tag, attrs)
            dies[off] = die
            (stack[-1].children if stack else roots).append(die)
            if children:
                stack.append(die)
        for die in roots:
            stmt_list, comp_dir = die.attrs.get(AT_STMT_LIST), die.attrs.get(AT_COMP_DIR)
            if die.tag == TAG_COMPILE_UNIT and isinstance(comp_dir, str):
                offset = stmt_list[1] if isinstance(stmt_list, tuple) else stmt_list
                if isinstance(offset, int):
                    self.comp_dirs[offset] = comp_dir
        for die in dies.values():
            if die.tag == TAG_SUBPROGRAM and AT_LOW_PC in die.attrs and AT_HIGH_PC in die.attrs:
                self._function(die, dies)
        return end

    # ---- what a subprogram holds ----

    @staticmethod
    def _deref(dies: dict, value) -> Optional[Die]:
        return dies.get(value[1]) if isinstance(value, tuple) and value[0] == "ref" else None

    def _type(self, dies: dict, value, depth: int = 0) -> tuple:
        """(name, byte size, base encoding, is pointer) of a type reference."""
        die = self._deref(dies, value)
        if die is None or depth > 16:
            return "void" if value is None else "?", None, None, False
        a, tag = die.attrs, die.tag
        if tag in (TAG_TYPEDEF, TAG_CONST, TAG_VOLATILE):
            name, size, enc, ptr = self._type(dies, a.get(AT_TYPE), depth + 1)
            prefix = {TAG_CONST: "const ", TAG_VOLATILE: "volatile "}.get(tag, "")
            return (a.get(AT_NAME) or prefix + name), size, enc, ptr
        if tag in (TAG_POINTER, TAG_REFERENCE, TAG_RVALUE_REF):
            name = self._type(dies, a.get(AT_TYPE), depth + 1)[0]
            return name + (" *" if tag == TAG_POINTER else " &"), a.get(AT_BYTE_SIZE, 4), None, True
        if tag == TAG_BASE:
            return a.get(AT_NAME) or "?", a.get(AT_BYTE_SIZE), a.get(AT_ENCODING), False
        if tag == TAG_ENUM:
            return a.get(AT_NAME) or "enum", a.get(AT_BYTE_SIZE), ATE_SIGNED, False
        if tag in (TAG_STRUCT, TAG_CLASS, TAG_UNION):
            return a.get(AT_NAME) or "struct", a.get(AT_BYTE_SIZE), None, False
        if tag == TAG_ARRAY:
            return self._type(dies, a.get(AT_TYPE), depth + 1)[0] + "[]", None, None, False
        return a.get(AT_NAME) or "?", a.get(AT_BYTE_SIZE), None, False

    def _name(self, dies: dict, die: Die) -> Optional[str]:
        for _ in range(8):
            if AT_NAME in die.attrs:
                return die.attrs[AT_NAME]
            nxt = self._deref(dies, die.attrs.get(AT_SPECIFICATION) or die.attrs.get(AT_ABSTRACT_ORIGIN))
            if nxt is None:
                return None
            die = nxt
        return None

    def _function(self, die: Die, dies: dict) -> None:
        low, high = die.attrs[AT_LOW_PC], die.attrs[AT_HIGH_PC]
        if isinstance(high, tuple) and isinstance(low, int) and isinstance(high[1], int):
            high = low + high[1]
        if not isinstance(low, int) or not isinstance(high, int) or low == 0 or low >= 0xFFFFFFF0:
            return  # dead code the linker dropped (address 0 or a tombstone)
        frame_base = None
        fb = die.attrs.get(AT_FRAME_BASE)
        if isinstance(fb, bytes):
            frame_base = _expr(fb)[0]
        variables: list = []
        todo = list(die.children)
        while todo:
            child = todo.pop(0)
            if child.tag == TAG_LEXICAL_BLOCK:
                todo.extend(child.children)
                continue
            if child.tag not in (TAG_VARIABLE, TAG_FORMAL_PARAMETER):
                continue
            name = self._name(dies, child)
            if name is None:
                continue
            type_ref = child.attrs.get(AT_TYPE)
            if type_ref is None:
                origin = self._deref(dies, child.attrs.get(AT_ABSTRACT_ORIGIN))
                type_ref = origin.attrs.get(AT_TYPE) if origin else None
            tname, size, enc, ptr = self._type(dies, type_ref)
            loc_attr = child.attrs.get(AT_LOCATION)
            loc, why = (_expr(loc_attr) if isinstance(loc_attr, bytes)
                        else (None, "a location list" if loc_attr is not None else "no location (optimised out)"))
            if loc is not None and loc.kind == "memory" and child.attrs.get(AT_LOCATION, b"")[:1] == bytes([OP_FBREG]):
                loc.base = frame_base
                if frame_base is None:
                    loc, why = None, "a frame base this reader does not understand"
            variables.append(Variable(name, child.tag == TAG_FORMAL_PARAMETER, tname, size, enc, ptr, loc, why))
        self.functions.append(Function(low, high, self._name(dies, die), frame_base, variables))

    def function_at(self, addr: int) -> Optional[Function]:
        i = bisect.bisect_right(self._lows, addr) - 1
        while i >= 0:
            f = self.functions[i]
            if f.low <= addr < f.high:
                return f
            if addr - f.low > 1 << 24:
                break
            i -= 1
        return None
