"""interp_vs_wabt.py: wasmprof against wabt's wasm-interp on the same kernels.

    python bench/interp_vs_wabt.py [--runs N] [--fib N] [--loop N] [--quick]

Kernels (from examples/fib.wasm): `fib` (recursive: calls and returns) and
`loop_sum` (a tight i64 loop: plain dispatch).

- wasmprof runs in this process through the Python API; only the call is
  timed (module decoding and instantiation are not).
- wasm-interp runs as a subprocess.  wabt 1.0.32's wasm-interp cannot pass
  arguments to an export, so each kernel gets a driver module: the functions
  of examples/fib.wat with one export, `main`, that calls the kernel with
  the chosen argument; it is run with --run-all-exports.  (Newer wasm-interp
  versions with --run-export/--argument are used directly.)  Its time
  therefore includes process start, decoding and validation; that overhead
  is measured separately with a driver whose `main` returns a constant, and
  reported, but not subtracted.

Each measurement is repeated --runs times; the table shows medians and the
ratio wasm-interp / wasmprof (above 1: wasmprof is faster).  Both must
compute the same result, or the script fails.  This is a measurement, never
a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIB_WAT = ROOT / "examples" / "fib.wat"
FIB_WASM = ROOT / "examples" / "fib.wasm"


def driver_source(call: str, result_type: str) -> str:
    """examples/fib.wat without its exports, plus `main` evaluating `call`."""
    lines = [ln for ln in FIB_WAT.read_text().splitlines() if not ln.strip().startswith('(export "')]
    body = "\n".join(lines).rstrip()
    assert body.endswith(")"), "fib.wat must end with the module's closing parenthesis"
    return body[:-1] + f'\n  (func (export "main") (result {result_type}) {call}))\n'


def assemble(source: str, path: Path) -> Path:
    src = path.with_suffix(".wat")
    src.write_text(source)
    subprocess.run(["wat2wasm", str(src), "-o", str(path)], check=True)
    return path


class WasmInterp:
    """Runs exports under wabt's wasm-interp, adapting to its version's flags."""

    def __init__(self, exe: str, workdir: Path):
        self.exe = exe
        self.workdir = workdir
        help_text = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
        self.direct = "--run-export" in help_text and "--argument" in help_text
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
        self.version = version or "unknown version"

    def command(self, export: str, valtype: str, arg: int | None) -> list[str]:
        if self.direct:
            cmd = [self.exe, str(FIB_WASM), f"--run-export={export}"]
            if arg is not None:
                cmd.append(f"--argument={valtype}:{arg}")
            return cmd
        if export == "noop":
            call, result_type = "(i32.const 0)", "i32"
        else:
            call, result_type = f"(call ${export} ({valtype}.const {arg}))", valtype
        wasm = assemble(driver_source(call, result_type), self.workdir / f"driver_{export}.wasm")
        return [self.exe, str(wasm), "--run-all-exports"]

    def noop_command(self) -> list[str]:
        if self.direct:
            # fib_iter(0) returns at once: start-up, load and one trivial call.
            return self.command("fib_iter", "i32", 0)
        return self.command("noop", "i32", None)

    @staticmethod
    def run(cmd: list[str]) -> tuple[float, int]:
        """(seconds, result as an unsigned integer)."""
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
        m = re.search(r"=> (?:i32|i64):(\d+)", proc.stdout)
        if not m:
            raise RuntimeError(f"cannot read the result of {' '.join(cmd)}:\n{proc.stdout}")
        return elapsed, int(m.group(1))


def median_time(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        elapsed, result = fn()
        times.append(elapsed)
    return statistics.median(times), result


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="repetitions per measurement (median reported)")
    ap.add_argument("--fib", type=int, default=30, help="argument of fib")
    ap.add_argument("--loop", type=int, default=10_000_000, help="argument of loop_sum")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test of this script")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.fib, args.loop = 1, 15, 10_000

    import wasmprof

    exports = wasmprof.Instance(wasmprof.Module.from_file(FIB_WASM)).exports
    kernels = [("fib", "i32", args.fib), ("loop_sum", "i64", args.loop)]

    exe = shutil.which("wasm-interp")
    have_wat2wasm = shutil.which("wat2wasm") is not None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        interp = WasmInterp(exe, Path(tmp)) if exe else None
        if interp and not interp.direct and not have_wat2wasm:
            print("wat2wasm not found: cannot build driver modules for wasm-interp", file=sys.stderr)
            interp = None
        overhead = None
        if interp:
            overhead, _ = median_time(lambda: interp.run(interp.noop_command()), args.runs)
        for name, valtype, arg in kernels:
            func = exports[name]

            def call_wasmprof(func=func, arg=arg):
                start = time.perf_counter()
                value = func.call(arg, unsigned=True)
                return time.perf_counter() - start, value

            ours, our_value = median_time(call_wasmprof, args.runs)
            theirs = None
            if interp:
                cmd = interp.command(name, valtype, arg)
                theirs, their_value = median_time(lambda cmd=cmd: interp.run(cmd), args.runs)
                if their_value != our_value:
                    print(f"MISMATCH {name}({arg}): wasmprof {our_value}, wasm-interp {their_value}", file=sys.stderr)
                    return 1
            rows.append((f"{name}({arg})", our_value, ours, theirs))

    print(f"wasmprof {wasmprof.__version__} (in process, call only) vs "
          + (f"wasm-interp {interp.version} (subprocess)" if interp else "wasm-interp: not available"))
    print(f"median of {args.runs} run(s)\n")
    header = ("kernel", "result", "wasmprof", "wasm-interp", "ratio wasm-interp/wasmprof")
    table = [header] + [
        (k, str(v), fmt(ours), fmt(theirs), f"{theirs / ours:.2f}x" if theirs and ours else "-")
        for k, v, ours, theirs in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if interp:
        print(f"\nwasm-interp times include process start-up and module load: "
              f"{fmt(overhead)} for a trivial export (not subtracted above).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
