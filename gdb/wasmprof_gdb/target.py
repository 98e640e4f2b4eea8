"""The debugger-independent view of the inferior: a Target reads memory and
names code addresses; Mem wraps it with typed readers that return None for
anything unreadable (never raise)."""
from __future__ import annotations

import struct
from typing import Callable, Optional, Protocol

# Caps on what one read may ask for, so a corrupt length cannot make the
# debugger read gigabytes (CPython's libpython.py caps string lengths too).
MAX_READ = 64 << 20
MAX_CSTR = 4096


class Target(Protocol):
    """What a front end (GDB, LLDB) provides."""

    def read(self, addr: int, size: int) -> Optional[bytes]:
        """size bytes at addr, or None when any of them is unreadable."""

    def symbol_address(self, name: str) -> Optional[int]:
        """The address of a global symbol (ELF symbol table, no DWARF needed)."""

    def symbol_at(self, addr: int) -> Optional[str]:
        """The name of the function containing addr, if known."""

    def demangle(self, name: str) -> Optional[str]:
        """A mangled C++/Rust name demangled, or None."""


class Mem:
    """Typed, bounds-capped reads over a Target.  Every method returns None
    when the memory cannot be read."""

    def __init__(self, target: Target, pointer_size: int = 8) -> None:
        self.target = target
        self.pointer_size = pointer_size

    def read(self, addr: Optional[int], size: int) -> Optional[bytes]:
        if addr is None or addr <= 0 or size < 0 or size > MAX_READ or addr + size > 1 << 64:
            return None
        if size == 0:
            return b""
        try:
            data = self.target.read(addr, size)
        except Exception:  # a front end's own failure: unreadable, never a crash
            return None
        return data if data is not None and len(data) == size else None

    def _unpack(self, fmt: str, addr: Optional[int]) -> Optional[int]:
        data = self.read(addr, struct.calcsize(fmt))
        return None if data is None else struct.unpack(fmt, data)[0]

    def u8(self, addr: Optional[int]) -> Optional[int]:
        return self._unpack("<B", addr)

    def u32(self, addr: Optional[int]) -> Optional[int]:
        return self._unpack("<I", addr)

    def u64(self, addr: Optional[int]) -> Optional[int]:
        return self._unpack("<Q", addr)

    def ptr(self, addr: Optional[int]) -> Optional[int]:
        return self.u64(addr) if self.pointer_size == 8 else self.u32(addr)

    def array(self, addr: Optional[int], count: Optional[int], item: str) -> Optional[tuple]:
        """count little-endian items (struct format letter `item`) at addr."""
        if count is None or count < 0:
            return None
        data = self.read(addr, count * struct.calcsize(item))
        return None if data is None else struct.unpack(f"<{count}{item}", data)

    def cstr(self, addr: Optional[int], limit: int = MAX_CSTR) -> Optional[str]:
        """A NUL-terminated string, read in small chunks (a string near the end
        of a mapping must not fail because a larger read would cross it)."""
        out = b""
        while len(out) < limit:
            chunk = self.read(addr + len(out), 64) if addr else None
            if chunk is None:
                chunk = self.read(addr + len(out), 1) if addr else None
                if chunk is None:
                    return None
            nul = chunk.find(b"\0")
            if nul >= 0:
                return (out + chunk[:nul]).decode("utf-8", "replace")
            out += chunk
        return out[:limit].decode("utf-8", "replace")


def unreadable(what: str) -> str:
    """The text every command prints for memory it could not read."""
    return f"(unable to read {what})"


Demangler = Callable[[str], Optional[str]]
