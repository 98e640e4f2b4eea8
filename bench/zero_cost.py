"""zero_cost.py: instruction counts of PLAIN (unprofiled) runs under callgrind.

    python bench/zero_cost.py [--fib N] [--loop N] [--kernel N]
                              [--without-observation | --compare DIR | --variants]

Runs each kernel once in a fresh interpreter under
`valgrind --tool=callgrind --toggle-collect=wp_call` and prints the
instructions executed inside wp_call (the guest call: translation and the
plain loop; none of Python's own start-up, so the figure is deterministic).
With --compare DIR, the same runs are made with the wasmprof found in
DIR/python (another checkout built with `setup.py build_ext --inplace`,
e.g. the commit before a change to the core) and the ratio is printed: the
profiler must leave the plain loop alone, so the ratios must be within 1%
of 1.  With --without-observation, DIR is a copy of this checkout built
with -DWP_NO_OBSERVATION (only the plain loop: no counted or profiled
variant, no tick or profile support; csrc/exec.c), made in a temporary
directory: the comparison the speed issue asks for.  With --variants, the instructions of the counted, profiled and
profiled+time runs are given as ratios to the plain run's: the cost of
observing, free of the noise of timings.  Instruction counts are
deterministic, unlike timings.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import wasmprof
m = wasmprof.Module.from_file({path!r})
i = wasmprof.Instance(m)
mode = {mode!r}
if mode == "plain":
    i.exports[{export!r}]({arg})
elif mode == "counted":
    i.exports[{export!r}].call({arg}, max_ticks=1 << 62)
else:
    from wasmprof import _core
    _core._profile_start(None, time=mode == "profiled+time")
    i.exports[{export!r}]({arg})
    _core._profile_stop(None)
"""
MODES = ("plain", "counted", "profiled", "profiled+time")


def instructions(path: Path, export: str, arg: int, tree: Path, mode: str = "plain") -> int:
    code = DRIVER.format(path=str(path), export=export, arg=arg, mode=mode)
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(tree / "python"))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--toggle-collect=wp_call", f"--callgrind-out-file={out}",
             sys.executable, "-c", code],
            capture_output=True, text=True, env=env,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if not m:
            raise SystemExit("no instruction count in callgrind's output:\n" + proc.stderr)
        return int(m.group(1))


def build_without_observation(dest: Path) -> Path:
    """Copy this checkout's sources to dest and build them in place with
    -DWP_NO_OBSERVATION; returns dest."""
    skip = shutil.ignore_patterns("*.so", "__pycache__", "build")
    for name in ("setup.py", "pyproject.toml", "README.md", "csrc", "include", "python"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=skip)
        elif src.exists():
            shutil.copy2(src, dest / name)
    env = dict(os.environ, CFLAGS=(os.environ.get("CFLAGS", "") + " -DWP_NO_OBSERVATION").strip())
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=dest, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fib", type=int, default=20)
    ap.add_argument("--loop", type=int, default=200000)
    ap.add_argument("--kernel", type=int, default=3000)
    ap.add_argument("--compare", type=Path, metavar="DIR", help="another checkout (built in place) to compare with")
    ap.add_argument("--without-observation", action="store_true",
                    help="compare with this checkout built without the observing loops (-DWP_NO_OBSERVATION)")
    ap.add_argument("--variants", action="store_true",
                    help="instead: instruction ratios of the counted and profiled loops to the plain one")
    ns = ap.parse_args()
    fib = ROOT / "examples" / "fib.wasm"
    kernel = ROOT / "examples" / "kernel.wasm"
    runs = [(f"fib({ns.fib})", fib, "fib", ns.fib), (f"loop_sum({ns.loop})", fib, "loop_sum", ns.loop),
            (f"kernel run({ns.kernel})", kernel, "run", ns.kernel)]
    if ns.variants:
        print(f"{'run':24} {'plain Ir':>14}" + "".join(f" {m:>14}" for m in MODES[1:]) + "   (ratios to plain)")
        for name, path, export, arg in runs:
            irs = [instructions(path, export, arg, ROOT, mode) for mode in MODES]
            print(f"{name:24} {irs[0]:>14,}" + "".join(f" {ir / irs[0]:>13.2f}x" for ir in irs[1:]))
        return 0
    if ns.without_observation:
        with tempfile.TemporaryDirectory() as tmp:
            print("building this checkout with -DWP_NO_OBSERVATION ...", flush=True)
            ns.compare = build_without_observation(Path(tmp))
            return compare(ns, runs)
    return compare(ns, runs)


def compare(ns: argparse.Namespace, runs: list) -> int:
    header = f"{'run':24} {'Ir in wp_call':>15}"
    if ns.compare:
        header += f" {'Ir (compared)':>15} {'ratio':>8}"
    print(header)
    worst = 0.0
    for name, path, export, arg in runs:
        ir = instructions(path, export, arg, ROOT)
        line = f"{name:24} {ir:>15,}"
        if ns.compare:
            other = instructions(path, export, arg, ns.compare.resolve())
            ratio = ir / other
            worst = max(worst, abs(ratio - 1))
            line += f" {other:>15,} {ratio:>8.4f}"
        print(line)
    if ns.compare:
        print(f"largest difference: {100 * worst:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
