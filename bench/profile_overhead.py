"""profile_overhead.py: the cost of observing a run, as time ratios to the plain loop.

    python bench/profile_overhead.py [--runs N] [--quick]

For each benchmark program (examples/fib.wasm fib and loop_sum,
examples/kernel.wasm run) it times the same call, in this process, in four
ways: plain (no observation: the plain loop), counted (a tick limit: the
counted loop), profiled (the profiled loop building the call tree) and
profiled with time=True (two clock reads per call and return).  Only the
call is timed (profile start and stop around it are not).  The four modes
are interleaved, --runs rounds, and the fastest time of each is kept (the
least disturbed by other load on the machine); it prints them as ratios to
plain, plus the geometric mean of the profiled/plain ratios.  A
measurement, never a test.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

import wasmprof  # noqa: E402
from wasmprof import _core  # noqa: E402


def once(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def measure(func, arg: int, runs: int) -> dict:
    func(arg)  # translate the plain code once

    def profiled(timed_nodes: bool):
        def run():
            _core._profile_start(None, time=timed_nodes)
            try:
                func(arg)
            finally:
                _core._profile_stop(None)
        return run

    modes = {"plain": lambda: func(arg), "counted": lambda: func.call(arg, max_ticks=1 << 62),
             "profiled": profiled(False), "profiled+time": profiled(True)}
    best = {name: float("inf") for name in modes}
    for _ in range(runs):
        for name, call in modes.items():
            best[name] = min(best[name], once(call))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small inputs (a smoke run)")
    ns = ap.parse_args()
    fib_i = wasmprof.Instance(wasmprof.Module.from_file(str(ROOT / "examples" / "fib.wasm")))
    ker_i = wasmprof.Instance(wasmprof.Module.from_file(str(ROOT / "examples" / "kernel.wasm")))
    cases = [("fib", fib_i.exports.fib, 20 if ns.quick else 27),
             ("loop_sum", fib_i.exports.loop_sum, 200_000 if ns.quick else 5_000_000),
             ("kernel run", ker_i.exports.run, 2000 if ns.quick else 60000)]
    print(f"{'program':22} {'plain s':>9} {'counted':>9} {'profiled':>9} {'prof+time':>9}   (ratios to plain)")
    ratios = []
    for name, func, arg in cases:
        r = measure(func, arg, ns.runs)
        p = r["plain"]
        ratios.append(r["profiled"] / p)
        print(f"{name + '(' + str(arg) + ')':22} {p:>9.4f} {r['counted'] / p:>8.2f}x {r['profiled'] / p:>8.2f}x "
              f"{r['profiled+time'] / p:>8.2f}x")
    geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    print(f"profiled/plain geometric mean: {geo:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
