"""Module loading at scale: what the start-up work (decode, validate every
body, instantiate) must keep exact while it is made fast.

- Module(bytes) reads the bytes object in place (no copy), holding a
  reference for as long as the module lives; any other buffer is copied.
- Local type lists of many functions share one arena: every function sees
  its own params and locals, including a huge declaration among small ones.
- The validator's stacks start on the C stack and move to the heap for deep
  bodies; validation and translation agree either way.
- Errors keep their exact offset however many valid functions come first.
"""
from __future__ import annotations

import gc
import sys
from typing import List, Tuple

import pytest

import wasmprof
from helpers.wasm import leb_s, leb_u
from helpers.builder import custom, name, section

HEADER = b"\0asm\x01\0\0\0"
I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C


def module(types: List[bytes], funcs: List[Tuple[int, bytes]], exports: List[Tuple[str, int]] = (),
           extra: bytes = b"") -> Tuple[bytes, List[int]]:
    """A module of `types` (encoded functypes) and functions (type index,
    body without its size); returns the binary and each body's module offset
    (the first byte after its size)."""
    out = bytearray(HEADER)
    out += section(1, leb_u(len(types)) + b"".join(types))
    out += section(3, leb_u(len(funcs)) + b"".join(leb_u(t) for t, _ in funcs))
    if exports:
        out += section(7, leb_u(len(exports)) + b"".join(name(n) + b"\x00" + leb_u(i) for n, i in exports))
    entries = bytearray(leb_u(len(funcs)))
    rel: List[int] = []
    for _, body in funcs:
        entries += leb_u(len(body))
        rel.append(len(entries))
        entries += body
    header = bytes([10]) + leb_u(len(entries))
    starts = [len(out) + len(header) + r for r in rel]
    out += header + entries + extra
    return bytes(out), starts


I32_TO_I32 = b"\x60\x01\x7f\x01\x7f"


def locals_decl(decls: List[Tuple[int, int]]) -> bytes:
    return leb_u(len(decls)) + b"".join(leb_u(n) + bytes([t]) for n, t in decls)


def varied_function(i: int, big: bool = False) -> Tuple[bytes, int]:
    """(i32) -> i32 with locals [a x f64, 1 x i32, b x i64]: returns
    param + i through the one i32 local, whose index depends on a.  A wrong
    local type list would make the local.set a type mismatch."""
    a = 49_000 if big else i % 37
    b = i % 11
    slot = 1 + a
    code = (b"\x20\x00" + b"\x41" + leb_s(i) + b"\x6a"   # local.get 0; i32.const i; i32.add
            + b"\x21" + leb_u(slot) + b"\x20" + leb_u(slot) + b"\x0b")
    return locals_decl([(a, F64), (1, I32), (b, I64)]) + code, slot


def test_module_from_bytes_keeps_them_alive_without_a_copy():
    data, _ = module([I32_TO_I32], [(0, varied_function(5)[0])], [("f", 0)],
                     extra=custom("note", b"payload"))
    data = bytes(data)
    before = sys.getrefcount(data)
    m = wasmprof.Module(data)
    assert sys.getrefcount(data) == before + 1  # the module reads it in place
    del data
    gc.collect()
    assert m.custom_sections == [("note", b"payload")]
    assert wasmprof.Instance(m).exports.f(10) == 15
    assert [e.name for e in m.exports] == ["f"]


def test_module_from_bytes_releases_them_with_the_module():
    data = bytes(module([I32_TO_I32], [(0, varied_function(1)[0])])[0])
    before = sys.getrefcount(data)
    m = wasmprof.Module(data)
    del m
    gc.collect()
    assert sys.getrefcount(data) == before


@pytest.mark.parametrize("kind", [bytearray, lambda b: memoryview(bytearray(b))])
def test_module_from_a_mutable_buffer_is_a_copy(kind):
    data, _ = module([I32_TO_I32], [(0, varied_function(7)[0])], [("f", 0)])
    buf = kind(data)
    m = wasmprof.Module(buf)
    target = buf.obj if isinstance(buf, memoryview) else buf
    target[:] = bytes(len(target))  # scribble over the caller's buffer
    if isinstance(buf, memoryview):
        buf.release()
    target.extend(b"more")  # no buffer export is left behind
    assert wasmprof.Instance(m).exports.f(1) == 8


def test_many_functions_see_their_own_locals():
    n = 3000
    funcs = [(0, varied_function(i, big=(i == 1500))[0]) for i in range(n)]
    picks = [0, 1, 36, 37, 255, 1499, 1500, 1501, 2999]
    data, _ = module([I32_TO_I32], funcs, [(f"f{i}", i) for i in picks])
    inst = wasmprof.Instance(wasmprof.Module(data))
    for i in picks:
        assert getattr(inst.exports, f"f{i}")(1000) == 1000 + i


def test_wrong_local_type_in_a_late_function_is_reported_exactly():
    n = 2000
    funcs = [(0, varied_function(i)[0]) for i in range(n)]
    # Function 1234 sets an f64 local (index 1) from an i32.
    bad_code = b"\x20\x00\x21\x01\x20\x00\x0b"
    bad = locals_decl([(3, F64), (1, I32)]) + bad_code
    funcs[1234] = (0, bad)
    data, starts = module([I32_TO_I32], funcs)
    with pytest.raises(wasmprof.ValidationError) as excinfo:
        wasmprof.Module(data)
    local_set = starts[1234] + len(locals_decl([(3, F64), (1, I32)])) + 2
    assert data[local_set] == 0x21
    assert excinfo.value.offset == local_set


def test_too_many_locals_is_still_refused():
    body = locals_decl([(40_000, I32), (20_000, I64)]) + b"\x20\x00\x0b"
    data, _ = module([I32_TO_I32], [(0, varied_function(0)[0]), (0, body)])
    with pytest.raises(wasmprof.DecodeError, match="too many locals"):
        wasmprof.Module(data)


def deep_body(depth: int, nesting: int) -> bytes:
    """() -> i32: `depth` constants summed by depth-1 adds, inside `nesting`
    blocks that each pass the i32 result out."""
    code = b"".join(b"\x41" + leb_s(k) for k in range(depth)) + b"\x6a" * (depth - 1)
    for _ in range(nesting):
        code = b"\x02\x7f" + code + b"\x0b"
    return b"\x00" + code + b"\x0b"


@pytest.mark.parametrize("depth,nesting", [(10, 3), (256, 16), (257, 17), (3000, 200)])
def test_deep_stacks_validate_and_run(depth, nesting):
    data, _ = module([b"\x60\x00\x01\x7f"], [(0, deep_body(depth, nesting))], [("f", 0)])
    assert wasmprof.Instance(wasmprof.Module(data)).exports.f() == depth * (depth - 1) // 2


def test_type_error_deep_in_a_big_stack_is_reported_exactly():
    depth = 1000
    code = b"".join(b"\x41" + leb_s(k) for k in range(depth))
    code += b"\x42\x00"  # an i64 on top of 1000 i32s ...
    add_at = len(code)
    code += b"\x6a"      # ... that i32.add refuses
    body = b"\x00" + code + b"\x1a" * depth + b"\x0b"
    data, starts = module([b"\x60\x00\x00"], [(0, body)])
    with pytest.raises(wasmprof.ValidationError) as excinfo:
        wasmprof.Module(data)
    assert excinfo.value.offset == starts[0] + 1 + add_at
