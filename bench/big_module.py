"""Does a big name section slow module loading?  (It must not: names are
parsed on first lookup, never at load.)

Generates a module with N functions (default 100,000) twice, without and
with a name section of Rust-style mangled function names plus local names
(several MB), then times Module() on each (best of --repeat runs) and the
first and later name lookups.  A measurement, not a test.

    python bench/big_module.py [--funcs 100000] [--repeat 7] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, List, Tuple

import wasmprof


def leb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + leb(len(payload)) + payload


def name(s: str) -> bytes:
    b = s.encode()
    return leb(len(b)) + b


def mangled(i: int) -> str:
    """A Rust legacy symbol like rustc emits: path, then a 16-hex-digit hash."""
    parts = ["bigcrate", f"module{i % 97}", f"submodule{i % 13}", f"function_number_{i}"]
    return "_ZN" + "".join(f"{len(p)}{p}" for p in parts) + f"17h{i * 2654435761 % (1 << 64):016x}E"


def build(nfuncs: int, with_names: bool) -> bytes:
    out = bytearray(b"\0asm\x01\0\0\0")
    out += section(1, leb(1) + b"\x60\x01\x7f\x01\x7f")            # (i32) -> i32
    out += section(3, leb(nfuncs) + b"\x00" * nfuncs)
    out += section(7, leb(1) + name("f0") + b"\x00" + leb(0))      # export f0
    body = b"\x01\x02\x7f" + b"\x20\x00\x41\x01\x6a\x0b"          # 2 locals; local.get 0; i32.const 1; add
    out += section(10, leb(nfuncs) + (leb(len(body)) + body) * nfuncs)
    if with_names:
        funcs = leb(nfuncs) + b"".join(leb(i) + name(mangled(i)) for i in range(nfuncs))
        locs = leb(nfuncs) + b"".join(
            leb(i) + leb(3) + leb(0) + name("input") + leb(1) + name("tmp") + leb(2) + name("acc")
            for i in range(nfuncs))
        payload = (bytes([0]) + leb(len(name("bigcrate"))) + name("bigcrate")
                   + bytes([1]) + leb(len(funcs)) + funcs + bytes([2]) + leb(len(locs)) + locs)
        out += section(0, name("name") + payload)
    return bytes(out)


def best(fn: Callable[[], object], repeat: int) -> Tuple[float, float]:
    times: List[float] = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--funcs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="10,000 functions, 3 runs (CI smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.funcs, args.repeat = 10_000, 3
    plain = build(args.funcs, False)
    named = build(args.funcs, True)
    print(f"{args.funcs} functions; module {len(plain) / 1e6:.2f} MB without names, "
          f"{len(named) / 1e6:.2f} MB with names (name section {(len(named) - len(plain)) / 1e6:.2f} MB)")
    # The same bytes under another custom-section name: what copying and
    # skipping them costs, which is all a name section may cost at load.
    other = named.replace(b"\x04name", b"\x04nome", 1)
    assert len(other) == len(named) and other != named
    for label, data in (("without name section", plain), ("with name section", named),
                        ("same bytes, not 'name'", other)):
        lo, med = best(lambda: wasmprof.Module(data), args.repeat)
        print(f"  Module() {label:22s} best {lo * 1e3:8.2f} ms  median {med * 1e3:8.2f} ms")
    firsts, seconds = [], []
    for _ in range(args.repeat):
        m = wasmprof.Module(named)
        t = time.perf_counter()
        first = m.func_name(args.funcs // 2)
        firsts.append(time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(0, args.funcs, max(1, args.funcs // 1000)):
            m.func_raw_name(i)
        seconds.append((time.perf_counter() - t) / 1000)
    print(f"  first lookup (parses the section, demangles one name): best {min(firsts) * 1e3:.2f} ms  "
          f"median {statistics.median(firsts) * 1e3:.2f} ms  -> {first!r}")
    print(f"  later lookups: {statistics.median(seconds) * 1e6:.2f} us each (median)")
    assert m.local_name(3, 2) == "acc"
    compare_startup(named, args.repeat)


def wasmprof_startup(data: bytes) -> int:
    """Decode and validate everything, instantiate, call one function (translated on that call)."""
    instance = wasmprof.Instance(wasmprof.Module(data))
    return instance.exports.f0(41)


def wasm3_startup(data: bytes) -> int:
    import wasm3  # the bench extra (pywasm3)

    env = wasm3.Environment()
    runtime = env.new_runtime(64 * 1024)
    runtime.load(env.parse_module(data))
    return runtime.find_function("f0")(41)


def compare_startup(data: bytes, repeat: int) -> None:
    """Start-up in proportion to what runs: load the big module and call one
    function, side by side with wasm3 (which also compiles lazily)."""
    try:
        import wasm3  # noqa: F401
    except ImportError:
        print("  start-up vs wasm3: n/a (pywasm3 not installed: pip install -e '.[bench]')")
        return
    assert wasmprof_startup(data) == wasm3_startup(data) == 42
    ours, ours_med = best(lambda: wasmprof_startup(data), repeat)
    theirs, theirs_med = best(lambda: wasm3_startup(data), repeat)
    print(f"  load + instantiate + first call: wasmprof {ours * 1e3:.2f} ms, wasm3 {theirs * 1e3:.2f} ms "
          f"(best of {repeat}; ratio {ours / theirs:.2f}x); "
          f"medians {ours_med * 1e3:.2f} ms vs {theirs_med * 1e3:.2f} ms (ratio {ours_med / theirs_med:.2f}x)")


if __name__ == "__main__":
    main()
