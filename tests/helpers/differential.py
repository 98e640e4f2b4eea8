"""Differential execution: random valid modules from binaryen's
`wasm-opt -ttf` run under wasmprof (in each of its loops) and under
wasmtime, with the same `fuzzing-support` imports on both sides.

A run follows binaryen's own fuzzing harness: instantiate once, then for
each exported function (in export order, but the hang-limit initializer
itself) call `hangLimitInitializer` (which bounds the loops and recursion of
the next call) and then the function with zero arguments (null references).
What is compared, per call: the results (as bit patterns), the trap kind,
and every value the guest logged through `fuzzing-support.log-*`; after the
last call, the exported memories and globals.

Modules are generated with `--denan` (binaryen's pass that turns every NaN
into 0): the spec lets engines pick NaN payloads, so NaN bits are not a
difference (wasmprof and wasmtime do pick differently).

Variants (`run_wasmprof(..., loop=...)`):
  plain     Func.call_bits: the loop users run
  counted   Func.call(..., max_ticks=...): the ticked loop
  stepping  wasmprof.Debugger on the instance: call(), then cont()
  profiled  wasmprof.profile(module, invoke=...): the profiled loop.  It
            instantiates afresh for each call, so it is compared with
            `fresh=True` runs of the others (each call on a new instance).
"""
from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple

# What wasmprof supports: WebAssembly 2.0 without SIMD.
WASM_OPT_FEATURES = ["-mvp", "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int",
                     "--enable-bulk-memory", "--enable-multivalue"]
HANG_LIMIT_EXPORT = "hangLimitInitializer"
BIG_TICKS = 10**12  # the counted loop's limit: never reached (the hang limit bounds every call)

# wasmtime's trap codes as wasmprof's trap kinds (Trap.kind).  One code,
# two kinds: wasmtime reports a call_indirect past the end of its table as
# TABLE_OUT_OF_BOUNDS, where the spec (its test suite's assert_trap) and
# wasmprof say "undefined element"; wasmprof's undefined_element is compared
# as table_oob (WASMPROF_SAME_AS), since wasmtime does not tell them apart.
WASMPROF_SAME_AS = {"undefined_element": "table_oob"}
WASMTIME_TRAPS = {
    "STACK_OVERFLOW": "stack_exhausted", "MEMORY_OUT_OF_BOUNDS": "memory_oob", "TABLE_OUT_OF_BOUNDS": "table_oob",
    "INDIRECT_CALL_TO_NULL": "null_element", "BAD_SIGNATURE": "signature_mismatch",
    "INTEGER_OVERFLOW": "int_overflow", "INTEGER_DIVISION_BY_ZERO": "div_zero",
    "BAD_CONVERSION_TO_INTEGER": "invalid_conversion", "UNREACHABLE": "unreachable",
}


