"""A tiny module builder for tests of debugging sections: n functions of type
() -> () whose bodies are `nop* end`, plus any custom sections.

Offsets of the bodies are returned so tests can place DWARF rows on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

from .wasm import leb_u


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + leb_u(len(payload)) + payload


def name(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return leb_u(len(b)) + b


def custom(section_name: str, payload: bytes) -> bytes:
    return section(0, name(section_name) + payload)


@dataclass
class Built:
    binary: bytes
    code_start: int           # module offset of the Code section's contents
    body_starts: List[int]    # module offset of each body entry (after its size)


def build(nfuncs: int, customs: Sequence[bytes] = (), nops: int = 4) -> Built:
    """A module with nfuncs functions; customs are appended after the code."""
    out = bytearray(b"\0asm\x01\0\0\0")
    out += section(1, leb_u(1) + b"\x60\x00\x00")
    out += section(3, leb_u(nfuncs) + b"\x00" * nfuncs)
    body = b"\x00" + b"\x01" * nops + b"\x0b"  # no locals, nops, end
    entries = bytearray(leb_u(nfuncs))
    rel_starts: List[int] = []
    for _ in range(nfuncs):
        entries += leb_u(len(body))
        rel_starts.append(len(entries))
        entries += body
    payload = bytes(entries)
    code_hdr = bytes([10]) + leb_u(len(payload))
    code_start = len(out) + len(code_hdr)
    out += code_hdr + payload
    for c in customs:
        out += c
    return Built(bytes(out), code_start, [code_start + r for r in rel_starts])


def name_map(entries: Sequence[Tuple[int, str | bytes]]) -> bytes:
    return leb_u(len(entries)) + b"".join(leb_u(i) + name(n) for i, n in entries)


def subsection(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + leb_u(len(payload)) + payload
