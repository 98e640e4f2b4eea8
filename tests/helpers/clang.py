"""clang_wasm: C sources to a wasm32-wasi module with clang, the way every
test builds one.

Compiling and linking are separate steps, and the link step never gets an
-O flag: given one, clang 14 runs binaryen's `wasm-opt` after linking
whenever binaryen is installed, and that strips the name section the tests
read names from."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Sequence

from .env import native_env


def clang_wasm(sources: Sequence[Path], out: Path, *, cflags: Sequence[str] = (), ldflags: Sequence[str] = (),
               clang: str = "clang", timeout: float = 600) -> subprocess.CompletedProcess:
    """Compile each source with cflags (-O, -g, -W...) to an object beside
    `out`, then link them with ldflags into `out`.  Returns the failing
    step's CompletedProcess, or the link's."""
    objects = []
    for i, src in enumerate(sources):
        obj = out.with_name(f"{out.name}.{i}.o")
        compile_ = subprocess.run([clang, "--target=wasm32-wasi", *cflags, "-c", str(src), "-o", str(obj)],
                                  capture_output=True, text=True, env=native_env(), timeout=timeout)
        if compile_.returncode != 0:
            return compile_
        objects.append(str(obj))
    assert not any(flag.startswith("-O") for flag in ldflags), "an -O at link time runs wasm-opt"
    return subprocess.run([clang, "--target=wasm32-wasi", *ldflags, *objects, "-o", str(out)], capture_output=True,
                          text=True, env=native_env(), timeout=timeout)
