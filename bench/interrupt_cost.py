"""interrupt_cost.py: what the interrupt checks at loop back-edges and calls cost.

    python bench/interrupt_cost.py [--loop N] [--fib N] [--baseline-rev REV]

Builds the example C host (examples/host.c with the core in csrc/) twice and
counts the instructions each executes under `valgrind --tool=callgrind`
(instruction counts are stable from run to run, unlike timings):

  without  the core compiled with -DWP_NO_INTERRUPT_CHECKS (the back-edge
           and call checks compiled out; everything else identical), or,
           with --baseline-rev, the sources of that git revision (the core
           before interrupts existed, e.g. f0d3871)
  with     the core as it is

for examples/fib.wasm `loop_sum` (a tight loop: one back-edge per
iteration) and `fib` (recursion: one check per call).  It prints, per kernel,
the instructions of the whole process and of the interpreter loop alone
(callgrind --toggle-collect=wp_loop_plain), and the increase in percent.
A measurement, never a test.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIB = ROOT / "examples" / "fib.wasm"
CFLAGS = ["-std=c11", "-O2", "-DNDEBUG"]


def build_host(src: Path, out: Path, extra: list[str]) -> Path:
    """Compile the core (src/csrc, flat or by stage, without the Python
    extension's csrc/py) and src/examples/host.c into one executable."""
    core = [p for p in (src / "csrc").rglob("*.c") if p.parent.name != "py"]
    sources = sorted(str(p) for p in core) + [str(src / "examples" / "host.c")]
    includes = sorted({f"-I{p.parent}" for p in core})
    libs = ["-lm"]
    if any(p.name == "native.c" for p in core):
        libs.insert(0, "-lffi")
    if any(p.name == "names.c" for p in core):
        libs.insert(0, "-liberty")  # the demangler
    cmd = ["cc", *CFLAGS, *extra, f"-I{src / 'include'}", *includes, *sources, *libs, "-o", str(out)]
    subprocess.run(cmd, check=True)
    return out


def export_rev(rev: str, dest: Path) -> Path:
    """The tree of git revision rev, extracted into dest."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    tar_path = dest / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest / "src")
    return dest / "src"


def callgrind_ir(host: Path, args: list[str], workdir: Path, loop_only: bool) -> tuple[int, str]:
    """Instructions executed (Ir) by host args, and its printed result."""
    out = workdir / "callgrind.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if loop_only:
        cmd.append("--toggle-collect=wp_loop_plain")
    proc = subprocess.run([*cmd, str(host), *args], capture_output=True, text=True, check=True)
    text = out.read_text()
    m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if not m:
        raise RuntimeError(f"no instruction count in {out}")
    return int(m.group(1)), proc.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loop", type=int, default=100000, help="loop_sum argument (default 100000)")
    ap.add_argument("--fib", type=int, default=20, help="fib argument (default 20)")
    ap.add_argument("--baseline-rev", help="compare against this git revision instead of -DWP_NO_INTERRUPT_CHECKS")
    opts = ap.parse_args()
    for tool in ("valgrind", "cc"):
        if shutil.which(tool) is None:
            print(f"{tool} not found", file=sys.stderr)
            return 1

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if opts.baseline_rev:
            baseline = build_host(export_rev(opts.baseline_rev, work), work / "host_without", [])
            label = f"revision {opts.baseline_rev}"
        else:
            baseline = build_host(ROOT, work / "host_without", ["-DWP_NO_INTERRUPT_CHECKS"])
            label = "-DWP_NO_INTERRUPT_CHECKS"
        current = build_host(ROOT, work / "host_with", [])

        print(f"instructions executed (callgrind Ir); without = {label}, with = interrupt checks")
        print(f"{'kernel':<18} {'scope':<6} {'without':>14} {'with':>14} {'increase':>9}")
        for name, arg in (("loop_sum", opts.loop), ("fib", opts.fib)):
            for loop_only in (False, True):
                before, r1 = callgrind_ir(baseline, [str(FIB), name, str(arg)], work, loop_only)
                after, r2 = callgrind_ir(current, [str(FIB), name, str(arg)], work, loop_only)
                if r1 != r2:
                    raise RuntimeError(f"{name}({arg}): results differ: {r1} vs {r2}")
                pct = 100.0 * (after - before) / before
                scope = "loop" if loop_only else "total"
                print(f"{name + '(' + str(arg) + ')':<18} {scope:<6} {before:>14,} {after:>14,} {pct:>8.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
