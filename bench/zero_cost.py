"""zero_cost.py: instruction counts of PLAIN (unprofiled) runs under callgrind.

    python bench/zero_cost.py [--fib N] [--loop N] [--kernel N]
                              [--without-observation | --compare DIR [--base BASE]] [--variants] [--programs]

Runs each kernel once in a fresh interpreter under
`valgrind --tool=callgrind --toggle-collect=wp_call` and prints the
instructions executed inside wp_call (the guest call: translation and the
plain loop; none of Python's own start-up, so the figure is deterministic).
With --compare DIR, the same runs are made with DIR's wasmprof (another
checkout with a meson.build, e.g. the commit before a change to the core,
built here in a temporary directory) and the ratio is printed: the
profiler must leave the plain loop alone, so the ratios must be within 1%
of 1.  With --without-observation, DIR is this checkout built
with -DWP_NO_OBSERVATION (only the plain loop: no counted or profiled
variant, no tick or profile support; csrc/exec/exec.c), made in a temporary
directory: the comparison the speed issue asks for.  With --variants, the instructions of the counted, profiled and
profiled+time runs are given as ratios to the plain run's: the cost of
observing, free of the noise of timings; with --compare DIR as well, each
of the plain, counted, profiled and profiled+time runs is compared with the
same run of DIR (a change to one loop must leave the others alone: the
stepping loop's issue asks for the plain, counted and profiled loops
unchanged); --base BASE builds and measures checkout BASE in place of this
one (two earlier commits compared).  Instruction counts are deterministic,
unlike timings.  With --programs, the runs are run() of each bench program
(bench/programs, at its quick size) instead of the three kernels.
"""
from __future__ import annotations

import argparse
import atexit
import shutil
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import wasmprof
m = wasmprof.Module.from_file({path!r})
i = wasmprof.Instance(m)
mode = {mode!r}
if mode == "plain":
    i.exports[{export!r}](*{argv!r})
elif mode == "counted":
    i.exports[{export!r}].call(*{argv!r}, max_ticks=1 << 62)
else:
    from wasmprof import _core
    _core._profile_start(None, time=mode == "profiled+time")
    i.exports[{export!r}](*{argv!r})
    _core._profile_stop(None)
