"""stepping_ir.py: what the debugger costs, in instructions (callgrind Ir).

    python bench/stepping_ir.py [--scale N]

Runs run() of each bench program (bench/programs/*.nowasi.wasm, its size
patched to QUICK_SIZES * N) once in a fresh interpreter under
`valgrind --tool=callgrind`, collecting only inside the guest call
(wp_exec_invoke for the plain and counted loops, wp_debug_resume for the
debugger), and prints the counted loop's and the debugger's Ir (cont() to
the end, a breakpoint set where the run never goes) as ratios to the plain
loop's, with their geometric means.  Deterministic, unlike
bench/debug_overhead.py's timings; a measurement, never a test.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from engines import patch_size  # noqa: E402
from programs import QUICK_SIZES, discover  # noqa: E402

DRIVER = """
import wasmprof
inst = wasmprof.Instance(wasmprof.Module.from_file({path!r}))
mode = {mode!r}
if mode == "plain":
    inst.exports.run()
elif mode == "counted":
    inst.exports.run.call(max_ticks=1 << 62)
else:
    dbg = inst.debug()
    dbg.call("run")
    dbg.breakpoint(offset=dbg.frames[0].module_offset)  # the paused instruction: resuming runs it
    assert dbg.cont().reason == "returned"
"""
MODES = ("plain", "counted", "debugger")


def instructions(path: Path, size: int, mode: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / path.name
        module.write_bytes(patch_size(path.read_bytes(), size))
        code = DRIVER.format(path=str(module), mode=mode)
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--toggle-collect=wp_exec_invoke", "--toggle-collect=wp_debug_resume",
             f"--callgrind-out-file={out}", sys.executable, "-c", code],
            capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or not m:
            raise SystemExit(proc.stderr)
        return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1, help="multiply the quick sizes")
    ns = ap.parse_args()
    print(f"{'program':14} {'plain Ir':>14} {'counted':>9} {'debugger':>9}   (ratios to plain)")
    ratios: dict = {m: [] for m in MODES[1:]}
    for prog in discover():
        size = QUICK_SIZES[prog.name] * ns.scale
        ir = {mode: instructions(prog.nowasi_wasm, size, mode) for mode in MODES}
        for mode in MODES[1:]:
            ratios[mode].append(ir[mode] / ir["plain"])
        print(f"{prog.name:14} {ir['plain']:>14,} {ratios['counted'][-1]:>8.2f}x {ratios['debugger'][-1]:>8.2f}x")
    geo = {m: math.exp(sum(math.log(r) for r in rs) / len(rs)) for m, rs in ratios.items()}
    print(f"geometric means: counted {geo['counted']:.2f}x, debugger (breakpoints set, not hit) "
          f"{geo['debugger']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
