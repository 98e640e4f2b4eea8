"""Modules built to hurt the host: the largest table, memory or number of
locals the binary format can ask for, deep block nesting, a 100 MB name
section, a guest looping inside a host call.  Each ends in a typed error
(wasmprof.Error and its subclasses, MemoryError for an allocation the
machine cannot give) or a bounded run, and this process lives on: the
instance or module stays usable where the spec allows.  The sanitizer pass
of .ci/run (build/asan) runs them too."""
from __future__ import annotations

import threading
import time

import pytest

import wasmprof
from helpers.builder import custom, name, name_map, section, subsection
from helpers.wasm import leb_u, wat2wasm

I32 = 0x7F
I64 = 0x7E
TYPED = (wasmprof.Error, MemoryError)


def one_func(body: bytes, locals_: bytes = b"\x00", result: bool = False, extra_sections: bytes = b"",
             customs: bytes = b"") -> bytes:
    """A module with one function "f" of type () -> () (or () -> i32):
    locals_ is its local declarations (count, then (n, type) pairs), body its
    instructions up to and including the final end."""
    out = bytearray(b"\0asm\x01\0\0\0")
    out += section(1, leb_u(1) + b"\x60\x00" + (b"\x01\x7f" if result else b"\x00"))
    out += section(3, leb_u(1) + b"\x00")
    out += extra_sections
    out += section(7, leb_u(1) + name("f") + b"\x00\x00")
    entry = locals_ + body
    out += section(10, leb_u(1) + leb_u(len(entry)) + entry)
    out += customs
    return bytes(out)


# ---- the largest table ----------------------------------------------------------------------------------

@pytest.mark.parametrize("minimum", [0xFFFF_FFFF, 0x1000_0000])
def test_largest_table_minimum_is_a_typed_error_or_a_table(minimum: int) -> None:
    """A table of 2^32-1 (or 2^28) funcrefs: 32 GiB (2 GiB) of elements."""
    module = wasmprof.Module(wat2wasm(f"(module (table (export \"t\") {minimum} funcref))"))
    try:
        inst = wasmprof.Instance(module)
    except TYPED as e:
        assert "table" in str(e) or isinstance(e, MemoryError), e
    else:
        assert len(inst.exports.t) == minimum


def test_table_grow_to_the_largest_size_fails_in_the_guest() -> None:
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm("""(module (table 1 funcref)
      (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
      (func (export "size") (result i32) (table.size)))""")))
    assert inst.exports.grow.call(0xFFFF_FFFF, unsigned=True) == 0xFFFF_FFFF  # -1: the spec lets it fail
    assert inst.exports.size() == 1
    assert inst.exports.grow(10) == 1 and inst.exports.size() == 11


# ---- the largest memory -----------------------------------------------------------------------------------

def test_largest_memory_is_all_there() -> None:
    """65536 pages (4 GiB), all of it addressable; growing further fails."""
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm("""(module (memory (export "m") 65536)
      (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "load_past") (result i32) (i32.load (i32.const 0xFFFFFFFE))))""")))
    inst.exports.poke(-1, 7)  # the last byte
    assert inst.exports.peek.call(0xFFFF_FFFF, unsigned=True) == 7
    assert inst.exports.grow(1) == -1
    with pytest.raises(wasmprof.Trap) as trap:
        inst.exports.load_past()
    assert trap.value.kind == "memory_oob"
    assert inst.exports.m.pages == 65536


def test_memory_past_the_largest_is_invalid() -> None:
    binary = bytes(b"\0asm\x01\0\0\0" + section(5, leb_u(1) + b"\x00" + leb_u(65537)))
    with pytest.raises(wasmprof.ValidationError):
        wasmprof.Module(binary)


def test_largest_memory_under_a_host_limit_is_a_limit_error() -> None:
    module = wasmprof.Module(wat2wasm("(module (memory 65536))"))
    with pytest.raises(wasmprof.LimitError):
        wasmprof.Instance(module, limits=wasmprof.Limits(max_memory_pages=16))


# ---- the largest number of locals --------------------------------------------------------------------------

@pytest.mark.parametrize("groups", [
    [(0xFFFF_FFFF, I64)],                      # one declaration of 2^32-1 locals
    [(0xFFFF_FFFF, I32), (0xFFFF_FFFF, I32)],  # two that overflow 32 bits together
    [(0x1000_0000, I64)] * 4,                  # 2^30 locals: 8 GiB of zeroes per call
])
def test_huge_local_counts_are_typed_errors(groups: list[tuple[int, int]]) -> None:
    locals_ = leb_u(len(groups)) + b"".join(leb_u(n) + bytes([t]) for n, t in groups)
    binary = one_func(b"\x0b", locals_)
    try:
        inst = wasmprof.Instance(wasmprof.Module(binary))
        inst.exports.f()
    except TYPED as e:
        assert "local" in str(e) or "stack" in str(e) or isinstance(e, MemoryError), e
    else:
        pytest.fail("a function with more than 2^30 locals ran")


def test_many_locals_within_reason_run() -> None:
    """50,000 locals (wasmtime's limit), the last one read back."""
    locals_ = leb_u(1) + leb_u(50_000) + bytes([I32])
    body = b"\x41\x07" + b"\x21" + leb_u(49_999) + b"\x20" + leb_u(49_999) + b"\x0b"  # local.set/get 49999
    inst = wasmprof.Instance(wasmprof.Module(one_func(body, locals_, result=True)))
    assert inst.exports.f() == 7


