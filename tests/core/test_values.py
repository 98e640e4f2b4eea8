"""Converting values between Python and the guest: integer ranges and
signedness, floats, exact NaN bit patterns through call_bits, references,
multiple results and argument counts."""

from __future__ import annotations

import math
import struct

import pytest

import wasmprof
from helpers.wasm import instantiate

IDENTITY = """
(module
  (func (export "i32") (param i32) (result i32) (local.get 0))
  (func (export "i64") (param i64) (result i64) (local.get 0))
  (func (export "f32") (param f32) (result f32) (local.get 0))
  (func (export "f64") (param f64) (result f64) (local.get 0))
  (func (export "funcref") (param funcref) (result funcref) (local.get 0))
  (func (export "externref") (param externref) (result externref) (local.get 0))
  (func (export "f32_bits") (param i32) (result f32) (f32.reinterpret_i32 (local.get 0)))
  (func (export "f64_bits") (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))
  (func (export "f32_to_i32") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
  (func (export "f64_to_i64") (param f64) (result i64) (i64.reinterpret_f64 (local.get 0)))
  ;; through memory: store as float, load as integer
  (memory 1)
  (func (export "f32_via_memory") (param f32) (result i32)
    (f32.store (i32.const 8) (local.get 0)) (i32.load (i32.const 8)))
  (func (export "f64_via_memory") (param f64) (result i64)
    (f64.store (i32.const 16) (local.get 0)) (i64.load (i32.const 16)))
  ;; through a global
  (global $gf (mut f32) (f32.const 0))
  (func (export "f32_via_global") (param f32) (result f32)
    (global.set $gf (local.get 0)) (global.get $gf))
  (func (export "none"))
  (func (export "three") (result i32 i64 f64) (i32.const -1) (i64.const -2) (f64.const 0.5))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $target (result i32) (i32.const 77))
  (func (export "get_target") (result funcref) (ref.func $target))
  (elem declare func $target)
)
"""


@pytest.fixture(scope="module")
def ex():
    return instantiate(IDENTITY).exports


# ---- integers -------------------------------------------------------------------


@pytest.mark.parametrize("bits", [32, 64])
def test_int_signed_and_unsigned_results(ex, bits):
    f = ex[f"i{bits}"]
    assert f(0) == 0
    assert f(5) == 5
    assert f(-1) == -1
    assert f(2 ** (bits - 1) - 1) == 2 ** (bits - 1) - 1
    assert f(-(2 ** (bits - 1))) == -(2 ** (bits - 1))
    # Unsigned inputs up to 2^N - 1 are accepted and wrap to N bits.
    assert f(2**bits - 1) == -1
    assert f(2 ** (bits - 1)) == -(2 ** (bits - 1))
    assert f.call(-1, unsigned=True) == 2**bits - 1
    assert f.call(2**bits - 1, unsigned=True) == 2**bits - 1
    assert f.call(7, unsigned=True) == 7


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("which", ["too_big", "too_small"])
def test_int_out_of_range(ex, bits, which):
    value = 2**bits if which == "too_big" else -(2 ** (bits - 1)) - 1
    with pytest.raises((OverflowError, TypeError)):
        ex[f"i{bits}"](value)


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("value", [1.5, "1", None, b"\x01"])
def test_int_wrong_type(ex, bits, value):
    with pytest.raises(TypeError):
        ex[f"i{bits}"](value)


def test_int_arithmetic_wraps(ex):
    assert ex.add(2**31 - 1, 1) == -(2**31)
    assert ex.add.call(2**31 - 1, 1, unsigned=True) == 2**31


# ---- floats ---------------------------------------------------------------------


