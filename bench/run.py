"""run.py: the benchmark suite, every program under every engine, side by side.

    python bench/run.py [--quick] [--runs N] [--only NAME ...] [--skip ENGINE ...]

Engines (see engines.py for exactly what each one times): wasmprof plain,
wasmprof with the profiler on, wasm3's CLI built at its best (wasm3-cli: the
peer the targets are set against) and wasm3 through pywasm3, wabt's
wasm-interp, wasmtime (a JIT: the ceiling, not a peer) and the native gcc -O2
build (the physical reference).  An engine that cannot run here shows
"n/a (why)" in its column.

Programs: bench/programs/*.c, and CoreMark (bench/coremark.py: built from
../shared/bench/coremark into a temporary directory, run at a fixed
iteration count, scored as iterations per second of median wall-clock time).

For each program, every run goes through all engines in turn, in an order
rotated from run to run (interleaved: on a noisy machine a slow spell hits
every engine alike, not one engine's whole series).  Every engine's checksum
must equal the native build's, or the run fails (exit status 1).  Reported:
median seconds per program and engine, the ratios to the wasm3 CLI, to native
and to wasmprof, a geometric-mean row over the C programs every engine
completed (CoreMark is reported on its own), and the CoreMark scores.

This is a measurement, never a test: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import coremark  # noqa: E402
from engines import (Engine, Native, Wasm3, Wasm3Cli, WasmInterp, Wasmprof, WasmprofProfiled,  # noqa: E402
                     Wasmtime, cache_dir)
from programs import Program, discover  # noqa: E402

# Ratio tables, in this order: the wasm3 CLI (the targets' peer), native, and
# wasmprof plain (there the wasmprof+prof column is the profiler's cost).
RATIO_BASES = ("wasm3-cli", "native", "wasmprof")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (programs.QUICK_SIZES, CoreMark 10 iterations) and one run: a smoke test")
    parser.add_argument("--runs", type=int, default=None, help="runs per program and engine (default 5, quick 1)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="only this program, e.g. fib or coremark (repeatable)")
    parser.add_argument("--skip", action="append", metavar="ENGINE", default=[],
                        help="leave out an engine, e.g. wasm-interp (repeatable)")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


class Cell:
    """One program under one engine: its times, or why it has none."""

    def __init__(self) -> None:
        self.times: List[float] = []
        self.problem: Optional[str] = None

    def median(self) -> Optional[float]:
        return statistics.median(self.times) if self.times and not self.problem else None


def measure(programs: List[Program], engines: List[Engine], runs: int, quick: bool) -> Dict[str, Dict[str, Cell]]:
    """cells[program][engine]; engines that are unavailable get their reason in every cell."""
    reasons = {e.key: e.unavailable() for e in engines}
    cells = {p.name: {e.key: Cell() for e in engines} for p in programs}
    active = [e for e in engines if reasons[e.key] is None]
    for program in programs:
        size = program.quick_size() if quick else program.default_size
        row = cells[program.name]
        for engine in engines:
            row[engine.key].problem = reasons[engine.key] or engine.cannot_run(program)
        expected: Optional[int] = None
        for run in range(runs):
            # Rotate the engine order each run; native first overall so that its
            # checksum is known before any other engine's is checked.
            shift = run % len(active) if active else 0
            order = active[shift:] + active[:shift]
            if run == 0:
                order = sorted(order, key=lambda e: e.key != "native")
            for engine in order:
                cell = row[engine.key]
                if cell.problem:
                    continue
                print(f"  {program.name} size {size} run {run + 1}/{runs}: {engine.key} ...",
                      end="", file=sys.stderr, flush=True)
                try:
                    seconds, checksum = engine.run(program, size)
                except Exception as error:  # one engine failing must not stop the others
                    cell.problem = f"error: {type(error).__name__}: {str(error).splitlines()[0][:80] if str(error) else ''}"
                    print(f" {cell.problem}", file=sys.stderr)
                    continue
                if engine.key == "native":
                    expected = checksum
                if expected is None:
                    cell.problem = "unchecked (the native build failed)"
                    print(f" {cell.problem}", file=sys.stderr)
                    continue
                if checksum != expected:
                    cell.problem = f"WRONG checksum {checksum:08x} (native {expected:08x})"
                    print(f" {cell.problem}", file=sys.stderr)
                    continue
                cell.times.append(seconds)
                print(f" {seconds:.3f}s checksum {checksum:08x}", file=sys.stderr)
    return cells


def geomean(values: List[float]) -> Optional[float]:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def format_table(title: str, header: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    out = [title, line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def report(programs: List[Program], engines: List[Engine], cells: Dict[str, Dict[str, Cell]],
           quick: bool, runs: int) -> str:
    keys = [e.key for e in engines]
    names = [p.name for p in programs]
    # The geometric mean covers the C programs on which every engine that has
    # numbers completed, so each column averages the same set.  CoreMark is
    # scored in its own table and left out, so the mean covers the same
    # programs whether or not an engine (pywasm3) can run CoreMark.
    with_numbers = [k for k in keys if any(cells[n][k].median() for n in names)]
    common = [p.name for p in programs if not isinstance(p, coremark.CoreMark)
              and all(cells[p.name][k].median() for k in with_numbers)]
    in_geomean = len([p for p in programs if not isinstance(p, coremark.CoreMark)])

    def cell_text(name: str, key: str, value) -> str:
        problem = cells[name][key].problem
        return problem if problem else (value(cells[name][key].median()) if cells[name][key].times else "-")

    sizes = {p.name: (p.quick_size() if quick else p.default_size) for p in programs}
    header = ["program (size)"] + keys
    out = []
    time_rows = [[f"{n} ({sizes[n]})"] + [cell_text(n, k, lambda m: f"{m:.3f}") for k in keys] for n in names]
    out.append(format_table(f"Median seconds over {runs} run(s)", header, time_rows))

    for base in RATIO_BASES:
        if base not in with_numbers:
            out.append(f"\nRatio to {base}: n/a ({base} has no times)")
            continue
        rows = []
        for n in names:
            b = cells[n][base].median()
            rows.append([f"{n} ({sizes[n]})"] + [cell_text(n, k, lambda m: f"{m / b:.2f}x" if b else "-")
                                                   for k in keys])
        gm_row = ["geomean" + (f" ({len(common)}/{in_geomean})" if len(common) != in_geomean else "")]
        for k in keys:
            if k not in with_numbers:
                gm_row.append("n/a")
                continue
            g = geomean([cells[n][k].median() / cells[n][base].median() for n in common])
            gm_row.append(f"{g:.2f}x" if g else "-")
        if in_geomean:  # not for CoreMark alone
            rows.append(gm_row)
        out.append("\n" + format_table(f"Ratio to {base} (time / {base} time; lower is faster)", header, rows))
    for p in programs:
        if isinstance(p, coremark.CoreMark):
            out.append("\n" + coremark_table(p, sizes[p.name], keys, cells[p.name]))
    return "\n".join(out)


def coremark_table(program: Program, iterations: int, keys: List[str], row: Dict[str, Cell]) -> str:
    """CoreMark score per engine: iterations / median wall-clock seconds of the
    whole run (start-up included, as in the time tables), and its ratio to the
    wasm3 CLI's and native's scores (higher is faster)."""
    scores = {k: iterations / row[k].median() for k in keys if row[k].median()}
    rows = []
    for k in keys:
        if k not in scores:
            rows.append([k, row[k].problem or "-", "", ""])
            continue
        ratios = [f"{scores[k] / scores[b]:.2f}x" if b in scores else "n/a" for b in ("wasm3-cli", "native")]
        rows.append([k, f"{scores[k]:.1f}"] + ratios)
    title = (f"CoreMark score, {program.name} {iterations} iterations "
             f"(iterations / median wall-clock second; higher is faster)")
    return format_table(title, ["engine", "iterations/s", "to wasm3-cli", "to native"], rows)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    programs = discover(args.only, known_elsewhere=(coremark.NAME,))
    with tempfile.TemporaryDirectory(prefix="wasmprof-bench-") as tmp:
        work = Path(tmp)
        coremark_problem = None
        if not args.only or coremark.NAME in args.only:
            try:
                programs.append(coremark.build(work / "coremark"))
            except coremark.CoremarkUnavailable as why:
                coremark_problem = f"CoreMark: n/a ({why})"
                print(coremark_problem, file=sys.stderr)
        engines: List[Engine] = [Wasmprof(), WasmprofProfiled(), Wasm3Cli(cache_dir()), Wasm3(), WasmInterp(work),
                                 Wasmtime(), Native(work)]
        unknown = set(args.skip) - {e.key for e in engines}
        if unknown:
            print(f"unknown engine(s) for --skip: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        engines = [e for e in engines if e.key not in args.skip]
        if not any(e.key == "native" for e in engines):
            print("native cannot be skipped: it is the checksum reference", file=sys.stderr)
            return 2
        cells = measure(programs, engines, args.runs, args.quick)
        print("Engines:")
        for e in engines:
            reason = e.unavailable()
            print(f"  {e.key:14} {e.role:9} {reason or e.describe()}")
        print()
        print(report(programs, engines, cells, args.quick, args.runs))
        if coremark_problem:
            print(f"\n{coremark_problem}")
    failed = [f"{n}/{k}: {c.problem}" for n, row in cells.items() for k, c in row.items()
              if c.problem and not c.problem.startswith("n/a")]
    if failed:
        print("\nFAILED:\n  " + "\n  ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
