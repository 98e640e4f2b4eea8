"""Native imports through libffi: wasmprof.native() and native_library().

libm's cos, pow and ldexp, and tests/native/testlib.c (compiled here with
cc -shared -fPIC) taking and returning all four number types, are called
from guests, and the results compared with the same C functions called
through ctypes (or Python's own math, which wraps the same libm)."""

from __future__ import annotations

import ctypes
import math
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import wasmprof
from helpers.env import native_env
from helpers.paths import TESTS
from helpers.wasm import instantiate

LIBM = "libm.so.6"


@pytest.fixture(scope="module")
def testlib(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("cc not found")
    out = tmp_path_factory.mktemp("native") / "libwptest.so"
    proc = subprocess.run(
        [cc, "-shared", "-fPIC", "-O1", "-o", str(out), str(TESTS / "native" / "testlib.c")],
        env=native_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def f32(x: float) -> float:
    """x rounded to single precision, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


LIBM_WAT = """
(module
  (import "m" "cos" (func $cos (param f64) (result f64)))
  (import "m" "pow" (func $pow (param f64 f64) (result f64)))
  (import "m" "ldexp" (func $ldexp (param f64 i32) (result f64)))
  (import "m" "cosf" (func $cosf (param f32) (result f32)))
  (func (export "cos") (param f64) (result f64) (call $cos (local.get 0)))
  (func (export "pow") (param f64 f64) (result f64) (call $pow (local.get 0) (local.get 1)))
  (func (export "ldexp") (param f64 i32) (result f64) (call $ldexp (local.get 0) (local.get 1)))
  (func (export "cosf") (param f32) (result f32) (call $cosf (local.get 0)))
  ;; a loop of native calls: sum of cos(i) for i < n
  (func (export "cos_sum") (param $n i32) (result f64) (local $i i32) (local $s f64)
    (block $done (loop $next
      (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
      (local.set $s (f64.add (local.get $s) (call $cos (f64.convert_i32_s (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s)))
"""


def test_libm_as_import_module():
    inst = instantiate(LIBM_WAT, {"m": wasmprof.native_library(LIBM)})
    ex = inst.exports
    libm = ctypes.CDLL(LIBM)
    libm.cosf.restype = ctypes.c_float
    libm.cosf.argtypes = [ctypes.c_float]
    for x in (0.0, 0.5, 1.0, -2.25, 1e10, math.pi):
        assert ex.cos(x) == math.cos(x)
        assert ex.cosf(x) == libm.cosf(f32(x))
    assert ex.pow(2.0, 10.0) == 1024.0
    assert ex.pow(1.5, -2.5) == math.pow(1.5, -2.5)
    assert ex.ldexp(0.75, 4) == 12.0
    assert ex.ldexp(3.0, -2) == 0.75  # a negative i32 reaches C as a negative int
    assert ex.ldexp(1.0, -1074) == math.ldexp(1.0, -1074)
    assert math.isnan(ex.cos(math.nan))
    assert ex.cos_sum(1000) == sum(math.cos(i) for i in range(1000))


def test_native_with_declared_signature():
    cos = wasmprof.native(LIBM, "cos", params=["f64"], results=["f64"])
    assert isinstance(cos, wasmprof.Func)
    assert cos.type == wasmprof.FuncType(("f64",), ("f64",))
    assert cos(0.25) == math.cos(0.25)  # callable from Python too
    inst = instantiate(LIBM_WAT.replace('"m" "cos"', '"env" "c"'), {"env": {"c": cos}, "m": wasmprof.native_library(LIBM)})
    assert inst.exports.cos(2.0) == math.cos(2.0)


def test_native_signature_from_import():
    sym = wasmprof.native(LIBM, "pow")
    assert isinstance(sym, wasmprof.NativeSymbol)
    wat = """(module (import "env" "p" (func $p (param f64 f64) (result f64)))
      (func (export "f") (param f64 f64) (result f64) (call $p (local.get 0) (local.get 1))))"""
    assert instantiate(wat, {"env": {"p": sym}}).exports.f(3.0, 4.0) == 81.0


MIX_WAT = """
(module
  (import "t" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
  (import "t" "mix_i32" (func $mix_i32 (param i32 i64 f32 f64) (result i32)))
  (import "t" "mix_i64" (func $mix_i64 (param i64 i32 f64 f32) (result i64)))
  (import "t" "mix_f32" (func $mix_f32 (param f32 f64 i32 i64) (result f32)))
  (import "t" "negate_i32" (func $negate_i32 (param i32) (result i32)))
  (import "t" "widen_i32" (func $widen_i32 (param i32) (result i64)))
  (import "t" "bump" (func $bump))
  (import "t" "get_counter" (func $get_counter (result i32)))
  (import "t" "sum20" (func $sum20 (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
                                          i64 i64 i64 i64 i64 i64 i64 i64 i64 i32) (result i64)))
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    (call $mix (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "mix_i32") (param i32 i64 f32 f64) (result i32)
    (call $mix_i32 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "mix_i64") (param i64 i32 f64 f32) (result i64)
    (call $mix_i64 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "mix_f32") (param f32 f64 i32 i64) (result f32)
    (call $mix_f32 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "negate_i32") (param i32) (result i32) (call $negate_i32 (local.get 0)))
  (func (export "widen_i32") (param i32) (result i64) (call $widen_i32 (local.get 0)))
  (func (export "bump3") (result i32) (call $bump) (call $bump) (call $bump) (call $get_counter))
  (func (export "sum20") (result i64)
    (call $sum20 (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)
      (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11) (i64.const 12) (i64.const 13)
      (i64.const 14) (i64.const 15) (i64.const 16) (i64.const 17) (i64.const 18) (i64.const 0x100000000)
      (i32.const -20)))
)
"""


def c_functions(path: Path) -> ctypes.CDLL:
    """The test library through ctypes: the reference results."""
    lib = ctypes.CDLL(str(path))
    i32, i64, f, d = ctypes.c_int32, ctypes.c_int64, ctypes.c_float, ctypes.c_double
    for name, res, args in [
        ("mix", d, [i32, i64, f, d]),
        ("mix_i32", i32, [i32, i64, f, d]),
        ("mix_i64", i64, [i64, i32, d, f]),
        ("mix_f32", f, [f, d, i32, i64]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


CASES = [
    (1, 2, 0.5, 0.25),
    (-7, -(2**40) - 3, -1.75, 1e300),
    (2**31 - 1, 2**62, 3.0e38, -2.5),
    (-(2**31), -(2**63), -0.0, 123456.789),
]


def test_all_four_types_through_a_built_library(testlib):
    inst = instantiate(MIX_WAT, {"t": wasmprof.native_library(testlib)})
    ex = inst.exports
    ref = c_functions(testlib)
    for a, b, c, d in CASES:
        c = f32(c)
        assert ex.mix(a, b, c, d) == ref.mix(a, b, c, d)
        assert ex.mix_i32(a, b, c, d) == ref.mix_i32(a, b, c, d)
        assert ex.mix_i64(b, a, d, c) == ref.mix_i64(b, a, d, c)
        assert ex.mix_f32(c, d, a, b) == ref.mix_f32(c, d, a, b)
    # exact values, worked by hand
    assert ex.mix(1, 2, 0.5, 0.25) == 1 + 4 + 2 + 2
    assert ex.mix_i32(1, 3 << 32, 2.0, 10.0) == 3 + 3 - 2 + 10
    assert ex.mix_i64(10, 7, 3.0, 2.0) == 50 - 7 + 6
    assert ex.mix_f32(1.0, 2.0, 3, 4) == 0.5 + 2 + 3 - 4
    assert ex.negate_i32(5) == -5
    assert ex.negate_i32(-(2**31)) == -(2**31)
    assert ex.widen_i32(-1) == -1
    assert ex.widen_i32(-(2**31)) == -(2**31)
    assert ex.bump3() == 3
    assert ex.bump3() == 6
    assert ex.sum20() == sum(range(1, 19)) + 2**32 - 20


def test_missing_library_and_symbol(testlib):
    with pytest.raises(wasmprof.LinkError, match="cannot load native library 'no-such-lib.so'"):
        wasmprof.native("no-such-lib.so", "f")
    with pytest.raises(wasmprof.LinkError, match="has no symbol 'no_such_symbol'"):
        wasmprof.native(LIBM, "no_such_symbol")
    wat = """(module (import "t" "missing_fn" (func (param i32))))"""
    with pytest.raises(wasmprof.LinkError, match="has no symbol 'missing_fn'"):
        instantiate(wat, {"t": wasmprof.native_library(testlib)})


def test_unrepresentable_signatures_are_rejected():
    with pytest.raises(wasmprof.LinkError, match="at most one value; this type has 2 results"):
        wasmprof.native(LIBM, "cos", params=["f64"], results=["f64", "f64"])
    with pytest.raises(wasmprof.LinkError, match="externref"):
        wasmprof.native(LIBM, "cos", params=["externref"], results=["f64"])
    wat = """(module (import "m" "cos" (func (param f64) (result f64 f64))))"""
    with pytest.raises(wasmprof.LinkError, match="multi-value"):
        instantiate(wat, {"m": wasmprof.native_library(LIBM)})


def test_native_import_type_mismatch_is_a_link_error():
    cos = wasmprof.native(LIBM, "cos", params=["f64"], results=["f64"])
    wat = """(module (import "m" "cos" (func (param f32) (result f32))))"""
    with pytest.raises(wasmprof.LinkError, match="incompatible import type"):
        instantiate(wat, {"m": {"cos": cos}})
