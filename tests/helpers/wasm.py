"""WebAssembly for tests: assembling text (with the wasmtime package),
instantiating, and a little binary reader (LEB128, sections, function
bodies, instruction offsets) for checking the offsets errors report."""
from __future__ import annotations


def wat2wasm(text: str) -> bytes:
    """Assemble a WebAssembly text module to its binary encoding."""
    import wasmtime

    return bytes(wasmtime.wat2wasm(text))


def instantiate(text: str, imports=None):
    """Assemble, decode and instantiate a text module; returns the Instance."""
    import wasmprof

    return wasmprof.Instance(wasmprof.Module(wat2wasm(text)), imports)


def read_leb_u(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at pos; returns (value, next position)."""
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def leb_s(value: int) -> bytes:
    """Encode a signed LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def leb_u(value: int) -> bytes:
    """Encode an unsigned LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sections(binary: bytes) -> list[tuple[int, int, int]]:
    """The sections of a module as (id, payload start, payload end)."""
    assert binary[:8] == b"\0asm\x01\0\0\0"
    out = []
    pos = 8
    while pos < len(binary):
        sid = binary[pos]
        size, start = read_leb_u(binary, pos + 1)
        out.append((sid, start, start + size))
        pos = start + size
    return out


def _skip_limits(binary: bytes, pos: int) -> int:
    flags = binary[pos]
    _, pos = read_leb_u(binary, pos + 1)
    if flags & 1:
        _, pos = read_leb_u(binary, pos)
    return pos


def imported_func_count(binary: bytes) -> int:
    """How many of the module's imports are functions."""
    count = 0
    for sid, start, _end in sections(binary):
        if sid != 2:
            continue
        n, pos = read_leb_u(binary, start)
        for _ in range(n):
            for _name in range(2):
                length, pos = read_leb_u(binary, pos)
                pos += length
            kind = binary[pos]
            pos += 1
            if kind == 0:  # func: type index
                _, pos = read_leb_u(binary, pos)
                count += 1
            elif kind == 1:  # table: reftype, limits
                pos = _skip_limits(binary, pos + 1)
            elif kind == 2:  # memory: limits
                pos = _skip_limits(binary, pos)
            elif kind == 3:  # global: valtype, mutability
                pos += 2
            else:
                raise ValueError(f"unknown import kind {kind}")
    return count


def func_body_range(binary: bytes, func_index: int) -> tuple[int, int]:
    """(start, end) module offsets of a defined function's body (its locals
    declarations and instructions, up to and including the final `end`)."""
    defined = func_index - imported_func_count(binary)
    assert defined >= 0, "imported functions have no body"
    for sid, start, _end in sections(binary):
        if sid != 10:
            continue
        n, pos = read_leb_u(binary, start)
        for i in range(n):
            size, pos = read_leb_u(binary, pos)
            if i == defined:
                return pos, pos + size
            pos += size
    raise ValueError(f"no body for function {func_index}")


def instr_offset(binary: bytes, func_index: int, opcode: bytes) -> int:
    """The module offset of the one occurrence of the byte string `opcode`
    in the instructions of function func_index (after its locals
    declarations; the test modules are written so that it is unique)."""
    start, end = func_body_range(binary, func_index)
    ndecls, start = read_leb_u(binary, start)
    for _ in range(ndecls):
        _, start = read_leb_u(binary, start)
        start += 1  # value type
    body = binary[start:end]
    first = body.find(opcode)
    assert first >= 0, f"opcode {opcode.hex()} not in function {func_index}"
    assert body.find(opcode, first + 1) < 0, f"opcode {opcode.hex()} is not unique in function {func_index}"
    return start + first
