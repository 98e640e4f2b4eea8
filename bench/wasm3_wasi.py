"""wasm3_wasi.py: the few WASI calls the benchmark programs make, for pywasm3.

pywasm3 (the `pywasm3` PyPI package, wasm3 0.5.0) does not expose wasm3's
WASI layer (no `link_wasi`), but it can link Python functions as imports
(`Module.link_function`).  A benchmark program calls WASI only at start
(argv) and at the end (printing one line, exiting), never in its hot loop,
so implementing those calls in Python here does not change what is
measured: the guest code runs in wasm3's interpreter.

Supported: args_sizes_get, args_get, environ_sizes_get, environ_get (empty),
fd_write to stdout/stderr, fd_fdstat_get, fd_seek (ESPIPE), fd_close,
proc_exit.  Anything else the module imports is left unlinked, and wasm3
fails at the call ("function lookup failed"), never silently.
"""
from __future__ import annotations

import struct
from typing import Callable, List, Optional, Sequence

WASI = "wasi_snapshot_preview1"
ERRNO_SUCCESS = 0
ERRNO_BADF = 8
ERRNO_SPIPE = 70
FILETYPE_CHARACTER_DEVICE = 2


class ProcExit(Exception):
    """Raised by proc_exit to unwind the guest; wasm3 reports it as a trap."""

    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


class Wasm3Wasi:
    """WASI for one wasm3 runtime: argv, captured stdout/stderr, exit code."""

    def __init__(self, runtime, args: Sequence[str]) -> None:  # runtime: wasm3.Runtime
        self._runtime = runtime
        self._args: List[bytes] = [a.encode() + b"\0" for a in args]
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.exit_code: Optional[int] = None

    def _memory(self) -> memoryview:
        # Fetched on every call: memory.grow may move wasm3's memory buffer.
        return self._runtime.get_memory(0)

    def args_sizes_get(self, argc_ptr: int, size_ptr: int) -> int:
        mem = self._memory()
        struct.pack_into("<I", mem, argc_ptr, len(self._args))
        struct.pack_into("<I", mem, size_ptr, sum(len(a) for a in self._args))
        return ERRNO_SUCCESS

    def args_get(self, argv_ptr: int, buf_ptr: int) -> int:
        mem = self._memory()
        for i, arg in enumerate(self._args):
            struct.pack_into("<I", mem, argv_ptr + 4 * i, buf_ptr)
            mem[buf_ptr:buf_ptr + len(arg)] = arg
            buf_ptr += len(arg)
        return ERRNO_SUCCESS

    def environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        mem = self._memory()
        struct.pack_into("<I", mem, count_ptr, 0)
        struct.pack_into("<I", mem, size_ptr, 0)
        return ERRNO_SUCCESS

    def environ_get(self, environ_ptr: int, buf_ptr: int) -> int:
        return ERRNO_SUCCESS

    def fd_write(self, fd: int, iovs: int, iovs_len: int, nwritten_ptr: int) -> int:
        if fd not in (1, 2):
            return ERRNO_BADF
        out = self.stdout if fd == 1 else self.stderr
        mem = self._memory()
        total = 0
        for i in range(iovs_len):
            base, length = struct.unpack_from("<II", mem, iovs + 8 * i)
            out += mem[base:base + length]
            total += length
        struct.pack_into("<I", mem, nwritten_ptr, total)
        return ERRNO_SUCCESS

    def fd_fdstat_get(self, fd: int, stat_ptr: int) -> int:
        if fd not in (0, 1, 2):
            return ERRNO_BADF
        # fdstat: u8 filetype, u16 flags, u64 rights_base, u64 rights_inheriting (24 bytes).
        struct.pack_into("<BxHxxxxQQ", self._memory(), stat_ptr, FILETYPE_CHARACTER_DEVICE, 0,
                         0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
        return ERRNO_SUCCESS

    def fd_seek(self, fd: int, offset: int, whence: int, newoffset_ptr: int) -> int:
        return ERRNO_SPIPE

    def fd_close(self, fd: int) -> int:
        return ERRNO_SUCCESS

    def proc_exit(self, code: int) -> None:
        self.exit_code = code
        raise ProcExit(code)

    def link(self, module) -> None:  # module: wasm3.Module
        """Link every call above into module (imports it lacks are skipped by wasm3)."""
        calls: List[tuple] = [
            ("args_sizes_get", "i(ii)", self.args_sizes_get),
            ("args_get", "i(ii)", self.args_get),
            ("environ_sizes_get", "i(ii)", self.environ_sizes_get),
            ("environ_get", "i(ii)", self.environ_get),
            ("fd_write", "i(iiii)", self.fd_write),
            ("fd_fdstat_get", "i(ii)", self.fd_fdstat_get),
            ("fd_seek", "i(iIii)", self.fd_seek),
            ("fd_close", "i(i)", self.fd_close),
            ("proc_exit", "v(i)", self.proc_exit),
        ]
        for name, signature, fn in calls:
            module.link_function(WASI, name, signature, fn)


def run_wasi_command(wasm: bytes, args: Sequence[str], stack_bytes: int = 1 << 20,
                     timer: Callable[[], float] | None = None) -> tuple:
    """Run a WASI command under wasm3: (exit code, stdout bytes, stderr bytes)."""
    import wasm3

    env = wasm3.Environment()
    runtime = env.new_runtime(stack_bytes)
    module = env.parse_module(wasm)
    runtime.load(module)
    wasi = Wasm3Wasi(runtime, args)
    wasi.link(module)
    try:
        runtime.find_function("_start")()
    except RuntimeError:
        if wasi.exit_code is None:  # a real trap, not our proc_exit unwinding
            raise
    return (wasi.exit_code or 0), bytes(wasi.stdout), bytes(wasi.stderr)
