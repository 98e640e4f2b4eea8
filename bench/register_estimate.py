"""register_estimate.py: the dispatches a register machine would need, from the executed instruction mix.

    python bench/register_estimate.py [--coremark N] [--programs fib,sieve,...]

Issue 15 names a register machine (operands as frame slots chosen at
translation, as in wasmi 2.0 and Lua) as a candidate execution model.  Its
gain is fewer dispatches: operands stop being instructions.  This counts,
exactly, how many a register machine would dispatch per executed wasm
instruction on the programs loop_anatomy.py measures (CoreMark at N
iterations, the bench programs at its sizes), so that it can be set beside
the dispatches per wasm instruction that loop_anatomy.py measures for
wasmprof's superinstructions.

A profile gives each instruction's executions; each function's
disassembly gives the instruction before it in its straight-line run.  The
register machine is credited with everything such a translation can fold:
  - local.get, constants, drop, nop, block, loop and end cost nothing
    (operands are slots or immediates; structure is resolved), but for
    the function's last end, its return;
  - local.set and local.tee cost nothing after an instruction that computes
    a value (the result is written to the local's slot directly);
  - br_if and if cost nothing after a compare (branch-on-compare);
  - every other instruction is one dispatch.
Copies at calls and at branches that carry values are not counted, so the
figure is a lower bound for any register machine.  A measurement, never a
test.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import coremark  # noqa: E402
import wasmprof  # noqa: E402
from engines import patch_size  # noqa: E402
from instruction_pairs import COMPARES, CONSTS, SETS, STRUCTURE, UNCONDITIONAL, executed_code  # noqa: E402
from loop_anatomy import SIZES  # noqa: E402
from programs import discover  # noqa: E402

#: Free in a register machine: operands and structure.
FREE = CONSTS | {"local.get", "drop", "nop", "block", "loop", "end"}
#: Instructions after which a local.set is not a result's destination.
NOT_RESULTS = FREE | SETS | UNCONDITIONAL | {"br_if", "if", "else", "call", "call_indirect", "global.set",
                                              "memory.fill", "memory.copy", "memory.init", "data.drop",
                                              "table.set", "table.fill", "table.copy", "table.init", "elem.drop"}
#: Compares a branch can fuse with.
FUSABLE_COMPARES = {f"{t}.{op}" for t in ("i32", "i64") for op in ["eqz"] + COMPARES}


def is_store(name: str) -> bool:
    return ".store" in name


def dispatches(name: str, prev: Optional[str]) -> int:
    """A register machine's dispatches for one execution of `name`, after `prev` in its straight-line run."""
    if name in FREE:
        return 0
    if name in SETS and prev is not None and prev not in NOT_RESULTS and not is_store(prev):
        return 0
    if name in ("br_if", "if") and prev in FUSABLE_COMPARES:
        return 0
    return 1


def estimate(module: wasmprof.Module, export: Optional[str], args: Tuple = (),
             wasi: Optional[wasmprof.Wasi] = None) -> Tuple[int, int]:
    """(executed wasm instructions, a register machine's dispatches) of one run of export(*args), or of
    _start under wasi."""
    executions, bodies = executed_code(module, export, args, wasi)
    executed = regs = 0
    for body in bodies:
        prev: Optional[str] = None
        for i, (offset, name) in enumerate(body):
            count = executions.get(offset, 0)
            executed += count
            regs += count * (1 if i == len(body) - 1 else dispatches(name, prev))  # the last end returns
            # a branch target may follow structure or an unconditional branch: no known predecessor
            prev = None if name in STRUCTURE or name in UNCONDITIONAL else name
    return executed, regs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coremark", type=int, default=100, metavar="N", help="CoreMark iterations (0: leave it out)")
    ap.add_argument("--programs", default=",".join(SIZES), help="bench programs, comma-separated ('' for none)")
    ns = ap.parse_args()
    rows = []
    if ns.coremark:
        with tempfile.TemporaryDirectory() as tmp:
            cm = coremark.build(Path(tmp))
            wasi = wasmprof.Wasi(args=["coremark", *cm.args(ns.coremark)], stdout=bytearray())
            rows.append(("coremark", *estimate(wasmprof.Module.from_file(str(cm.wasm)), None, wasi=wasi)))
    wanted = [p for p in ns.programs.split(",") if p]
    for prog in discover():
        if prog.name in wanted:
            module = wasmprof.Module(patch_size(prog.nowasi_wasm.read_bytes(), SIZES[prog.name]))
            rows.append((prog.name, *estimate(module, "run")))
    print(f"{'program':14} {'wasm instrs':>14} {'register machine: dispatches':>30} {'per wasm instr':>15}")
    for name, executed, regs in rows:
        print(f"{name:14} {executed:>14,} {regs:>30,} {regs / executed:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
