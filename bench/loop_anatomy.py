"""loop_anatomy.py: where the plain loop's time goes, in instructions, beside wasm3's.

    python bench/loop_anatomy.py [--coremark N] [--programs fib,sieve,...] [--no-wasm3]
                                 [--handlers K]

For CoreMark (N iterations, default 100) and the bench programs at small
sizes, it counts, deterministically:
  - the wasm instructions the program executes (the ticks of a profile
    with the default prices, one per instruction);
  - the machine instructions (callgrind Ir) executed inside wasmprof's
    plain loop (`--toggle-collect=wp_loop_plain`), and how many of them are
    dispatches: executions of the loop's indirect jumps (`jmp *...`, found
    with objdump in wp_loop_plain), one per internal instruction run;
  - the same for the wasm3 command-line runner, built from the sources
    beside ../shared/bench/wasm3/build.sh as that script does but with
    BUILD_NATIVE off (valgrind cannot run -march=native code; the script
    says the option moves wasm3 by at most 3%), for the whole process (its
    start-up is small at these sizes); its dispatches are the indirect
    jumps of its operations, each ending in a jump to the next.
It prints wasmprof's loop Ir, then per wasm instruction: Ir, dispatches,
and Ir per dispatch, for both engines.  Fewer dispatches per wasm instruction is what
superinstructions buy; Ir per dispatch is the work and the stack traffic
each one does.  With --handlers K, each program's line is followed by the
K hottest pieces of wp_loop_plain's code, named: a piece starts at a
handler (where `_core._loop_handlers` says an internal instruction's
handler starts) or after an unconditional jump, and one that starts at no
handler is named after the pieces that jump to it ("after call": the
frame push the call handler jumps to).  A measurement, never a test; valgrind
makes it slow (a few minutes).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import coremark  # noqa: E402
from engines import cache_dir  # noqa: E402
from programs import SHARED_BENCH, Program, discover  # noqa: E402

# Small sizes: valgrind runs about 50x slower than native.
SIZES = {"fib": 24, "sieve": 40, "nbody": 10000, "hashtable": 10, "dispatch": 2000, "sort_strings": 2}
INDIRECT_JUMP = re.compile(r"^(?:notrack\s+)?jmp\s+\*")
FUNC_HEADER = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
DIRECT_JUMP = re.compile(r"^j[a-z]*\s+([0-9a-f]+) <")

RUN_PLAIN = """
import sys, wasmprof
wasmprof.run(sys.argv[1], wasi=wasmprof.Wasi(args=sys.argv[2:], stdout=bytearray()))
"""
COUNT_TICKS = """
import sys, wasmprof
p = wasmprof.profile(sys.argv[1], wasi=wasmprof.Wasi(args=sys.argv[2:], stdout=bytearray()))
print(p.total_ticks)
"""


#: A binary's functions in order: (name, link-time start, [(link-time address, instruction text)]).
Disassembly = List[Tuple[str, int, List[Tuple[int, str]]]]


def disassembly(binary: Path) -> Disassembly:
    """Every function of binary, from one objdump run (a name may repeat: static functions)."""
    dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(binary)], capture_output=True, text=True,
                          check=True).stdout
    functions: Disassembly = []
    for line in dump.splitlines():
        m = FUNC_HEADER.match(line)
        if m:
            functions.append((m.group(2), int(m.group(1), 16), []))
            continue
        m = INSTRUCTION.match(line) if functions else None
        if m:
            functions[-1][2].append((int(m.group(1), 16), m.group(2).strip()))
    return functions


def function_code(functions: Disassembly, name: str) -> List[Tuple[int, str]]:
    return next(code for fn, _start, code in functions if fn == name)


def indirect_jumps(functions: Disassembly, function: Optional[str]) -> Tuple[Set[int], Dict[str, int]]:
    """Link-time addresses of the indirect jumps in a disassembly (in
    `function` only, if given), and the start address of every function."""
    jumps = {addr for name, _start, code in functions if function is None or name == function
             for addr, text in code if INDIRECT_JUMP.match(text)}
    return jumps, {name: start for name, start, _code in functions}


def callgrind_instructions(cmd: List[str], collect: Optional[str]) -> Dict[str, Dict[int, int]]:
    """Run cmd under callgrind; per function name, Ir per instruction address
    (runtime addresses; only inside `collect` when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=yes", "--dump-line=no",
              "--compress-pos=no", "--compress-strings=no"]
        if collect:
            vg.append(f"--toggle-collect={collect}")
        proc = subprocess.run([*vg, *cmd], capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed under callgrind:\n{proc.stderr[-2000:]}")
        per_fn: Dict[str, Dict[int, int]] = defaultdict(lambda: defaultdict(int))
        fn = None
        skip_next = False
        for line in out.read_text().splitlines():
            if skip_next:  # the inclusive cost of a call, not this function's own
                skip_next = False
                continue
            if line.startswith("fn="):
                fn = line[3:]
            elif line.startswith("calls="):
                skip_next = True
            elif line.startswith("0x") and fn is not None:
                addr, ir = line.split()[:2]
                per_fn[fn][int(addr, 16)] += int(ir)
        return per_fn


def load_base(shared_object: Path) -> int:
    """Where this process mapped shared_object (its link-time address 0)."""
    real = os.path.realpath(shared_object)
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and os.path.realpath(fields[5]) == real and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16)
    raise SystemExit(f"{shared_object} is not mapped in this process")


