"""WASI preview1 for Python hosts: :class:`Wasi` and :func:`run`.

The implementation is the core's (csrc/wasi*.c, usable from C through
``wasmprof_wasi.h``); this module turns friendly Python arguments into a
``_core.WasiCtx``::

    out = bytearray()
    wasi = wasmprof.Wasi(args=["prog", "x"], env={"K": "V"},
                         preopens={"/data": "/tmp/data"}, stdout=out)
    code = wasmprof.run("prog.wasm", wasi=wasi)

Standard streams: ``None`` is the process's own descriptor; an ``int`` is
another host descriptor; ``bytes`` (stdin only) is the whole input; a
``bytearray`` (stdout/stderr) receives the output; any object with
``read``/``write`` works as a file (text files get UTF-8, undecodable bytes
escaped).
"""
from __future__ import annotations

import io
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._core import Exit, Func, Instance, Module, WasiCtx
from .invoke import entry_point

WASI_MODULE = "wasi_snapshot_preview1"

_Path = Union[str, bytes, "os.PathLike[str]"]
_Preopens = Union[Mapping[str, _Path], Iterable[Tuple[_Path, str]]]


def _read_from(stream: Any) -> Callable[[int], bytes]:
    """A read(n) -> bytes callable for stdin."""
    if isinstance(stream, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(bytes(stream))
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream = buffer
        else:
            text = stream

            def read_text(n: int) -> bytes:
                return text.read(n).encode("utf-8", "surrogateescape")

            return read_text
    reader = getattr(stream, "read1", None) or stream.read
    return lambda n: reader(n) or b""


def _write_to(stream: Any) -> Callable[[bytes], Optional[int]]:
    """A write(bytes) callable for stdout or stderr."""
    if isinstance(stream, bytearray):
        return lambda data: stream.extend(data)
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            target = stream

            def write_buffered(data: bytes) -> None:
                target.flush()  # keep the order with text already written
                target.buffer.write(data)
                target.buffer.flush()

            return write_buffered
        text = stream
        return lambda data: text.write(data.decode("utf-8", "surrogateescape")) and None
    writer = stream.write

    def write(data: bytes) -> Optional[int]:
        n = writer(data)
        return n if isinstance(n, int) else None

    return write


class Wasi:
    """A WASI preview1 environment for one guest program.

    args: the program's arguments, argv[0] first.  env: a mapping or
    "KEY=VALUE" strings.  preopens: ``{guest_path: host_path}`` or pairs
    ``(host_path, guest_path)``; the guest sees only these directories.
    stdin/stdout/stderr: see the module docstring.
    """

    def __init__(
        self,
        args: Sequence[Union[str, bytes]] = (),
        env: Union[Mapping[str, str], Iterable[str], None] = None,
        preopens: Optional[_Preopens] = None,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
    ) -> None:
        self.args: List[Union[str, bytes]] = list(args)
        if env is None:
            self.env: List[str] = []
        elif isinstance(env, Mapping):
            self.env = [f"{k}={v}" for k, v in env.items()]
        else:
            self.env = list(env)
        self.preopens: List[Tuple[str, str]] = []
        if isinstance(preopens, Mapping):
            self.preopens = [(os.fsdecode(host), guest) for guest, host in preopens.items()]
        elif preopens is not None:
            self.preopens = [(os.fsdecode(host), guest) for host, guest in preopens]
        self._ctx = WasiCtx(self.args, self.env, self.preopens)
        for which, stream in enumerate((stdin, stdout, stderr)):
            if stream is None:
                continue
            if isinstance(stream, int) and not isinstance(stream, bool):
                self._ctx.set_stdio(which, stream)
            elif which == 0:
                self._ctx.set_stdio(0, (_read_from(stream), None))
            else:
                self._ctx.set_stdio(which, (None, _write_to(stream)))

    def func(self, name: str) -> Func:
        """The host Func implementing preview1 function ``name`` for this environment."""
        return self._ctx.func(name)

    def _imports_for(self, module: Module, imports: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        """imports with this environment's functions for module's WASI imports added
        (called by Instance(module, imports, wasi=...))."""
        merged: Dict[str, Any] = {}
        if imports is not None:
            for name in imports:
                merged[name] = imports[name]
        funcs: Dict[str, Func] = {}
        for imp in module.imports:
            if imp.module == WASI_MODULE and imp.name not in funcs:
                funcs[imp.name] = self.func(imp.name)
        if funcs:
            # functions given explicitly under wasi_snapshot_preview1 win (e.g. a deterministic random_get)
            given = merged.get(WASI_MODULE)
            if isinstance(given, Mapping):
                funcs.update({k: given[k] for k in given})
            merged[WASI_MODULE] = funcs
        return merged


def imports_wasi(module: Module) -> bool:
    """Whether the module imports any WASI preview1 function."""
    return any(imp.module == WASI_MODULE for imp in module.imports)


def run(
    module: Union[Module, _Path],
    args: Sequence[Union[str, bytes]] = (),
    *,
    invoke: Optional[str] = None,
    wasi: Optional[Wasi] = None,
    imports: Optional[Mapping[str, Any]] = None,
    coredump: Union[None, bool, str, "os.PathLike[str]"] = None,
) -> int:
    """Run a WASI command and return its exit status.

    module: a Module or a path to a .wasm file.  args: the program's
    arguments after argv[0] (used only when no ``wasi`` is given; argv[0]
    is the file name).  invoke: the export to call (default ``_start``;
    without either, NothingToCall lists the exported functions).
    wasi: the environment (default: the given args, no environment, no
    preopens, the process's own standard streams).  coredump: where a trap
    writes a WebAssembly coredump, as for :class:`wasmprof.Instance`.  The
    status is 0 when the program returns normally and the code given to
    proc_exit otherwise; traps raise :class:`wasmprof.Trap`.
    """
    if not isinstance(module, Module):
        path = os.fspath(module)
        module = Module.from_file(path)
        argv0: Union[str, bytes] = os.path.basename(path)
    else:
        argv0 = "main.wasm"
    if wasi is None:
        wasi = Wasi(args=[argv0, *args])
    # The guest may write straight to descriptors 1 and 2: what Python buffered goes first.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    name = entry_point(module, invoke)
    try:
        instance = Instance(module, imports, wasi=wasi, coredump=coredump)
        if name is not None:
            instance.exports[name]()
    except Exit as e:
        return int(e.code)
    return 0