def random_module(entropy: bytes) -> bytes:
    """A valid module that wasm-opt -ttf makes from these bytes (deterministic)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.wasm")
        with open(src, "wb") as f:
            f.write(entropy)
        subprocess.run(["wasm-opt", src, "-ttf", *WASM_OPT_FEATURES, "--denan", "-o", out],
                       check=True, capture_output=True, timeout=60)
        with open(out, "rb") as f:
            return f.read()


def _bits(valtype: str, value: Any) -> Any:
    """A value as its bit pattern (references: whether null)."""
    if valtype == "i32":
        return value & 0xFFFFFFFF
    if valtype == "i64":
        return value & 0xFFFFFFFFFFFFFFFF
    if valtype == "f32":
        return struct.unpack("<I", struct.pack("<f", value))[0]
    if valtype == "f64":
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    return "null" if value is None else "ref"


def _zero(valtype: str) -> Any:
    return {"i32": 0, "i64": 0, "f32": 0.0, "f64": 0.0}.get(valtype)


@dataclasses.dataclass
class Call:
    export: str
    results: Optional[Tuple[Any, ...]]  # bit patterns; None when it trapped
    trap: Optional[str]                 # wasmprof's trap kind
    logs: List[Tuple[str, Any]]


@dataclasses.dataclass
class Run:
    calls: List[Call]
    memories: Dict[str, bytes]
    globals: Dict[str, Any]

    def first_difference(self, other: "Run") -> Optional[str]:
        for a, b in zip(self.calls, other.calls):
            if a != b:
                return f"call of {a.export}: {a} != {b}"
        if len(self.calls) != len(other.calls):
            return f"{len(self.calls)} calls != {len(other.calls)}"
        for name in sorted(set(self.memories) | set(other.memories)):
            x, y = self.memories.get(name), other.memories.get(name)
            if x != y:
                if x is None or y is None or len(x) != len(y):
                    return f"memory {name}: sizes {len(x or b'')} != {len(y or b'')}"
                at = next(i for i in range(len(x)) if x[i] != y[i])
                return f"memory {name} differs first at {at:#x}: {x[at:at + 8].hex()} != {y[at:at + 8].hex()}"
        if self.globals != other.globals:
            return f"globals {self.globals} != {other.globals}"
        return None


def call_order(exports: List[Tuple[str, Any]]) -> List[str]:
    return [name for name, is_func in exports if is_func and name != HANG_LIMIT_EXPORT]


# ---- wasmtime ----------------------------------------------------------------------------


def run_wasmtime(wasm: bytes, *, fresh: bool = False) -> Run:
    import wasmtime

    config = wasmtime.Config()
    for feature in ("wasm_simd", "wasm_relaxed_simd", "wasm_threads", "wasm_tail_call", "wasm_multi_memory",
                    "wasm_memory64", "wasm_gc", "wasm_function_references", "wasm_exceptions"):
        if hasattr(config, feature):
            setattr(config, feature, False)
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, wasm)
    log: List[Tuple[str, Any]] = []
    names = call_order([(e.name, isinstance(e.type, wasmtime.FuncType)) for e in module.exports])

    def instantiate() -> Tuple[Any, Any]:
        store = wasmtime.Store(engine)
        imports = []
        for imp in module.imports:
            valtype = imp.name.rsplit("-", 1)[1]
            ty = wasmtime.FuncType([getattr(wasmtime.ValType, valtype)()], [])
            imports.append(wasmtime.Func(store, ty, lambda v, t=valtype: log.append((t, _bits(t, v)))))
        return store, wasmtime.Instance(store, module, imports)

    store, inst = instantiate()
    calls = []
    for name in names:
        if fresh:
            store, inst = instantiate()
        exports = inst.exports(store)
        del log[:]
        if HANG_LIMIT_EXPORT in exports:
            exports[HANG_LIMIT_EXPORT](store)
        func = exports[name]
        ty = func.type(store)
        args = [_zero(str(p)) for p in ty.params]
        try:
            out = func(store, *args)
        except wasmtime.Trap as trap:
            code = trap.trap_code.name if trap.trap_code is not None else str(trap)
            calls.append(Call(name, None, WASMTIME_TRAPS.get(code, code), list(log)))
            continue
        values = [] if out is None else list(out) if isinstance(out, list) else [out]
        results = tuple(_bits(str(t), v) for t, v in zip(ty.results, values))
        calls.append(Call(name, results, None, list(log)))
    exports = inst.exports(store)
    memories = {n: bytes(e.read(store, 0, e.data_len(store))) for n, e in exports.items()
                if isinstance(e, wasmtime.Memory)}
    glob = {n: _bits(str(e.type(store).content), e.value(store)) for n, e in exports.items()
            if isinstance(e, wasmtime.Global)}
    return Run(calls, memories, glob)


# ---- wasmprof ----------------------------------------------------------------------------

LOOPS = ("plain", "counted", "stepping", "profiled")


def _wasmprof_imports(wasmprof: Any, module: Any, log: List[Tuple[str, Any]]) -> Dict[str, Dict[str, Any]]:
    imports: Dict[str, Dict[str, Any]] = {}
    for imp in module.imports:
        valtype = imp.name.rsplit("-", 1)[1]
        imports.setdefault(imp.module, {})[imp.name] = wasmprof.Func(
            lambda v, t=valtype: log.append((t, _bits(t, v))), [valtype], [])
    return imports


def run_wasmprof(wasm: bytes, *, loop: str = "plain", fresh: bool = False) -> Run:
    import wasmprof

    if loop == "profiled" and not fresh:
        raise ValueError("the profiled loop runs each call on a new instance: fresh=True")
    module = wasmprof.Module(wasm)
    log: List[Tuple[str, Any]] = []
    imports = _wasmprof_imports(wasmprof, module, log)
    names = call_order([(e.name, e.kind == "func") for e in module.exports])
    types = {e.name: e.type for e in module.exports if e.kind == "func"}

    inst = wasmprof.Instance(module, imports)
    dbg = wasmprof.Debugger(inst) if loop == "stepping" else None
    calls = []
    for name in names:
        ty = types[name]
        if fresh and loop != "profiled":
            inst = wasmprof.Instance(module, imports)
            dbg = wasmprof.Debugger(inst) if loop == "stepping" else None
        del log[:]
        args = [_zero(str(p)) for p in ty.params]
        try:
            if loop == "profiled":
                prof = wasmprof.profile(module, invoke=name, args=args, imports=imports)
                if prof.trap is not None:
                    raise prof.trap
                values = _as_list(prof.result, len(ty.results))
            else:
                if HANG_LIMIT_EXPORT in inst.exports:
                    _call(inst, dbg, loop, HANG_LIMIT_EXPORT, [])
                values = _call(inst, dbg, loop, name, args)
        except wasmprof.Trap as trap:
            calls.append(Call(name, None, WASMPROF_SAME_AS.get(trap.kind, trap.kind), list(log)))
            continue
        results = tuple(_bits(str(t), v) for t, v in zip(ty.results, values))
        calls.append(Call(name, results, None, list(log)))
    memories = {n: bytes(e.read(0, e.size)) for n, e in inst.exports.items() if isinstance(e, wasmprof.Memory)}
    glob = {n: _bits(str(e.type.valtype), e.value) for n, e in inst.exports.items() if isinstance(e, wasmprof.Global)}
    if loop == "profiled":  # its instances are gone: the state is checked by the other loops
        memories, glob = {}, {}
    return Run(calls, memories, glob)


def _as_list(value: Any, n: int) -> List[Any]:
    if n == 0:
        return []
    return list(value) if n > 1 else [value]


def _call(inst: Any, dbg: Any, loop: str, name: str, args: List[Any]) -> List[Any]:
    func = inst.exports[name]
    n = len(func.type.results)
    if loop == "plain":
        return _as_list(func(*args), n)
    if loop == "counted":
        return _as_list(func.call(*args, max_ticks=BIG_TICKS), n)
    if loop == "stepping":
        dbg.call(name, *args)
        stop = dbg.cont()
        if stop.reason == "returned":
            return list(stop.results or ())
        if stop.error is not None:
            raise stop.error
        raise AssertionError(f"the debugger stopped: {stop}")
    raise ValueError(f"unknown loop {loop!r}")


RunFn = Callable[[bytes], Run]