def handler_starts(loop: str = "plain") -> Dict[int, str]:
    """Link-time address -> the internal instructions whose handlers start there, in _core."""
    from wasmprof import _core
    base = load_base(Path(_core.__file__))
    names: Dict[int, List[str]] = defaultdict(list)
    for name, address in _core._loop_handlers(loop):
        names[address - base].append(name)
    return {a: "|".join(n) for a, n in names.items()}


def code_pieces(code: List[Tuple[int, str]], starts: Dict[int, str]) -> List[Tuple[str, List[int]]]:
    """The loop's code cut into named pieces: (name, instruction addresses).
    A piece starts at a handler or after an unconditional jump (or return); a
    piece that starts at no handler is named after the pieces that jump to its
    first instruction ("after X", "after X, Y"), or "after X" for the piece it
    follows if none jumps there; the first piece is the loop's entry."""
    pieces: List[List[Tuple[int, str]]] = []
    for i, (addr, text) in enumerate(code):
        prev = code[i - 1][1] if i else "jmp"
        if i == 0 or addr in starts or prev.startswith(("jmp", "ret", "notrack jmp")):
            pieces.append([])
        pieces[-1].append((addr, text))
    first = {piece[0][0]: k for k, piece in enumerate(pieces)}
    sources: Dict[int, List[int]] = defaultdict(list)  # piece -> pieces that jump to its start
    for k, piece in enumerate(pieces):
        for _addr, text in piece:
            m = DIRECT_JUMP.match(text)
            target = first.get(int(m.group(1), 16)) if m else None
            if target is not None and target != k and k not in sources[target]:
                sources[target].append(k)
    names: List[Optional[str]] = [starts.get(piece[0][0]) for piece in pieces]
    names[0] = names[0] or "(the loop's entry)"
    for _ in range(4):  # pieces reached through other unnamed pieces get their names in later rounds
        for k, name in enumerate(names):
            if name is None or name.startswith("after "):
                froms = [names[j] for j in sources[k] if names[j]] or ([names[k - 1]] if k and names[k - 1] else [])
                if froms:
                    shown = sorted(set(f.removeprefix("after ") for f in froms))
                    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
                    names[k] = "after " + ", ".join(shown[:3]) + more
    return [(names[k] or "?", [a for a, _t in piece]) for k, piece in enumerate(pieces)]


def hottest_pieces(per_addr: Dict[int, int], bias: int, code: List[Tuple[int, str]], starts: Dict[int, str],
                   k: int) -> List[Tuple[str, int, int]]:
    """The k pieces of code (code_pieces) with the most Ir: (name, Ir, runs of its first instruction)."""
    rows = []
    for name, addrs in code_pieces(code, starts):
        ir = sum(per_addr.get(a + bias, 0) for a in addrs)
        if ir:
            rows.append((name, ir, per_addr.get(addrs[0] + bias, 0)))
    rows.sort(key=lambda r: -r[1])
    return rows[:k]


def dispatch_count(per_addr: Dict[int, int], jumps: Set[int], bias: int) -> int:
    return sum(per_addr.get(a + bias, 0) for a in jumps)


def wasmprof_anatomy(program: Program, args: List[str],
                     handlers: int = 0) -> Tuple[int, int, List[Tuple[str, int, int]]]:
    """(Ir in wp_loop_plain, dispatches, the `handlers` hottest pieces) for one plain run."""
    from wasmprof import _core
    so = Path(_core.__file__)
    functions = disassembly(so)
    jumps, starts = indirect_jumps(functions, "wp_loop_plain")
    per_fn = callgrind_instructions([sys.executable, "-c", RUN_PLAIN, str(program.wasm), program.name, *args],
                                    "wp_loop_plain")
    loop = per_fn.get("wp_loop_plain")
    if not loop:
        raise SystemExit("no instructions recorded in wp_loop_plain")
    # The loop's entry runs at every call of it: its runtime address gives the load bias.
    bias = min(loop) - starts["wp_loop_plain"]
    hot = (hottest_pieces(loop, bias, function_code(functions, "wp_loop_plain"), handler_starts(), handlers)
           if handlers else [])
    return sum(loop.values()), dispatch_count(loop, jumps, bias), hot


