"""Longer differential runs (tests/helpers/differential.py): N random
modules from `wasm-opt -ttf`, each run under wasmtime and under wasmprof's
plain, counted, stepping and profiled loops.

    python fuzz/differential.py [--count N] [--seed S] [--out DIR]

Prints the counts (modules, calls, traps by kind, logged values, memory
bytes compared) and every difference; a module that differs is written to
DIR (build/fuzz/differential/) with the difference, to become a regression
test.  Exit status 1 when there was any difference.
"""
from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import differential as diff  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "fuzz" / "differential")
    ns = ap.parse_args()
    rng = random.Random(ns.seed)
    counts: collections.Counter[str] = collections.Counter()
    traps: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    for i in range(ns.count):
        wasm = diff.random_module(rng.randbytes(rng.choice([1024, 4096, 16384])))
        want = diff.run_wasmtime(wasm)
        fresh = diff.run_wasmtime(wasm, fresh=True)
        counts["modules"] += 1
        counts["calls"] += len(want.calls)
        counts["logged values"] += sum(len(c.logs) for c in want.calls)
        counts["memory bytes compared"] += sum(len(m) for m in want.memories.values())
        traps.update(c.trap for c in want.calls if c.trap)
        found = []
        for loop in ("plain", "counted", "stepping"):
            d = want.first_difference(diff.run_wasmprof(wasm, loop=loop))
            if d:
                found.append(f"{loop}: {d}")
        profiled = diff.run_wasmprof(wasm, loop="profiled", fresh=True)
        if profiled.calls != fresh.calls:
            profiled.memories, profiled.globals = fresh.memories, fresh.globals
            found.append(f"profiled: {fresh.first_difference(profiled)}")
        if found:
            counts["differences"] += 1
            ns.out.mkdir(parents=True, exist_ok=True)
            path = ns.out / f"seed{ns.seed}-module{i}.wasm"
            path.write_bytes(wasm)
            path.with_suffix(".txt").write_text("\n".join(found) + "\n")
            print(f"module {i}: DIFFERENT ({path})\n  " + "\n  ".join(found), flush=True)
        if (i + 1) % 50 == 0 or i + 1 == ns.count:
            counts["seconds"] = round(time.monotonic() - started)
            print(", ".join(f"{v} {k}" for k, v in counts.items()), flush=True)
    print("traps: " + ", ".join(f"{v} {k}" for k, v in traps.most_common()))
    return 1 if counts["differences"] else 0


if __name__ == "__main__":
    sys.exit(main())
