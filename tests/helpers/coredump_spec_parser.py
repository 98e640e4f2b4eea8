"""An independent reader of WebAssembly coredumps, written for the tests from
the tool-conventions text (Coredump.md) and the core binary format alone; it
shares no code with wasmprof.coredump, so that the two check each other.

    core          ::= customsec(0x0 executable-name:name)
    coremodules   ::= customsec(vec(0x0 module-name:name))
    coreinstances ::= customsec(vec(0x0 moduleidx:u32 memories:vec(u32) globals:vec(u32)))
    corestack     ::= customsec(0x0 thread-name:name vec(frame))
    frame         ::= 0x0 instanceidx:u32 funcidx:u32 codeoffset:u32 locals:vec(value) stack:vec(value)
    value         ::= 0x01 | 0x7F n:i32 | 0x7E n:i64 | 0x7D n:f32 | 0x7C n:f64

Values come back as (type, raw unsigned bits) with type None for 0x01;
memories as (min pages, max or None, {offset: bytes}); globals as
(type byte, mutable, raw bits or None).
"""

from __future__ import annotations

import struct


class Cursor:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def u8(self) -> int:
        assert self.pos < self.end, "unexpected end"
        self.pos += 1
        return self.data[self.pos - 1]

    def raw(self, n: int) -> bytes:
        assert self.pos + n <= self.end, "unexpected end"
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def u32(self) -> int:
        value = shift = 0
        while True:
            b = self.u8()
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                assert value < 2**32
                return value

    def sint(self, bits: int) -> int:
        value = shift = 0
        while True:
            b = self.u8()
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                if b & 0x40:
                    value -= 1 << shift
                assert -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)
                return value

    def name(self) -> str:
        return self.raw(self.u32()).decode("utf-8")

    def vec(self, item):
        return [item() for _ in range(self.u32())]

    def at_end(self) -> bool:
        return self.pos == self.end


def value(c: Cursor):
    t = c.u8()
    if t == 0x01:
        return (None, None)
    if t == 0x7F:
        return ("i32", c.sint(32) & 0xFFFFFFFF)
    if t == 0x7E:
        return ("i64", c.sint(64) & 0xFFFFFFFFFFFFFFFF)
    if t == 0x7D:
        return ("f32", struct.unpack("<I", c.raw(4))[0])
    if t == 0x7C:
        return ("f64", struct.unpack("<Q", c.raw(8))[0])
    raise AssertionError(f"bad value type {t:#x}")


def const_expr(c: Cursor):
    op = c.u8()
    if op == 0x41:
        v = c.sint(32) & 0xFFFFFFFF
    elif op == 0x42:
        v = c.sint(64) & 0xFFFFFFFFFFFFFFFF
    elif op == 0x43:
        v = struct.unpack("<I", c.raw(4))[0]
    elif op == 0x44:
        v = struct.unpack("<Q", c.raw(8))[0]
    elif op == 0xD0:
        c.u8()
        v = None
    else:
        raise AssertionError(f"unexpected constant opcode {op:#x}")
    assert c.u8() == 0x0B
    return v


def parse(data: bytes) -> dict:
    assert data[:8] == b"\0asm\x01\0\0\0"
    c = Cursor(data, 8)
    out: dict = {"custom_order": [], "stacks": [], "memories": [], "globals": []}
    while not c.at_end():
        sid = c.u8()
        size = c.u32()
        s = Cursor(data, c.pos, c.pos + size)
        c.pos += size
        if sid == 0:
            name = s.name()
            out["custom_order"].append(name)
            if name == "core":
                assert s.u8() == 0
                out["executable"] = s.name()
            elif name == "coremodules":
                def module():
                    assert s.u8() == 0
                    return s.name()
                out["modules"] = s.vec(module)
            elif name == "coreinstances":
                def instance():
                    assert s.u8() == 0
                    return (s.u32(), s.vec(s.u32), s.vec(s.u32))
                out["instances"] = s.vec(instance)
            elif name == "corestack":
                assert s.u8() == 0
                thread = s.name()

                def frame():
                    assert s.u8() == 0
                    return {
                        "instance": s.u32(),
                        "func": s.u32(),
                        "offset": s.u32(),
                        "locals": s.vec(lambda: value(s)),
                        "stack": s.vec(lambda: value(s)),
                    }
                out["stacks"].append((thread, s.vec(frame)))
            else:
                continue
        elif sid == 5:
            def memory():
                flags = s.u8()
                lo = s.u32()
                return [lo, s.u32() if flags & 1 else None, {}]
            out["memories"] = s.vec(memory)
        elif sid == 6:
            def global_():
                t, mut = s.u8(), s.u8()
                return (t, mut, const_expr(s))
            out["globals"] = s.vec(global_)
        elif sid == 11:
            for _ in range(s.u32()):
                flags = s.u32()
                assert flags in (0, 2), "only active segments in a coredump"
                mem = s.u32() if flags == 2 else 0
                offset = const_expr(s)
                out["memories"][mem][2][offset] = s.raw(s.u32())
        else:
            continue
        assert s.at_end(), f"section {sid} has trailing bytes"
    return out


def memory_bytes(mem, addr: int, n: int) -> bytes:
    """n bytes at addr of a parsed memory (zero where no segment)."""
    buf = bytearray(n)
    for off, data in mem[2].items():
        for i, b in enumerate(data):
            if addr <= off + i < addr + n:
                buf[off + i - addr] = b
    return bytes(buf)
