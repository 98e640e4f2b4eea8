"""Many instances: each is freed as soon as its last reference goes (no
reference cycle between an Instance, its exports and its host functions
waits for the cycle collector), and its reserved linear-memory range (4 GiB
of address space for a memory without a maximum) is given back.  The
process's RSS and VmSize (/proc/self/status) are measured around 10,000
instances made and dropped one after another and 1,000 alive at once, with
the cycle collector off; the bounds are generous (allocator slack), far
below what a leak of one instance per iteration would cost."""
from __future__ import annotations

import gc
import weakref
from contextlib import contextmanager

import pytest

import wasmprof
from helpers.wasm import wat2wasm

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# A memory without a maximum (the largest reservation), a table, a global,
# a host import, and a function that writes a page of memory (so RSS would
# show every leaked instance).
WAT = """(module
  (import "env" "seed" (func $seed (result i32)))
  (memory (export "memory") 1)
  (table (export "table") 2 funcref)
  (global (export "g") (mut i32) (i32.const 0))
  (elem (i32.const 0) $touch)
  (func $touch (export "touch") (param $k i32) (result i32) (local $i i32)
    (global.set 0 (call $seed))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const 65536)))
      (i32.store (local.get $i) (i32.add (local.get $k) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (i32.add (global.get 0) (i32.load (i32.const 65532)))))"""

MODULE = wasmprof.Module(wat2wasm(WAT))
IMPORTS = {"env": {"seed": wasmprof.Func(lambda: 5, params=[], results=["i32"])}}


def _status_kib() -> dict[str, int]:
    """VmRSS and VmSize of this process, in KiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmSize"):
                out[key] = int(value.split()[0])
    return out


@contextmanager
def _no_cycle_collector():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _use(inst: wasmprof.Instance, k: int) -> int:
    """Touch every kind of export, as a user would."""
    exports = inst.exports
    got = exports.touch(k)
    assert exports.table[0] is not None and exports.g.value == 5
    assert exports.memory.read(65532, 4) == (k + 65532).to_bytes(4, "little")
    return got


def test_an_instance_goes_with_its_last_reference() -> None:
    with _no_cycle_collector():
        inst = wasmprof.Instance(MODULE, IMPORTS)
        touch, memory, table, exports = inst.exports.touch, inst.exports.memory, inst.exports.table, inst.exports
        assert inst.exports.touch is touch and inst.exports is exports  # the same objects while held
        assert _use(inst, 1) == 5 + 1 + 65532
        gone = weakref.ref(inst)
        del inst, exports
        assert gone() is not None  # the wrappers keep it alive
        assert touch(2) == 5 + 2 + 65532 and memory.read(0, 4) == (2).to_bytes(4, "little")
        del touch, memory
        assert gone() is not None and table[0] is not None
        del table
        assert gone() is None


def test_10000_instances_made_and_dropped_keep_memory_flat(capsys: pytest.CaptureFixture[str]) -> None:
    with _no_cycle_collector():
        for k in range(200):  # warm up: caches, the allocator's arenas
            _use(wasmprof.Instance(MODULE, IMPORTS), k)
        before = _status_kib()
        for k in range(10_000):
            inst = wasmprof.Instance(MODULE, IMPORTS)
            assert _use(inst, k) == 5 + k + 65532
            del inst
        after = _status_kib()
    with capsys.disabled():
        print(f"\n10,000 instances made and dropped: VmRSS {before['VmRSS']} -> {after['VmRSS']} KiB, "
              f"VmSize {before['VmSize']} -> {after['VmSize']} KiB")
    # A leaked instance would keep its page (64 KiB: 625 MiB for 10,000) and
    # its reservation (4 GiB each).
    assert after["VmRSS"] - before["VmRSS"] < 64 * MIB // KIB
    assert after["VmSize"] - before["VmSize"] < 256 * MIB // KIB


def test_1000_instances_alive_at_once_then_released(capsys: pytest.CaptureFixture[str]) -> None:
    with _no_cycle_collector():
        _use(wasmprof.Instance(MODULE, IMPORTS), 0)
        before = _status_kib()
        alive = [wasmprof.Instance(MODULE, IMPORTS) for _ in range(1000)]
        assert [_use(inst, k) for k, inst in enumerate(alive)] == [5 + k + 65532 for k in range(1000)]
        # each is its own: the first still holds what it wrote
        assert alive[0].exports.memory.read(65532, 4) == (65532).to_bytes(4, "little")
        during = _status_kib()
        del alive
        after = _status_kib()
    with capsys.disabled():
        print(f"\n1,000 instances alive: VmRSS {before['VmRSS']} -> {during['VmRSS']} -> {after['VmRSS']} KiB, "
              f"VmSize {before['VmSize']} -> {during['VmSize']} -> {after['VmSize']} KiB")
    assert during["VmSize"] - before["VmSize"] >= 1000 * 4 * GIB // KIB  # each reserved its 4 GiB
    assert during["VmRSS"] - before["VmRSS"] < 1000 * 512  # 64 KiB touched each, plus bookkeeping
    assert after["VmSize"] - before["VmSize"] < 256 * MIB // KIB  # every reservation released
    assert after["VmRSS"] - before["VmRSS"] < 64 * MIB // KIB


def test_linked_instances_go_with_their_last_reference() -> None:
    """An instance whose function sits in another instance's table lives as
    long as that table's instance (keepalive.c), then goes with it."""
    provider_wat = """(module (func (export "five") (result i32) (i32.const 5)))"""
    holder_wat = """(module (import "p" "five" (func $f (result i32)))
      (type $t (func (result i32))) (table 1 funcref) (elem (i32.const 0) $f)
      (func (export "call") (result i32) (call_indirect (type $t) (i32.const 0))))"""
    holder_module = wasmprof.Module(wat2wasm(holder_wat))
    provider_module = wasmprof.Module(wat2wasm(provider_wat))
    with _no_cycle_collector():
        before = _status_kib()
        for _ in range(2000):
            provider = wasmprof.Instance(provider_module)
            holder = wasmprof.Instance(holder_module, {"p": provider.exports})
            gone = weakref.ref(provider)
            del provider
            assert holder.exports.call() == 5
            del holder
            assert gone() is None
        after = _status_kib()
    assert after["VmRSS"] - before["VmRSS"] < 32 * MIB // KIB
