"""instruction_pairs.py: the executed instruction pairs and triples of the bench programs.

    python bench/instruction_pairs.py [--top N] [--scale N]
    python bench/instruction_pairs.py --forms [--scale N]

Which superinstructions are worth having is a measurement (issue 15): for
each bench program (bench/programs/*.nowasi.wasm, its size QUICK_SIZES * N),
a profile gives each instruction's exact execution count, and a sequence of
2 or 3 instructions inside one straight-line run (no block, loop, if, else
or end among them, none after an unconditional branch) executes exactly as
often as its last instruction.  Printed: the top sequences by their share of
the executed instructions, averaged over the programs (each program weighs
the same), with the share in each program.  A measurement, never a test.

With --forms: which operators each superinstruction family of
csrc/exec/fused.h gets, printed as fused.h's lists: an operator takes part
in a family when some bench program (or one of bench/zero_cost.py's
kernels, examples/fib.wasm and kernel.wasm, or CoreMark at its quick
iteration count) executes a sequence that every form of
the family contains (e.g. OP; local.set for the results into a local), so
no form the programs execute is left out.  An `if` may end a sequence here
(a compare fuses with the `if` that follows it).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import coremark  # noqa: E402
import wasmprof  # noqa: E402
from engines import patch_size  # noqa: E402
from programs import QUICK_SIZES, discover  # noqa: E402

#: Structure: a sequence through one of these may start at a branch target.
STRUCTURE = {"block", "loop", "if", "else", "end", "try", "delegate"}
#: Nothing falls through these.
UNCONDITIONAL = {"br", "br_table", "return", "unreachable", "return_call", "return_call_indirect"}


def executed_code(module: wasmprof.Module, export: Optional[str], args: Tuple = (),
                  wasi: Optional[wasmprof.Wasi] = None) -> Tuple[Dict[int, int], List[List[Tuple[int, str]]]]:
    """One run of export(*args) (a WASI program's _start when None, with `wasi`), profiled: the
    executions of each instruction (by module offset), and every defined function's body as
    (offset, opcode name) in order."""
    if wasi is not None:
        prof = wasmprof.profile(module, wasi=wasi)
    else:
        prof = wasmprof.profile(module, invoke=export, args=list(args))
    executions: Dict[int, int] = Counter()
    for node in prof.nodes:
        for offset, (_ticks, count, _calls) in (node.offsets or {}).items():
            executions[offset] += count
    dbg = (wasmprof.Instance(module, wasi=wasmprof.Wasi()) if wasi is not None else wasmprof.Instance(module)).debug()
    bodies = [[(ins.offset, ins.text.split()[0]) for ins in dbg.disassemble(function=func)]
              for func, _start in dbg._function_bodies()]  # every function the module defines
    return executions, bodies


def sequences(module: wasmprof.Module, export: Optional[str], args: Tuple = (), lengths: Tuple[int, ...] = (2, 3),
              last: frozenset = frozenset(), wasi: Optional[wasmprof.Wasi] = None) -> Counter:
    """Executions of each opcode sequence (a tuple of names) of the given lengths in one run of export
    (a WASI program's _start when None, with `wasi`); names in `last` may end a sequence although they
    are structure."""
    executions, bodies = executed_code(module, export, args, wasi)
    out: Counter = Counter()
    for code in bodies:
        for i in range(len(code)):
            for n in lengths:
                seq = code[i:i + n]
                names = [name for _off, name in seq]
                if len(seq) < n or STRUCTURE & (set(names[:-1]) | ({names[-1]} - last)) or UNCONDITIONAL & set(names[:-1]):
                    continue
                count = executions.get(seq[-1][0], 0)
                if count:
                    out[tuple(names)] += count
    return out


INT_OPS = ["add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u"]
COMPARES = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
#: The candidates: the operators fused.h's families may take (its list before measuring).
BINOPS = ([f"i32.{op}" for op in INT_OPS + COMPARES] + [f"i64.{op}" for op in INT_OPS + COMPARES]
          + [f"{t}.{op}" for t in ("f64", "f32") for op in ("add", "sub", "mul", "div")])
CMPS = [f"i32.{op}" for op in COMPARES]
LOADS = ["i32.load", "i64.load", "f32.load", "f64.load"] + [
    f"{t}.load{n}_{s}" for t, ns in (("i32", (8, 16)), ("i64", (8, 16, 32))) for n in ns for s in "su"]
STORES = ["i32.store", "i64.store", "f32.store", "f64.store", "i32.store8", "i32.store16", "i64.store8",
          "i64.store16", "i64.store32"]
CONSTS = {"i32.const", "i64.const", "f32.const", "f64.const"}
SETS = {"local.set", "local.tee"}


def result_store(op: str) -> str:
    return "i32.store" if op.startswith("i32.") or op.split(".")[1] in COMPARES else op.split(".")[0] + ".store"


def ran(seqs: Counter, *parts) -> bool:
    """Whether some executed sequence is parts, each a name or a set of names."""
    want = [p if isinstance(p, (set, frozenset)) else {p} for p in parts]
    return any(len(seq) == len(want) and all(n in w for n, w in zip(seq, want)) for seq in seqs)


#: fused.h's families: (list macro, candidates, the sequence every form contains).
FAMILIES = [
    ("WP_FUSED_BIN", BINOPS, lambda s, op: ran(s, {"local.get"} | CONSTS, op)),
    ("WP_FUSED_DEST_BIN_I32", [o for o in BINOPS if o.startswith("i32.")], lambda s, op: ran(s, op, SETS)),
    ("WP_FUSED_DEST_BIN_OTHER", [o for o in BINOPS if not o.startswith("i32.")], lambda s, op: ran(s, op, SETS)),
    ("WP_FUSED_STORE_BIN", BINOPS, lambda s, op: ran(s, op, result_store(op))),
    ("WP_FUSED_CMP_JUMP", CMPS, lambda s, op: ran(s, op, {"br_if", "if"})),
    ("WP_FUSED_STEP", CMPS, lambda s, op: ran(s, "local.get", {"local.get", "i32.const"}, "i32.add", "local.tee",
                                               {"local.get", "i32.const"}, op, "br_if")),
    ("WP_FUSED_LOAD", LOADS, lambda s, op: ran(s, "local.get", op)),
    ("WP_FUSED_DEST_LOAD", LOADS, lambda s, op: ran(s, op, SETS)),
    ("WP_FUSED_ADDR_LOAD", LOADS, lambda s, op: ran(s, "i32.add", op)),
    ("WP_FUSED_STORE", STORES, lambda s, op: ran(s, {"local.get"} | CONSTS, op)),
    ("WP_FUSED_ADDR_STORE", STORES, lambda s, op: ran(s, "i32.add", {"local.get"} | CONSTS, op)),
]
#: A family's forms are built on another's (compile.c): the operators it takes, the other takes too.
BUILT_ON = {"WP_FUSED_DEST_BIN_I32": "WP_FUSED_BIN", "WP_FUSED_DEST_BIN_OTHER": "WP_FUSED_BIN",
            "WP_FUSED_STORE_BIN": "WP_FUSED_BIN", "WP_FUSED_CMP_JUMP": "WP_FUSED_BIN",
            "WP_FUSED_STEP": "WP_FUSED_CMP_JUMP", "WP_FUSED_DEST_LOAD": "WP_FUSED_LOAD"}
#: Every translation needs these: i32.add's operand forms and its tee (accesses at a sum, loop steps).
ALWAYS = {"WP_FUSED_BIN": {"i32.add"}, "WP_FUSED_DEST_BIN_I32": {"i32.add"}}


#: bench/zero_cost.py's kernels (examples/): measured too, so that its comparisons keep their forms.
KERNELS = [("fib.wasm", "fib", (15,)), ("fib.wasm", "fib_iter", (30,)), ("fib.wasm", "loop_sum", (1000,)),
           ("kernel.wasm", "run", (300,))]


def forms(scale: int) -> Dict[str, List[str]]:
    """Each family's operators that the bench programs and zero_cost.py's kernels need (fused.h's order)."""
    seqs: Counter = Counter()
    runs = [(wasmprof.Module(patch_size(prog.nowasi_wasm.read_bytes(), QUICK_SIZES[prog.name] * scale)), "run", ())
            for prog in discover()]
    runs += [(wasmprof.Module.from_file(str(ROOT / "examples" / name)), export, args) for name, export, args in KERNELS]
    for module, export, args in runs:
        seqs.update(sequences(module, export, args, lengths=(2, 3, 7), last=frozenset({"if"})))
    with tempfile.TemporaryDirectory() as tmp:  # CoreMark, a WASI program, at its quick iteration count
        cm = coremark.build(Path(tmp))
        wasi = wasmprof.Wasi(args=["coremark", *cm.args(cm.quick_size())], stdout=bytearray())
        seqs.update(sequences(wasmprof.Module.from_file(str(cm.wasm)), None, lengths=(2, 3, 7),
                              last=frozenset({"if"}), wasi=wasi))
    chosen = {name: {op for op in cands if test(seqs, op)} | ALWAYS.get(name, set()) for name, cands, test in FAMILIES}
    for name in reversed([n for n, _c, _t in FAMILIES]):  # a family comes after the one it is built on
        if name in BUILT_ON:
            chosen[BUILT_ON[name]] |= chosen[name]
    return {name: [op for op in cands if op in chosen[name]] for name, cands, _t in FAMILIES}


def print_forms(scale: int) -> None:
    for name, ops in forms(scale).items():
        items = [f"F(X, {op.replace('.', '_')})" for op in ops]
        lines, line = [], ""
        for item in items:
            if len(line) + len(item) > 96:
                lines.append(line.rstrip())
                line = ""
            line += item + " "
        lines.append(line.rstrip())
        body = " \\\n  ".join(lines)
        print(f"#define {name}(F, X) \\\n  {body}" if items else f"#define {name}(F, X)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--scale", type=int, default=1, help="multiply the quick sizes")
    ap.add_argument("--forms", action="store_true", help="print fused.h's family lists the programs need")
    ns = ap.parse_args()
    if ns.forms:
        print_forms(ns.scale)
        return 0
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