def build_wasm3_for_valgrind() -> Optional[Path]:
    """The wasm3 CLI without -march=native, built once into the bench cache."""
    tarball = next((SHARED_BENCH / "wasm3").glob("wasm3-*.tar.gz"), None)
    if tarball is None:
        print("wasm3 sources not found; wasmprof only", file=sys.stderr)
        return None
    exe = cache_dir() / f"{tarball.name[:-len('.tar.gz')]}-valgrind" / "wasm3"
    if exe.is_file():
        return exe
    print(f"building {exe} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as src:
        subprocess.run(["tar", "xzf", str(tarball), "-C", src], check=True)
        subprocess.run(["cmake", "-S", src, "-B", f"{src}/build", "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_WASI=simple",
                        "-DBUILD_NATIVE=OFF", "-DCMAKE_C_COMPILER=clang-14", "-DCLANG_SUFFIX=-14"],
                       check=True, capture_output=True)
        subprocess.run(["cmake", "--build", f"{src}/build", "-j2"], check=True, capture_output=True)
        exe.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f"{src}/build/wasm3", exe)
    return exe


def wasm3_anatomy(exe: Path, program: Program, args: List[str]) -> Tuple[int, int]:
    """(Ir of the whole process, indirect jumps executed) for one wasm3 run."""
    jumps, starts = indirect_jumps(disassembly(exe), None)
    per_fn = callgrind_instructions([str(exe), str(program.wasm), *args], None)
    total = dispatches = 0
    for name, per_addr in per_fn.items():
        total += sum(per_addr.values())
        base = starts.get(name.split("'")[0])
        if base is None or not per_addr:
            continue
        # The wasm3 CLI is not position-independent here unless built so: take
        # the bias from the lowest address seen if it is below the link address.
        bias = 0 if min(per_addr) >= base else min(per_addr) - base
        dispatches += dispatch_count(per_addr, jumps, bias)
    return total, dispatches


def wasm_instructions(program: Program, args: List[str]) -> int:
    out = subprocess.run([sys.executable, "-c", COUNT_TICKS, str(program.wasm), program.name, *args],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coremark", type=int, default=100, metavar="N", help="CoreMark iterations (0: leave it out)")
    ap.add_argument("--programs", default=",".join(SIZES), help="bench programs, comma-separated ('' for none)")
    ap.add_argument("--no-wasm3", action="store_true", help="wasmprof only")
    ap.add_argument("--handlers", type=int, default=0, metavar="K",
                    help="after each program, the K hottest pieces of the loop's code, by handler")
    ns = ap.parse_args()
    wasm3 = None if ns.no_wasm3 else build_wasm3_for_valgrind()
    wanted = [p for p in ns.programs.split(",") if p]
    cases: List[Tuple[Program, List[str]]] = [(p, p.args(SIZES[p.name])) for p in discover() if p.name in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        if ns.coremark:
            try:
                cm = coremark.build(Path(tmp))
                cases.insert(0, (cm, cm.args(ns.coremark)))
            except coremark.CoremarkUnavailable as e:
                print(f"CoreMark: {e}; left out", file=sys.stderr)
        print(f"{'program':14} {'wasm instrs':>13} {'loop Ir':>14}   {'wasmprof: Ir':>12} {'disp':>6} {'Ir/disp':>8}"
              f"   {'wasm3: Ir':>10} {'disp':>6} {'Ir/disp':>8}   (per wasm instruction)")
        for program, args in cases:
            n = wasm_instructions(program, args)
            ir, disp, hot = wasmprof_anatomy(program, args, ns.handlers)
            line = f"{program.name:14} {n:>13,} {ir:>14,}   {ir / n:>12.2f} {disp / n:>6.2f} {ir / max(disp, 1):>8.2f}"
            if wasm3:
                ir3, disp3 = wasm3_anatomy(wasm3, program, args)
                line += f"   {ir3 / n:>10.2f} {disp3 / n:>6.2f} {ir3 / max(disp3, 1):>8.2f}"
            print(line, flush=True)
            for name, hot_ir, runs in hot:
                print(f"    {100 * hot_ir / ir:5.1f}%  {hot_ir:>13,} Ir  {runs:>11,} runs  {hot_ir / max(runs, 1):5.1f} Ir/run"
                      f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