def f32_round(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def test_f32_values(ex):
    assert ex.f32(1.5) == 1.5
    assert ex.f32(0.1) == f32_round(0.1)
    assert ex.f32(3) == 3.0
    assert isinstance(ex.f32(3), float)
    assert ex.f32(float("inf")) == float("inf")
    assert ex.f32(-float("inf")) == -float("inf")
    assert math.isnan(ex.f32(float("nan")))
    assert math.copysign(1.0, ex.f32(-0.0)) == -1.0


def test_f64_values(ex):
    assert ex.f64(0.1) == 0.1
    assert ex.f64(-2) == -2.0
    assert isinstance(ex.f64(-2), float)
    assert ex.f64(1e308) == 1e308
    assert ex.f64(5e-324) == 5e-324
    assert math.isnan(ex.f64(float("nan")))
    assert math.copysign(1.0, ex.f64(-0.0)) == -1.0


@pytest.mark.parametrize("value", ["1.0", None, object()])
def test_float_wrong_type(ex, value):
    with pytest.raises(TypeError):
        ex.f64(value)


# ---- exact bit patterns -------------------------------------------------------

F32_NANS = [0x7FA00001, 0xFFA00001, 0x7FC00000, 0x7F800001, 0xFFFFFFFF]
F64_NANS = [0x7FF4000000000001, 0xFFF8000000000123, 0x7FF0000000000001, 0x7FF8000000000000]


@pytest.mark.parametrize("bits", F32_NANS, ids=hex)
def test_f32_nan_payload_round_trip(ex, bits):
    assert ex.f32.call_bits(bits) == (bits,)
    assert ex.f32_bits.call_bits(bits) == (bits,)
    assert ex.f32_to_i32.call_bits(bits) == (bits,)
    assert ex.f32_via_memory.call_bits(bits) == (bits,)
    assert ex.f32_via_global.call_bits(bits) == (bits,)


@pytest.mark.parametrize("bits", F64_NANS, ids=hex)
def test_f64_nan_payload_round_trip(ex, bits):
    assert ex.f64.call_bits(bits) == (bits,)
    assert ex.f64_bits.call_bits(bits) == (bits,)
    assert ex.f64_to_i64.call_bits(bits) == (bits,)
    assert ex.f64_via_memory.call_bits(bits) == (bits,)


def _stepped_bits(f, *bits):
    """f's raw results in the debugger's stepping loop, with raw arguments."""
    from wasmprof import _core

    session = _core.DebugSession(f.instance, 0, 0, 0, False)
    session.call(f, list(bits), True)
    assert session.resume(steps=0) == "returned"
    return tuple(session.results(True))


@pytest.mark.parametrize("bits", F32_NANS + F64_NANS, ids=hex)
def test_nan_payloads_round_trip_in_the_ticked_and_stepping_loops(ex, bits):
    funcs = (ex.f32_via_memory, ex.f32_bits) if bits >> 32 == 0 else (ex.f64_via_memory, ex.f64_bits)
    for f in funcs:
        assert f.call_bits(bits, max_ticks=10**6) == (bits,)
        assert _stepped_bits(f, bits) == (bits,)


def test_call_bits_takes_max_ticks_only(ex):
    with pytest.raises(wasmprof.LimitError):
        ex.f32_via_memory.call_bits(0, max_ticks=1)
    with pytest.raises(TypeError, match="call_bits"):
        ex.f32.call_bits(0, unsigned=True)
    assert ex.i32.call_bits(7, max_ticks=None) == (7,)


def test_call_bits_integers_are_unsigned(ex):
    assert ex.i32.call_bits(0xFFFFFFFF) == (0xFFFFFFFF,)
    assert ex.i64.call_bits(2**64 - 1) == (2**64 - 1,)
    assert ex.three.call_bits() == (0xFFFFFFFF, 2**64 - 2, 0x3FE0000000000000)
    assert ex.none.call_bits() == ()


def test_call_bits_refs(ex):
    assert ex.funcref.call_bits(0) == (0,)
    assert ex.externref.call_bits(0) == (0,)


# ---- results ---------------------------------------------------------------------


def test_result_arity(ex):
    assert ex.none() is None
    assert ex.i32(1) == 1
    assert ex.three() == (-1, -2, 0.5)
    assert ex.three.call(unsigned=True) == (2**32 - 1, 2**64 - 2, 0.5)


def test_wrong_argument_count(ex):
    with pytest.raises(TypeError):
        ex.add(1)
    with pytest.raises(TypeError):
        ex.add(1, 2, 3)
    with pytest.raises(TypeError):
        ex.none(1)


# ---- references -----------------------------------------------------------------


def test_funcref_values(ex):
    assert ex.funcref(None) is None
    target = ex.get_target()
    assert isinstance(target, wasmprof.Func)
    assert target() == 77
    back = ex.funcref(target)
    assert isinstance(back, wasmprof.Func)
    assert back() == 77
    assert ex.funcref(ex.add)(20, 22) == 42
    with pytest.raises(TypeError):
        ex.funcref(42)


def test_externref_values(ex):
    token = object()
    assert ex.externref(token) is token
    assert ex.externref(None) is None
    payload = {"a": [1, 2]}
    assert ex.externref(payload) is payload
    assert ex.externref(0) == 0
