"""Imports: Python host functions (declared and inferred), argument and
result conversion, exceptions, re-entrancy, linking instances together, and
LinkError / Trap at instantiation."""

from __future__ import annotations

import pytest

import wasmprof
from helpers.wasm import instantiate

CALLS_HOST = """
(module
  (import "env" "add" (func $add (param i32 i64) (result i64)))
  (func (export "run") (param i32 i64) (result i64)
    (call $add (local.get 0) (local.get 1)))
)
"""


def test_plain_callable_import_infers_signature():
    seen = []

    def add(a, b):
        seen.append((a, b))
        return a + b

    inst = instantiate(CALLS_HOST, {"env": {"add": add}})
    assert inst.exports.run(2, 40) == 42
    assert inst.exports.run(-1, -2) == -3
    assert seen == [(2, 40), (-1, -2)]


def test_host_receives_signed_integers():
    seen = []
    inst = instantiate(CALLS_HOST, {"env": {"add": lambda a, b: seen.append((a, b)) or 0}})
    inst.exports.run(0xFFFFFFFF, 2**64 - 1)
    assert seen == [(-1, -1)]


def test_declared_func_import():
    f = wasmprof.Func(lambda a, b: a * b, params=["i32", "i64"], results=["i64"])
    assert f.type.params == ("i32", "i64")
    assert f.type.results == ("i64",)
    inst = instantiate(CALLS_HOST, {"env": {"add": f}})
    assert inst.exports.run(6, 7) == 42


def test_declared_func_callable_from_python():
    f = wasmprof.Func(lambda a: a + 1, params=["i32"], results=["i32"])
    assert f(41) == 42


def test_func_decorator_factory():
    @wasmprof.func(params=["i32", "i64"], results=["i64"])
    def sub(a, b):
        return a - b

    assert isinstance(sub, wasmprof.Func)
    inst = instantiate(CALLS_HOST, {"env": {"add": sub}})
    assert inst.exports.run(50, 8) == 42


def test_host_multiple_results_and_floats():
    inst = instantiate(
        """(module
             (import "env" "split" (func $split (param f64) (result i32 f32)))
             (func (export "run") (param f64) (result i32 f32) (call $split (local.get 0))))""",
        {"env": {"split": lambda x: (int(x), x / 2)}},
    )
    assert inst.exports.run(7.0) == (7, 3.5)


def test_host_no_results_returns_none():
    calls = []
    inst = instantiate(
        """(module (import "env" "log" (func $log (param f32)))
             (func (export "run") (call $log (f32.const 1.25))))""",
        {"env": {"log": calls.append}},
    )
    assert inst.exports.run() is None
    assert calls == [1.25]


def test_host_wrong_result_type_is_type_error():
    inst = instantiate(CALLS_HOST, {"env": {"add": lambda a, b: "not a number"}})
    with pytest.raises(TypeError):
        inst.exports.run(1, 2)


def test_host_wrong_result_count_is_type_error():
    inst = instantiate(CALLS_HOST, {"env": {"add": lambda a, b: (1, 2)}})
    with pytest.raises(TypeError):
        inst.exports.run(1, 2)


def test_host_exception_propagates_as_same_object():
    class Boom(Exception):
        pass

    error = Boom("from the host")
    failing = [True]

    def add(a, b):
        if failing[0]:
            raise error
        return a + b

    inst = instantiate(CALLS_HOST, {"env": {"add": add}})
    with pytest.raises(Boom) as excinfo:
        inst.exports.run(1, 2)
    assert excinfo.value is error
    # The same instance still works afterwards.
    failing[0] = False
    assert inst.exports.run(1, 2) == 3


def test_host_exception_through_nested_guest_frames():
    error = KeyError("deep")

    def fail():
        raise error

    inst = instantiate(
        """(module
             (import "env" "fail" (func $fail))
             (func $a (call $fail))
             (func $b (call $a))
             (func (export "run") (result i32) (call $b) (i32.const 1)))""",
        {"env": {"fail": fail}},
    )
    with pytest.raises(KeyError) as excinfo:
        inst.exports.run()
    assert excinfo.value is error


def test_reentrant_host_to_guest_calls():
    # fact(n) in the guest calls the host, which calls back into fact(n-1).
    holder = {}

    def host_fact(n):
        return 1 if n <= 1 else n * holder["inst"].exports.fact(n - 1)

    inst = instantiate(
        """(module
             (import "env" "host_fact" (func $hf (param i64) (result i64)))
             (func (export "fact") (param i64) (result i64) (call $hf (local.get 0))))""",
        {"env": {"host_fact": host_fact}},
    )
    holder["inst"] = inst
    assert inst.exports.fact(20) == 2432902008176640000


