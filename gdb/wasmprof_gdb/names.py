"""The WebAssembly `name` custom section (the spec's appendix plus the
extended-name proposal), parsed from its bytes: the same reading as
csrc/observe/names.c, in Python, so that a debugger can name functions, locals and
globals of a process it may not call into.  A malformed section yields the
names read before the fault (names are a debugging aid)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

MODULE, FUNC, LOCAL, LABEL, TYPE, TABLE, MEMORY, GLOBAL, ELEM, DATA = range(10)
INDIRECT = (LOCAL, LABEL)


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def u8(self) -> int:
        if self.pos >= self.end:
            raise ValueError("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u32(self) -> int:
        value = shift = 0
        while True:
            b = self.u8()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise ValueError("LEB128 too long")

    def name(self) -> str:
        n = self.u32()
        if self.pos + n > self.end:
            raise ValueError("name past the end")
        s = self.data[self.pos : self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    """A ULEB128 at pos: (value, position after it)."""
    r = _Reader(data, pos)
    return r.u32(), r.pos


@dataclass
class Names:
    module: Optional[str] = None
    direct: dict = field(default_factory=dict)    # kind -> {index: name}
    indirect: dict = field(default_factory=dict)  # kind -> {index: {sub: name}}
    warning: Optional[str] = None

    def func(self, index: int) -> Optional[str]:
        return self.direct.get(FUNC, {}).get(index)

    def local(self, func: int, index: int) -> Optional[str]:
        return self.indirect.get(LOCAL, {}).get(func, {}).get(index)

    def global_(self, index: int) -> Optional[str]:
        return self.direct.get(GLOBAL, {}).get(index)


def parse_names(data: bytes) -> Names:
    names = Names()
    r = _Reader(data)
    try:
        while r.pos < r.end:
            kind = r.u8()
            size = r.u32()
            if r.pos + size > r.end:
                raise ValueError(f"subsection {kind} past the section's end")
            sub = _Reader(data, r.pos, r.pos + size)
            r.pos += size
            if kind == MODULE:
                names.module = sub.name()
            elif kind in INDIRECT:
                outer = names.indirect.setdefault(kind, {})
                for _ in range(sub.u32()):
                    index = sub.u32()
                    inner = outer.setdefault(index, {})
                    for _ in range(sub.u32()):
                        i = sub.u32()
                        inner[i] = sub.name()
            elif kind < 10:
                table = names.direct.setdefault(kind, {})
                for _ in range(sub.u32()):
                    i = sub.u32()
                    table[i] = sub.name()
    except ValueError as e:
        names.warning = f"name section: {e}"
    return names


def strip_rust_hash(name: str) -> str:
    """Drop a Rust legacy symbol's trailing ::h<16 hex digits>, as names.c does."""
    tail = name[-19:]
    if len(name) >= 19 and tail.startswith("::h") and all(c in "0123456789abcdef" for c in tail[3:]):
        return name[:-19]
    return name
