"""zero_cost.py: instruction counts of PLAIN (unprofiled) runs under callgrind.

    python bench/zero_cost.py [--fib N] [--loop N] [--kernel N]

Runs each kernel once in a fresh interpreter under
`valgrind --tool=callgrind` and prints the total instructions executed
("Collected" Ir), plus the same for an empty driver (import + instantiate,
no call) so that the cost of the guest run itself can be read off as the
difference.  Run it on two builds (before/after a change to the core) and
compare: the profiler must not change the plain loop, so the figures must
agree within 1%.  Instruction counts are deterministic, unlike timings.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import wasmprof
m = wasmprof.Module.from_file({path!r})
i = wasmprof.Instance(m)
if {export!r}:
    i.exports[{export!r}]({arg})
"""


def instructions(path: Path, export: str, arg: int) -> int:
    code = DRIVER.format(path=str(path), export=export, arg=arg)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", code],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if not m:
            raise SystemExit("no instruction count in callgrind's output:\n" + proc.stderr)
        return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fib", type=int, default=20)
    ap.add_argument("--loop", type=int, default=200000)
    ap.add_argument("--kernel", type=int, default=3000)
    ns = ap.parse_args()
    fib = ROOT / "examples" / "fib.wasm"
    kernel = ROOT / "examples" / "kernel.wasm"
    base = instructions(fib, "", 0)
    rows = [
        ("baseline (no call)", base),
        (f"fib({ns.fib})", instructions(fib, "fib", ns.fib)),
        (f"loop_sum({ns.loop})", instructions(fib, "loop_sum", ns.loop)),
        (f"kernel run({ns.kernel})", instructions(kernel, "run", ns.kernel)),
    ]
    print(f"{'run':24} {'Ir total':>14} {'Ir - baseline':>14}")
    for name, ir in rows:
        print(f"{name:24} {ir:>14} {ir - base if name != rows[0][0] else 0:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
