"""instruction_pairs.py: the executed instruction pairs and triples of the bench programs.

    python bench/instruction_pairs.py [--top N] [--scale N]

Which superinstructions are worth having is a measurement (issue 15): for
each bench program (bench/programs/*.nowasi.wasm, its size QUICK_SIZES * N),
a profile gives each instruction's exact execution count, and a sequence of
2 or 3 instructions inside one straight-line run (no block, loop, if, else
or end among them, none after an unconditional branch) executes exactly as
often as its last instruction.  Printed: the top sequences by their share of
the executed instructions, averaged over the programs (each program weighs
the same), with the share in each program.  A measurement, never a test.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import wasmprof  # noqa: E402
from engines import patch_size  # noqa: E402
from programs import QUICK_SIZES, discover  # noqa: E402

#: Structure: a sequence through one of these may start at a branch target.
STRUCTURE = {"block", "loop", "if", "else", "end", "try", "delegate"}
#: Nothing falls through these.
UNCONDITIONAL = {"br", "br_table", "return", "unreachable", "return_call", "return_call_indirect"}


def sequences(module: wasmprof.Module, export: str, args: Tuple = (), lengths: Tuple[int, ...] = (2, 3)) -> Counter:
    """Executions of each opcode sequence (a tuple of names) of the given lengths in one run of export."""
    prof = wasmprof.profile(module, invoke=export, args=list(args))
    executions: Dict[int, int] = Counter()
    for node in prof.nodes:
        for offset, (_ticks, count, _calls) in (node.offsets or {}).items():
            executions[offset] += count
    dbg = wasmprof.Instance(module).debug()
    out: Counter = Counter()
    for func, _start in dbg._function_bodies():  # every function the module defines
        code = [(ins.offset, ins.text.split()[0]) for ins in dbg.disassemble(function=func)]
        for i in range(len(code)):
            for n in lengths:
                seq = code[i:i + n]
                names = [name for _off, name in seq]
                if len(seq) < n or STRUCTURE & set(names) or UNCONDITIONAL & set(names[:-1]):
                    continue
                count = executions.get(seq[-1][0], 0)
                if count:
                    out[tuple(names)] += count
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--scale", type=int, default=1, help="multiply the quick sizes")
    ns = ap.parse_args()
    shares: Dict[str, Dict[Tuple[str, ...], float]] = {}
    for prog in discover():
        module = wasmprof.Module(patch_size(prog.nowasi_wasm.read_bytes(), QUICK_SIZES[prog.name] * ns.scale))
        total = wasmprof.profile(module, invoke="run").total_ticks  # 1 tick per instruction
        shares[prog.name] = {seq: count / total for seq, count in sequences(module, "run").items()}
    names = list(shares)
    for n in (2, 3):
        mean: Counter = Counter()
        for per in shares.values():
            for seq, share in per.items():
                if len(seq) == n:
                    mean[seq] += share / len(names)
        print(f"\nexecuted sequences of {n}: share of all executed instructions (mean over the programs, then each)")
        print(f"{'sequence':60} {'mean':>6} " + " ".join(f"{p[:9]:>9}" for p in names))
        rows: List[Tuple[Tuple[str, ...], float]] = mean.most_common(ns.top)
        for seq, share in rows:
            each = " ".join(f"{100 * shares[p].get(seq, 0):>8.1f}%" for p in names)
            print(f"{' '.join(seq):60} {100 * share:>5.1f}% {each}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
