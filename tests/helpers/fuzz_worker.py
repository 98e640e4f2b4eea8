"""Child process of tests/core/test_fuzz_modules.py: decode (and maybe run) mutated modules.

Reads {"cases": [case, ...], "base": first_index} as JSON on stdin; a case
is {"path": ..., "kind": "prefix" | "truncate" | "flip", "arg": int} (see
mutate()).  For case number i it writes, one line each, flushed:

    D i            about to decode
    R i STATUS     decoded: "loaded", "rejected", or "BAD <what>"
    X i            about to instantiate and call its parameterless exports
    E i STATUS     "ok" or "BAD <what>"
    DONE           at the end

so that the parent can name the case that crashed or hung the process.
Module() must load or raise DecodeError/ValidationError, and load exactly
the mutants that wasmtime (configured for WebAssembly 2.0 without SIMD,
which wasmprof does not support yet) validates; running a loaded module
without imports may trap or hit a limit, never raise anything else.

Reproduce one case by hand:
    python tests/helpers/fuzz_worker.py --case '{"path": "...", "kind": "flip", "arg": 7}'
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
MAX_CALLS = 3  # parameterless exports called per loaded module


def mutate(data: bytes, kind: str, arg: int) -> bytes:
    """The mutant of data described by (kind, arg):
    prefix   -> the first `arg` bytes;
    truncate -> a prefix of a length drawn from Random(arg);
    flip     -> 1 to 8 bits flipped (past the 8-byte header when possible)
                at positions drawn from Random(arg)."""
    if kind == "prefix":
        return data[:arg]
    rng = random.Random(arg)
    if kind == "truncate":
        return data[: rng.randrange(len(data))] if data else data
    if kind == "flip":
        out = bytearray(data)
        lo = 8 if len(out) > 8 else 0
        if len(out) > lo:
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(lo, len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    raise ValueError(f"unknown mutation {kind!r}")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc!r}"[:300]


def wasmtime_validator():
    """wasmtime.Module.validate for WebAssembly 2.0 without SIMD: the
    independent judge of which mutants are valid modules."""
    import wasmtime

    config = wasmtime.Config()
    for feature in ("simd", "relaxed_simd", "threads", "tail_call", "multi_memory", "memory64", "gc",
                    "function_references", "exceptions", "custom_page_sizes", "wide_arithmetic",
                    "stack_switching", "component_model"):
        setattr(config, f"wasm_{feature}", False)
    for feature in ("bulk_memory", "multi_value", "reference_types"):
        setattr(config, f"wasm_{feature}", True)
    engine = wasmtime.Engine(config)

    def valid(data: bytes) -> tuple[bool, str]:
        try:
            wasmtime.Module.validate(engine, data)
        except wasmtime.WasmtimeError as e:
            return False, str(e).splitlines()[0]
        return True, ""

    return valid


def decode(wasmprof, data: bytes, valid=None):
    """(module or None, status); with valid (wasmtime_validator()), a
    decision that differs from wasmtime's is BAD."""
    status = _decide(wasmprof, data)
    if valid is not None and not status[1].startswith("BAD"):
        theirs, why = valid(data)
        if theirs != (status[0] is not None):
            ours = "loads" if status[0] is not None else f"rejects it ({status[2]})"
            return None, f"BAD wasmprof {ours}; wasmtime {'validates it' if theirs else 'rejects it: ' + why}"
    return status[0], status[1]


def _decide(wasmprof, data: bytes):
    """(module or None, status, our reason)."""
    try:
        module = wasmprof.Module(data)
    except (wasmprof.DecodeError, wasmprof.ValidationError) as e:
        offset = e.offset
        if offset is not None and not (isinstance(offset, int) and 0 <= offset <= len(data)):
            return None, f"BAD offset {offset!r} outside the {len(data)}-byte module ({e})", ""
        if not isinstance(e.reason, str):
            return None, f"BAD reason is {type(e.reason).__name__}", ""
        return None, "rejected", str(e)
    except BaseException as e:  # noqa: BLE001 - the point is to catch everything else
        return None, "BAD " + describe(e), ""
    return module, "loaded", ""


def execute(wasmprof, module) -> str:
    """Instantiate a module without imports and call up to MAX_CALLS of its
    parameterless exported functions; traps and limits are fine."""
    ok = (wasmprof.Error, MemoryError)
    try:
        inst = wasmprof.Instance(module)
    except ok:
        return "ok"
    except BaseException as e:  # noqa: BLE001
        return "BAD instantiate: " + describe(e)
    calls = 0
    for export in module.exports:
        if calls >= MAX_CALLS:
            break
        if export.kind != "func" or export.type.params or "v128" in export.type.results:
            continue
        calls += 1
        try:
            inst.exports[export.name]()
        except ok:
            pass
        except BaseException as e:  # noqa: BLE001
            return f"BAD call {export.name!r}: " + describe(e)
    return "ok"


def run(cases: list[dict], base: int) -> None:
    import wasmprof

    cache: dict[str, bytes] = {}
    valid = wasmtime_validator()
    out = sys.stdout
    for n, case in enumerate(cases):
        i = base + n
        path = case["path"]
        if path not in cache:
            cache[path] = (ROOT / path).read_bytes()
        data = mutate(cache[path], case["kind"], case["arg"])
        out.write(f"D {i}\n")
        out.flush()
        module, status = decode(wasmprof, data, valid)
        out.write(f"R {i} {status}\n")
        out.flush()
        if module is not None and case.get("exec", True) and not module.imports:
            out.write(f"X {i}\n")
            out.flush()
            status = execute(wasmprof, module)
            out.write(f"E {i} {status}\n")
            out.flush()
        del module
    out.write("DONE\n")
    out.flush()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        run([json.loads(sys.argv[2])], 0)
        return
    job = json.load(sys.stdin)
    run(job["cases"], job.get("base", 0))


if __name__ == "__main__":
    main()