"""
MODES = ("plain", "counted", "profiled", "profiled+time")


def instructions(path: Path, export: str, arg, site: Optional[Path], mode: str = "plain") -> int:
    """Ir inside wp_call of one run, with the installed wasmprof (site None)
    or the one installed under `site` (a site-packages directory)."""
    code = DRIVER.format(path=str(path), export=export, argv=() if arg == "" else (arg,), mode=mode)
    env = dict(os.environ, PYTHONHASHSEED="0")
    python = [sys.executable]
    if site is not None:
        # -S: no site-packages, so that an editable install of this checkout
        # (whose import hook comes first) cannot stand in for `site`'s.
        env["PYTHONPATH"] = str(site)
        python.append("-S")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--toggle-collect=wp_call", f"--callgrind-out-file={out}",
             *python, "-c", code],
            capture_output=True, text=True, env=env,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if not m:
            raise SystemExit("no instruction count in callgrind's output:\n" + proc.stderr)
        return int(m.group(1))


def build_tree(src: Path, dest: Path, c_args: str = "") -> Path:
    """Build checkout `src` with meson (as pip does: release, -O2) in dest and
    install it under dest; returns the site-packages directory holding its
    wasmprof."""
    setup = ["meson", "setup", str(dest / "build"), str(src), "-Dbuildtype=release", "-Db_ndebug=if-release",
             "-Doptimization=2"]
    if c_args:
        setup.append(f"-Dc_args={c_args}")
    subprocess.run(setup, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["meson", "install", "-C", str(dest / "build"), "--destdir", str(dest / "stage")], check=True,
                   stdout=subprocess.DEVNULL)
    return next((dest / "stage").rglob("wasmprof/__init__.py")).parent.parent


def program_runs() -> list:
    """(name, module, export, argument) of run() of each bench program, its size patched to the quick one."""
    sys.path.insert(0, str(ROOT / "bench"))
    from engines import patch_size
    from programs import QUICK_SIZES, discover

    tmp = Path(tempfile.mkdtemp())
    atexit.register(shutil.rmtree, tmp, True)
    runs = []
    for prog in discover():
        module = tmp / prog.nowasi_wasm.name
        module.write_bytes(patch_size(prog.nowasi_wasm.read_bytes(), QUICK_SIZES[prog.name]))
        runs.append((prog.name, module, "run", ""))
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fib", type=int, default=20)
    ap.add_argument("--loop", type=int, default=200000)
    ap.add_argument("--kernel", type=int, default=3000)
    ap.add_argument("--compare", type=Path, metavar="DIR", help="another checkout (with a meson.build) to build and compare with")
    ap.add_argument("--without-observation", action="store_true",
                    help="compare with this checkout built without the observing loops (-DWP_NO_OBSERVATION)")
    ap.add_argument("--base", type=Path, metavar="BASE",
                    help="with --compare DIR: measure BASE (built too) instead of this checkout, against DIR")
    ap.add_argument("--variants", action="store_true",
                    help="instead: instruction ratios of the counted and profiled loops to the plain one")
    ap.add_argument("--programs", action="store_true",
                    help="run() of each bench program (its quick size) instead of the kernels")
    ns = ap.parse_args()
    fib = ROOT / "examples" / "fib.wasm"
    kernel = ROOT / "examples" / "kernel.wasm"
    runs = [(f"fib({ns.fib})", fib, "fib", ns.fib), (f"loop_sum({ns.loop})", fib, "loop_sum", ns.loop),
            (f"kernel run({ns.kernel})", kernel, "run", ns.kernel)]
    if ns.programs:
        runs = program_runs()
    if ns.base and not ns.compare:
        ap.error("--base needs --compare")
    if ns.variants and (ns.compare or ns.without_observation):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"building {ns.compare or 'this checkout with -DWP_NO_OBSERVATION'} ...", flush=True)
            site = build_tree(ns.compare or ROOT, Path(tmp), "-DWP_NO_OBSERVATION" if ns.without_observation else "")
            modes = MODES[:1] if ns.without_observation else MODES  # that build has only the plain loop
            mine = None
            if ns.base:
                print(f"building {ns.base} ...", flush=True)
                mine = build_tree(ns.base, Path(tmp) / "base")
            return compare(runs, site, modes, mine)
    if ns.variants:
        print(f"{'run':24} {'plain Ir':>14}" + "".join(f" {m:>14}" for m in MODES[1:]) + "   (ratios to plain)")
        for name, path, export, arg in runs:
            irs = [instructions(path, export, arg, None, mode) for mode in MODES]
            print(f"{name:24} {irs[0]:>14,}" + "".join(f" {ir / irs[0]:>13.2f}x" for ir in irs[1:]))
        return 0
    if ns.without_observation or ns.compare:
        with tempfile.TemporaryDirectory() as tmp:
            what = "this checkout with -DWP_NO_OBSERVATION" if ns.without_observation else str(ns.compare)
            print(f"building {what} ...", flush=True)
            site = build_tree(ns.compare or ROOT, Path(tmp), "-DWP_NO_OBSERVATION" if ns.without_observation else "")
            mine = None
            if ns.base:
                print(f"building {ns.base} ...", flush=True)
                mine = build_tree(ns.base, Path(tmp) / "base")
            return compare(runs, site, mine=mine)
    return compare(runs, None)


def compare(runs: list, site: Optional[Path], modes: tuple = ("plain",), mine: Optional[Path] = None) -> int:
    """Print each run's Ir (in each mode) with this checkout's wasmprof (or
    the one installed under `mine`), and with `site` the Ir of that build
    and the ratio."""
    header = f"{'run':24} {'mode':>14} {'Ir in wp_call':>15}"
    if site:
        header += f" {'Ir (compared)':>15} {'ratio':>8}"
    print(header)
    worst = 0.0
    for name, path, export, arg in runs:
        for mode in modes:
            ir = instructions(path, export, arg, mine, mode)
            line = f"{name:24} {mode:>14} {ir:>15,}"
            if site:
                other = instructions(path, export, arg, site, mode)
                ratio = ir / other
                worst = max(worst, abs(ratio - 1))
                line += f" {other:>15,} {ratio:>8.4f}"
            print(line, flush=True)
    if site:
        print(f"largest difference: {100 * worst:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