def test_many_locals_times_deep_recursion_exhausts_the_stack_not_the_host() -> None:
    """Each frame zeroes 50,000 locals; recursing fills the value stack: a trap."""
    locals_ = leb_u(1) + leb_u(50_000) + bytes([I64])
    body = b"\x10\x00\x0b"  # call 0 (itself), forever
    inst = wasmprof.Instance(wasmprof.Module(one_func(body, locals_)))
    with pytest.raises(wasmprof.Trap) as trap:
        inst.exports.f()
    assert trap.value.kind == "stack_exhausted"
    with pytest.raises(wasmprof.Trap):
        inst.exports.f()  # again: the context was left clean


# ---- deep block nesting -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_deep_block_nesting_validates_and_runs(depth: int) -> None:
    body = b"\x02\x40" * depth + b"\x0b" * depth + b"\x41\x2a\x0b"  # block*, end*, i32.const 42
    try:
        inst = wasmprof.Instance(wasmprof.Module(one_func(body, result=True)))
    except TYPED as e:  # an implementation limit, said as such
        assert "nest" in str(e) or "block" in str(e) or isinstance(e, MemoryError), e
        return
    assert inst.exports.f() == 42
    assert inst.exports.f.call(max_ticks=10 * depth) == 42


def test_deep_nesting_with_a_branch_out_of_all_of_it() -> None:
    depth = 100_000
    body = b"\x02\x40" * depth + b"\x0c" + leb_u(depth - 1) + b"\x0b" * depth + b"\x41\x01\x0b"
    inst = wasmprof.Instance(wasmprof.Module(one_func(body, result=True)))
    assert inst.exports.f() == 1


def test_unclosed_deep_nesting_is_a_decode_error() -> None:
    body = b"\x02\x40" * 100_000 + b"\x0b"
    with pytest.raises((wasmprof.DecodeError, wasmprof.ValidationError)):
        wasmprof.Module(one_func(body))


# ---- a 100 MB name section ----------------------------------------------------------------------------------------

def _trapping_module_with_names(names_payload: bytes) -> bytes:
    return one_func(b"\x00\x0b", customs=custom("name", names_payload))  # unreachable


def test_a_100mb_function_name_loads_lazily_and_names_the_trap() -> None:
    huge = b"_ZN" + b"a" * (100 * 1024 * 1024) + b"E"
    binary = _trapping_module_with_names(subsection(1, name_map([(0, huge)])))
    started = time.monotonic()
    module = wasmprof.Module(binary)
    inst = wasmprof.Instance(module)
    loaded = time.monotonic() - started
    with pytest.raises(wasmprof.Trap) as trap:
        inst.exports.f()
    assert trap.value.kind == "unreachable"
    assert loaded < 60  # loading reads no name (not a timing claim: a hang would fail here rather than time out)
    inst.exports.f  # still there
    with pytest.raises(wasmprof.Trap):
        inst.exports.f()


def test_a_100mb_name_section_of_many_entries() -> None:
    entries = [(i, f"function_{i:08d}" + "x" * 80) for i in range(1_000_000)]  # ~100 MB
    payload = subsection(1, name_map(entries))
    assert len(payload) > 95 * 1024 * 1024
    module = wasmprof.Module(_trapping_module_with_names(payload))
    with pytest.raises(wasmprof.Trap) as trap:
        wasmprof.Instance(module).exports.f()
    assert trap.value.kind == "unreachable"


def test_a_100mb_malformed_name_section_is_ignored_not_fatal() -> None:
    """A function-name count that promises far more entries than the section holds."""
    payload = subsection(1, leb_u(0xFFFF_FFFF) + (leb_u(0) + name("f")) * 10) + b"\xff" * (100 * 1024 * 1024)
    module = wasmprof.Module(_trapping_module_with_names(payload))
    with pytest.raises(wasmprof.Trap) as trap:
        wasmprof.Instance(module).exports.f()
    assert trap.value.kind == "unreachable"


# ---- a guest looping inside a host call ---------------------------------------------------------------------------

LOOP_IN_HOST = """(module
  (import "env" "host" (func $host))
  (func (export "spin") (loop $l (br $l)))
  (func (export "outer") (call $host)))"""


def _looping_in_a_host_call():
    box: dict = {}

    def host() -> None:
        box["inst"].exports.spin()  # the guest, re-entered from the host, never returns

    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(LOOP_IN_HOST)),
                             {"env": {"host": wasmprof.Func(host, params=[], results=[])}})
    box["inst"] = inst
    return inst


def test_guest_looping_in_a_host_call_stops_at_the_tick_limit() -> None:
    inst = _looping_in_a_host_call()
    with pytest.raises(wasmprof.LimitError):
        inst.exports.outer.call(max_ticks=1_000_000)
    with pytest.raises(wasmprof.LimitError):
        inst.exports.outer.call(max_ticks=10)  # usable again


def test_guest_looping_in_a_host_call_is_interrupted() -> None:
    inst = _looping_in_a_host_call()
    timer = threading.Timer(0.2, wasmprof.interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            inst.exports.outer()
    finally:
        timer.cancel()
    with pytest.raises(wasmprof.LimitError):
        inst.exports.outer.call(max_ticks=100)


def test_guest_recursing_through_host_calls_is_bounded() -> None:
    """guest -> host -> guest -> host ... : the nesting of host-to-guest
    entries has a ceiling (a trap), so the C stack never overflows."""
    box: dict = {}

    def host() -> None:
        box["inst"].exports.outer()

    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(LOOP_IN_HOST)),
                             {"env": {"host": wasmprof.Func(host, params=[], results=[])}})
    box["inst"] = inst
    with pytest.raises((wasmprof.Trap, RecursionError)) as e:
        inst.exports.outer()
    assert isinstance(e.value, RecursionError) or e.value.kind == "stack_exhausted"
    with pytest.raises(wasmprof.LimitError):
        _looping_in_a_host_call().exports.outer.call(max_ticks=100)
