"""How long the real programs of tests/wasi/test_real_programs.py take under
wasmprof and under wasmtime (the same invocations, the same helper), and the
ratio.  Wall time of one run each, best of --runs interleaved runs; wasmtime's
compilation is not counted (its compiled module is cached, as the tests do),
wasmprof's loading and lazy translation are.

    python bench/real_programs.py [--runs 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.real_programs import BOOLECTOR, FLITE, YOSYS, Invocation, Runner  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "wasi"))
from test_real_programs import ADDER, COUNTER, FACTOR, TEXT  # noqa: E402

CASES = [
    ("yosys synth", YOSYS, Invocation(("-q", "-p", "read_verilog /work/top.v; read_verilog /work/counter.v; "
                                       "synth -top top; write_verilog -noattr /work/out.v"),
                                      files=(("top.v", ADDER), ("counter.v", COUNTER)))),
    ("boolector factor", BOOLECTOR, Invocation(("/work/factor.smt2",), files=(("factor.smt2", FACTOR),))),
    ("flite speech", FLITE, Invocation(("-t", TEXT, "-o", "/work/speech.wav"))),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ns = ap.parse_args()
    print(f"{'program':18} {'module MB':>9} {'wasmprof s':>10} {'wasmtime s':>10} {'ratio':>6}")
    for label, prog, inv in CASES:
        runner = Runner(prog)
        t0 = time.perf_counter()
        runner.wasmtime_module()
        compile_s = time.perf_counter() - t0
        best = {"wasmprof": float("inf"), "wasmtime": float("inf")}
        for i in range(ns.runs):
            for engine in best:
                with tempfile.TemporaryDirectory() as tmp:
                    if engine == "wasmprof":
                        runner._wasmprof_module = None  # count loading and translation every time
                    t0 = time.perf_counter()
                    getattr(runner, f"run_{engine}")(inv, Path(tmp))
                    best[engine] = min(best[engine], time.perf_counter() - t0)
        size = runner.wasm.stat().st_size / 1e6
        print(f"{label:18} {size:9.1f} {best['wasmprof']:10.2f} {best['wasmtime']:10.2f} "
              f"{best['wasmprof'] / best['wasmtime']:6.1f}   (wasmtime module ready in {compile_s:.1f} s)")


if __name__ == "__main__":
    main()
