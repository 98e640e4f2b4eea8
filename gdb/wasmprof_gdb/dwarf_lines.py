"""DWARF `.debug_line` (versions 2 to 5, 32- and 64-bit) of a wasm module,
decoded from its custom sections: code offset -> file:line:column.  The
same reading as csrc/observe/dwarf.c: addresses are offsets from the start of the
Code section's contents; sequences starting at 0 or at a tombstone
(functions the linker dropped) are discarded; a malformed unit stops the
decoding, keeping the rows before it."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Optional

DW_FORM = {"block2": 0x03, "block4": 0x04, "data2": 0x05, "data4": 0x06, "data8": 0x07, "string": 0x08,
           "block": 0x09, "block1": 0x0A, "data1": 0x0B, "sdata": 0x0D, "strp": 0x0E, "udata": 0x0F,
           "data16": 0x1E, "line_strp": 0x1F}
DW_LNCT_path, DW_LNCT_directory_index = 1, 2


class _Bad(Exception):
    pass


class _Cursor:
    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def fixed(self, n: int) -> int:
        if self.pos + n > self.end:
            raise _Bad("truncated")
        v = int.from_bytes(self.data[self.pos : self.pos + n], "little")
        self.pos += n
        return v

    def uleb(self) -> int:
        v = shift = 0
        while True:
            b = self.fixed(1)
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
            if shift > 63:
                raise _Bad("LEB128 too long")

    def sleb(self) -> int:
        v = shift = 0
        while True:
            b = self.fixed(1)
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v - (1 << shift) if b & 0x40 else v
            if shift > 63:
                raise _Bad("LEB128 too long")

    def cstr(self) -> str:
        nul = self.data.find(b"\0", self.pos, self.end)
        if nul < 0:
            raise _Bad("unterminated string")
        s = self.data[self.pos : nul].decode("utf-8", "replace")
        self.pos = nul + 1
        return s

    def skip(self, n: int) -> None:
        if self.pos + n > self.end:
            raise _Bad("truncated")
        self.pos += n


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


def _string_at(section: Optional[bytes], off: int) -> Optional[str]:
    if not section or off >= len(section):
        return None
    nul = section.find(b"\0", off)
    return None if nul < 0 else section[off:nul].decode("utf-8", "replace")


def _join(directory: Optional[str], name: str) -> str:
    if not directory or name.startswith("/"):
        return name
    return directory.rstrip("/") + "/" + name


def _tidy(path: str) -> str:
    """A joined path without its "/./" steps (wp_path_tidy)."""
    while "/./" in path:
        path = path.replace("/./", "/")
    return path


class LineTable:
    """Rows sorted by address; lookup(addr) is the row covering addr."""

    def __init__(self, line: bytes, line_str: Optional[bytes] = None, str_: Optional[bytes] = None,
                 comp_dirs: Optional[dict] = None) -> None:
        self.rows: list = []  # (addr, not end_sequence, order, line, column, file or None)
        self.warning: Optional[str] = None
        self._line_str, self._str = line_str, str_
        # Relative file names are relative to their unit's compilation directory (as the core
        # joins them, csrc/observe/dwarf_info.c): unit offset -> DW_AT_comp_dir, from .debug_info.
        self._comp_dirs = comp_dirs or {}
        pos = 0
        while pos < len(line):
            try:
                pos = self._unit(line, pos)
            except _Bad as e:
                self.warning = f".debug_line: unit at {pos:#x}: {e}; later units ignored"
                break
        self.rows.sort(key=lambda r: (r[0], r[1], r[2]))
        self._addrs = [r[0] for r in self.rows]

    def _form(self, c: _Cursor, form: int, offset_size: int):
        if form == DW_FORM["string"]:
            return c.cstr()
        if form == DW_FORM["line_strp"]:
            return _string_at(self._line_str, c.fixed(offset_size))
        if form == DW_FORM["strp"]:
            return _string_at(self._str, c.fixed(offset_size))
        sizes = {DW_FORM["data1"]: 1, DW_FORM["data2"]: 2, DW_FORM["data4"]: 4, DW_FORM["data8"]: 8}
        if form in sizes:
            return c.fixed(sizes[form])
        if form == DW_FORM["udata"]:
            return c.uleb()
        if form == DW_FORM["sdata"]:
            return c.sleb()
        if form == DW_FORM["data16"]:
            return c.skip(16)
        blocks = {DW_FORM["block1"]: 1, DW_FORM["block2"]: 2, DW_FORM["block4"]: 4}
        if form in blocks:
            return c.skip(c.fixed(blocks[form]))
        if form == DW_FORM["block"]:
            return c.skip(c.uleb())
        raise _Bad(f"form {form:#x} unsupported")

    def _v5_entries(self, c: _Cursor, offset_size: int) -> list:
        nformats = c.fixed(1)
        formats = [(c.uleb(), c.uleb()) for _ in range(nformats)]
        out = []
        for _ in range(c.uleb()):
            path, directory = "", 0
            for kind, form in formats:
                v = self._form(c, form, offset_size)
                if kind == DW_LNCT_path and isinstance(v, str):
                    path = v
                elif kind == DW_LNCT_directory_index and isinstance(v, int):
                    directory = v
            out.append((path, directory))
        return out

    def _unit(self, data: bytes, start: int) -> int:
        c = _Cursor(data, start, len(data))
        offset_size, length = 4, c.fixed(4)
        if length == 0xFFFFFFFF:
            offset_size, length = 8, c.fixed(8)
        if c.pos + length > len(data):
            raise _Bad("length past the section")
        end = c.pos + length
        c = _Cursor(data, c.pos, end)
        version = c.fixed(2)
        if not 2 <= version <= 5:
            raise _Bad("unsupported version")
        if version >= 5:
            c.fixed(2)  # address size, segment selector size
        header_length = c.fixed(offset_size)
        program = c.pos + header_length
        min_inst = c.fixed(1)
        if version >= 4:
            c.fixed(1)
        c.fixed(1)  # default_is_stmt: every row counts, as in dwarf.c
        line_base = c.fixed(1)
        line_base = line_base - 256 if line_base > 127 else line_base
        line_range, opcode_base = c.fixed(1), c.fixed(1)
        if line_range == 0 or opcode_base == 0:
            raise _Bad("bad header")
        std_lengths = [0] + [c.fixed(1) for _ in range(1, opcode_base)]
        if version >= 5:
            dirs = [p for p, _ in self._v5_entries(c, offset_size)]
            files = [_join(dirs[d] if d < len(dirs) else None, p) for p, d in self._v5_entries(c, offset_size)]
            file_base = 0
        else:
            dirs: list = [None]
            while (s := c.cstr()) != "":
                dirs.append(s)
            files = []
            while (name := c.cstr()) != "":
                d = c.uleb()
                c.uleb()
                c.uleb()
                files.append(_join(dirs[d] if d < len(dirs) else None, name))
            file_base = 1
        comp_dir = self._comp_dirs.get(start)
        if comp_dir and comp_dir.startswith("/"):
            files = [_tidy(_join(comp_dir, f)) if f and not f.startswith("/") else f for f in files]
        c.pos = program
        rows = self.rows
        address, file, line, column = 0, 1, 1, 0
        seq_first, seq_dead = len(rows), False

        def emit(end_sequence: bool) -> None:
            nonlocal seq_dead
            fi = file - file_base
            if len(rows) == seq_first and (address == 0 or address >= 0xFFFFFFF0):
                seq_dead = True
            rows.append((address, not end_sequence, len(rows), line, column,
                         files[fi] if 0 <= fi < len(files) else None))

        while c.pos < end:
            op = c.fixed(1)
            if op >= opcode_base:
                adj = op - opcode_base
                address += (adj // line_range) * min_inst
                line += line_base + adj % line_range
                emit(False)
            elif op == 0:
                n = c.uleb()
                if n == 0 or c.pos + n > end:
                    raise _Bad("malformed line program")
                nxt = c.pos + n
                sub = c.fixed(1)
                if sub == 1:  # end_sequence
                    emit(True)
                    if seq_dead:
                        del rows[seq_first:]
                    seq_first, seq_dead = len(rows), False
                    address, file, line, column = 0, 1, 1, 0
                elif sub == 2:  # set_address
                    if not 1 <= n - 1 <= 8:
                        raise _Bad("malformed line program")
                    address = c.fixed(n - 1)
                c.pos = nxt
            elif op == 1:
                emit(False)
            elif op == 2:
                address += c.uleb() * min_inst
            elif op == 3:
                line += c.sleb()
            elif op == 4:
                file = c.uleb()
            elif op == 5:
                column = c.uleb()
            elif op == 8:
                address += ((255 - opcode_base) // line_range) * min_inst
            elif op == 9:
                address += c.fixed(2)
            elif op in (6, 7, 10, 11):
                pass
            else:
                for _ in range(std_lengths[op]):
                    c.uleb()
        del rows[seq_first:]  # rows after the last end_sequence belong to no sequence
        return end

    def lookup(self, addr: int) -> Optional[SourceLocation]:
        i = bisect.bisect_right(self._addrs, addr)
        if i == 0:
            return None
        _, live, _, line, column, file = self.rows[i - 1]
        if not live or line == 0 or file is None:
            return None
        return SourceLocation(file, line, column)
