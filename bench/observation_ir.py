"""observation_ir.py: what observing a run costs, in instructions (callgrind Ir).

    python bench/observation_ir.py [--scale N] [--modes counted,profiled,debugger]
                                   [--only fib,sort_strings] [--keep DIR]

Runs run() of each bench program (bench/programs/*.nowasi.wasm, its size
patched to QUICK_SIZES * N) once per mode in a fresh interpreter under
`valgrind --tool=callgrind`, collecting only inside the guest call
(wp_exec_invoke for the plain and ticked loops, wp_debug_resume for the
debugger), and prints each mode's Ir as a ratio to the plain loop's, with
their geometric means.  The modes: counted (a tick limit: the ticked loop
without a profile), profiled (the ticked loop with a profile: the call
tree and block counts), debugger (cont() to the end, a breakpoint set
where the run never goes).  Deterministic, unlike the timings of
bench/profile_overhead.py and bench/debug_overhead.py; a measurement,
never a test.  --keep DIR keeps each run's callgrind file as
DIR/callgrind.<program>.<mode>, for callgrind_annotate.
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
elif mode == "profiled":
    from wasmprof import _core
    _core._profile_start(None)
    inst.exports.run()
    _core._profile_stop(None)
else:
    dbg = inst.debug()
    dbg.call("run")
    dbg.breakpoint(offset=dbg.frames[0].module_offset)  # the paused instruction: resuming runs it
    assert dbg.cont().reason == "returned"
"""
MODES = ("counted", "profiled", "debugger")


def instructions(path: Path, size: int, mode: str, keep: Path | None = None) -> int:
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
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"callgrind.{path.name.split('.')[0]}.{mode}").write_bytes(Path(out).read_bytes())
        return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1, help="multiply the quick sizes")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    ap.add_argument("--only", help="comma-separated program names (default: all)")
    ap.add_argument("--keep", type=Path, help="keep the callgrind files in this directory")
    ns = ap.parse_args()
    modes = ns.modes.split(",")
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: choose from {', '.join(MODES)}")
    progs = discover()
    if ns.only:
        names = ns.only.split(",")
        if unknown := set(names) - {p.name for p in progs}:
            ap.error(f"--only: no program {', '.join(sorted(unknown))}")
        progs = [p for p in progs if p.name in names]
    print(f"{'program':14} {'plain Ir':>14} " + " ".join(f"{m:>9}" for m in modes) + "   (ratios to plain)")
    ratios: dict = {m: [] for m in modes}
    for prog in progs:
        size = QUICK_SIZES[prog.name] * ns.scale
        plain = instructions(prog.nowasi_wasm, size, "plain", ns.keep)
        for mode in modes:
            ratios[mode].append(instructions(prog.nowasi_wasm, size, mode, ns.keep) / plain)
        print(f"{prog.name:14} {plain:>14,} " + " ".join(f"{ratios[m][-1]:>8.2f}x" for m in modes))
    geo = {m: math.exp(sum(math.log(r) for r in rs) / len(rs)) for m, rs in ratios.items()}
    print("geometric means: " + ", ".join(f"{m} {g:.2f}x" for m, g in geo.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
