"""run_one.py: one plain wasmprof run of a bench program, for callgrind.

    python bench/run_one.py NAME SIZE [profiled]   (prints the program's output line)

With `profiled`, the run is wasmprof.profile()'s (the profiled loop).
"""
from __future__ import annotations

import sys
from pathlib import Path

import wasmprof

name, size = sys.argv[1], sys.argv[2]
out = bytearray()
wasm = Path(__file__).resolve().parent / "programs" / f"{name}.wasm"
if sys.argv[3:] == ["profiled"]:
    wasmprof.profile(str(wasm), wasi=wasmprof.Wasi(args=[name, size], stdout=out))
else:
    wasmprof.run(str(wasm), wasi=wasmprof.Wasi(args=[name, size], stdout=out))
sys.stdout.write(out.decode())
