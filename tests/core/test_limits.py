"""Host-set limits: wasmprof.Limits(max_memory_pages=..., max_call_depth=...).

Each limit ends in a typed error that names it, and the instance stays
usable afterwards."""

from __future__ import annotations

import pytest

import wasmprof
from helpers.wasm import instantiate, wat2wasm

MEMORY = """
(module
  (memory (export "mem") 1 100)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
"""

RECURSE = """
(module
  ;; depth(n) = n, recursing n times
  (func $depth (export "depth") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get $n) (i32.const 1)))))))
  (func $forever (export "forever") (call $forever)))
"""


def test_memory_grow_stops_at_the_limit():
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(MEMORY)), limits=wasmprof.Limits(max_memory_pages=4))
    ex = inst.exports
    assert ex.grow(2) == 1
    assert ex.size() == 3
    assert ex.grow(2) == -1  # 5 pages > 4: fails as the spec allows, nothing changes
    assert ex.size() == 3
    assert ex.grow(1) == 0 + 3
    assert ex.size() == 4
    assert ex.grow(1) == -1
    with pytest.raises(wasmprof.LimitError, match="max_memory_pages=4"):
        ex.mem.grow(1)  # the host API meets the same ceiling
    ex.poke(4 * 65536 - 4, 7)  # the instance still works
    assert ex.peek(4 * 65536 - 4) == 7
    assert ex.mem.size == 4 * 65536


def test_memory_without_limit_grows_to_its_own_max():
    ex = instantiate(MEMORY).exports
    assert ex.grow(10) == 1
    assert ex.size() == 11


def test_memory_minimum_above_the_limit_is_a_limit_error():
    module = wasmprof.Module(wat2wasm("(module (memory 8))"))
    with pytest.raises(wasmprof.LimitError, match="max_memory_pages=4") as excinfo:
        wasmprof.Instance(module, limits=wasmprof.Limits(max_memory_pages=4))
    assert "8 pages" in str(excinfo.value)
    wasmprof.Instance(module, limits=wasmprof.Limits(max_memory_pages=8))  # exactly at the limit: fine


def test_call_depth_limit():
    module = wasmprof.Module(wat2wasm(RECURSE))
    inst = wasmprof.Instance(module, limits=wasmprof.Limits(max_call_depth=100))
    ex = inst.exports
    assert ex.depth(99) == 99  # 100 frames: depth(99) .. depth(0)
    with pytest.raises(wasmprof.Trap) as excinfo:
        ex.depth(100)
    assert excinfo.value.kind == "stack_exhausted"
    assert "max_call_depth=100" in str(excinfo.value)
    assert ex.depth(50) == 50  # usable afterwards
    with pytest.raises(wasmprof.Trap, match="max_call_depth=100"):
        ex.forever()


def test_call_depth_limit_above_the_default():
    """A limit larger than the context's default (50000 frames) is honoured."""
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(RECURSE)), limits=wasmprof.Limits(max_call_depth=120000))
    assert inst.exports.depth(100000) == 100000
    with pytest.raises(wasmprof.Trap, match="max_call_depth=120000"):
        inst.exports.forever()
    # another instance without limits keeps the default
    plain = instantiate(RECURSE).exports
    with pytest.raises(wasmprof.Trap, match="max_frames=50000"):
        plain.depth(60000)
    assert plain.depth(1000) == 1000


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_call_depth"):
        wasmprof.Limits(max_call_depth=0)
    with pytest.raises(ValueError, match="max_memory_pages"):
        wasmprof.Limits(max_memory_pages=-1)
    module = wasmprof.Module(wat2wasm(MEMORY))

    class Bad:
        max_memory_pages = "many"

    with pytest.raises(ValueError, match="limits.max_memory_pages"):
        wasmprof.Instance(module, limits=Bad())