def test_reentrant_exception_from_inner_call():
    holder = {}

    def outer():
        with pytest.raises(wasmprof.Trap):
            holder["inst"].exports.boom()
        return 5

    inst = instantiate(
        """(module
             (import "env" "outer" (func $outer (result i32)))
             (func (export "boom") unreachable)
             (func (export "run") (result i32) (i32.add (call $outer) (i32.const 1))))""",
        {"env": {"outer": outer}},
    )
    holder["inst"] = inst
    assert inst.exports.run() == 6


def test_instances_linked_through_exports():
    provider = instantiate(
        """(module
             (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
             (memory (export "mem") 1)
             (global (export "g") (mut i32) (i32.const 5))
             (table (export "tab") 1 funcref))"""
    )
    consumer = instantiate(
        """(module
             (import "p" "double" (func $double (param i32) (result i32)))
             (import "p" "mem" (memory 1))
             (import "p" "g" (global $g (mut i32)))
             (func (export "run") (result i32)
               (i32.store (i32.const 0) (i32.const 99))
               (global.set $g (i32.const 11))
               (call $double (i32.const 21))))""",
        {"p": {name: provider.exports[name] for name in ("double", "mem", "g")}},
    )
    assert consumer.exports.run() == 42
    assert provider.exports.mem.read(0, 4) == (99).to_bytes(4, "little")
    assert provider.exports.g.value == 11


# ---- link errors -------------------------------------------------------------------


def test_missing_import_is_link_error():
    with pytest.raises(wasmprof.LinkError) as excinfo:
        instantiate(CALLS_HOST, {})
    assert "env" in str(excinfo.value) and "add" in str(excinfo.value)
    with pytest.raises(wasmprof.LinkError):
        instantiate(CALLS_HOST)
    with pytest.raises(wasmprof.LinkError):
        instantiate(CALLS_HOST, {"env": {}})


def test_mismatched_func_signature_is_link_error():
    f = wasmprof.Func(lambda a: a, params=["i32"], results=["i32"])
    with pytest.raises(wasmprof.LinkError) as excinfo:
        instantiate(CALLS_HOST, {"env": {"add": f}})
    assert "env" in str(excinfo.value) and "add" in str(excinfo.value)


def test_wrong_kind_is_link_error():
    with pytest.raises(wasmprof.LinkError):
        instantiate(CALLS_HOST, {"env": {"add": wasmprof.Memory(1)}})
    with pytest.raises(wasmprof.LinkError):
        instantiate(
            '(module (import "env" "m" (memory 1)))',
            {"env": {"m": wasmprof.Func(lambda: None, params=[], results=[])}},
        )


def test_mismatched_memory_limits_is_link_error():
    with pytest.raises(wasmprof.LinkError):
        instantiate('(module (import "env" "m" (memory 2)))', {"env": {"m": wasmprof.Memory(1)}})
    with pytest.raises(wasmprof.LinkError):
        instantiate('(module (import "env" "m" (memory 1 2)))', {"env": {"m": wasmprof.Memory(1)}})


def test_mismatched_global_is_link_error():
    mod = '(module (import "env" "g" (global (mut i32))))'
    with pytest.raises(wasmprof.LinkError):
        instantiate(mod, {"env": {"g": wasmprof.Global("i32", 0, mutable=False)}})
    with pytest.raises(wasmprof.LinkError):
        instantiate(mod, {"env": {"g": wasmprof.Global("i64", 0, mutable=True)}})
    instantiate(mod, {"env": {"g": wasmprof.Global("i32", 0, mutable=True)}})


def test_mismatched_table_is_link_error():
    mod = '(module (import "env" "t" (table 2 funcref)))'
    with pytest.raises(wasmprof.LinkError):
        instantiate(mod, {"env": {"t": wasmprof.Table("externref", min=2)}})
    with pytest.raises(wasmprof.LinkError):
        instantiate(mod, {"env": {"t": wasmprof.Table("funcref", min=1)}})
    instantiate(mod, {"env": {"t": wasmprof.Table("funcref", min=2)}})


# ---- traps at instantiation -------------------------------------------------------


def test_start_function_trap():
    with pytest.raises(wasmprof.Trap) as excinfo:
        instantiate("(module (func $s unreachable) (start $s))")
    assert excinfo.value.kind == "unreachable"


def test_start_function_runs():
    calls = []
    instantiate(
        '(module (import "env" "hi" (func $hi (param i32))) (func $s (call $hi (i32.const 9))) (start $s))',
        {"env": {"hi": calls.append}},
    )
    assert calls == [9]


def test_data_segment_out_of_bounds_traps():
    with pytest.raises(wasmprof.Trap) as excinfo:
        instantiate('(module (memory 1) (data (i32.const 65535) "ab"))')
    assert excinfo.value.kind == "memory_oob"


def test_elem_segment_out_of_bounds_traps():
    with pytest.raises(wasmprof.Trap) as excinfo:
        instantiate("(module (table 1 funcref) (func $f) (elem (i32.const 1) $f))")
    assert excinfo.value.kind == "table_oob"
