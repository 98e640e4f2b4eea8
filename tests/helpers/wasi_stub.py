"""Python stand-ins for the wasi_snapshot_preview1 imports a test program uses.

Until wasmprof has WASI, the backtrace tests bind a module's WASI imports to
these: fd_write swallows output (returning 0 = success and the byte count),
proc_exit raises ProcExit, args/environ report none, everything else
returns 52 (ENOSYS).
"""
from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Optional

import wasmprof


class ProcExit(Exception):
    """The guest called proc_exit(code)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


ENOSYS = 52


def wasi_imports(module: wasmprof.Module, memory_ref: List[Optional[wasmprof.Memory]]) -> Dict[str, Dict[str, Any]]:
    """Host functions for every wasi_snapshot_preview1 import of module.

    memory_ref[0] must be set to the instance's exported memory after
    instantiation (fd_write needs it to report the bytes written).
    """
    out: Dict[str, Any] = {}
    written: List[bytes] = []

    def mem() -> wasmprof.Memory:
        m = memory_ref[0]
        assert m is not None, "set memory_ref[0] to the instance memory"
        return m

    def fd_write(fd: int, iovs: int, n: int, nwritten: int) -> int:
        total = 0
        for i in range(n):
            base, length = struct.unpack("<II", mem().read(iovs + 8 * i, 8))
            written.append(mem().read(base, length))
            total += length
        mem().write(nwritten, struct.pack("<I", total))
        return 0

    def proc_exit(code: int) -> None:
        raise ProcExit(code)

    def sizes_get(a: int, b: int) -> int:
        mem().write(a, struct.pack("<I", 0))
        mem().write(b, struct.pack("<I", 0))
        return 0

    special: Dict[str, Callable[..., Any]] = {
        "fd_write": fd_write,
        "proc_exit": proc_exit,
        "args_sizes_get": sizes_get,
        "args_get": lambda a, b: 0,
        "environ_get": lambda a, b: 0,
        "environ_sizes_get": sizes_get,
    }
    for imp in module.imports:
        if imp.module != "wasi_snapshot_preview1" or imp.kind != "func":
            continue
        ft = imp.type
        fn = special.get(imp.name)
        if fn is None:
            def fn(*args: int, _r: tuple = ft.results) -> Any:  # noqa: E731
                return ENOSYS if _r else None
        out[imp.name] = wasmprof.Func(fn, ft.params, ft.results)
    return {"wasi_snapshot_preview1": out}
