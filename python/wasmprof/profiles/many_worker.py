"""The worker side of ``wasmprof.profile_many``: run a batch of inputs, return their rows and their sum.

Everything here runs in a worker (a pool process, a Dask worker, a Ray
worker) and is reached by pickling module-level names, so it imports
nothing heavy.  The module is decoded once per worker process and kept by
the SHA-256 of its bytes (:func:`module_for`); a task that finds it missing
and carries no bytes answers :data:`NEED_MODULE`, and the driver sends it
again with the bytes (so the bytes reach each worker about once, whatever
the executor).
"""
from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .._core import LimitError, Module, Trap
from ..wasi import Wasi
from .model import Profile
from .wire import PartialProfile

__all__ = ["RunInput", "InputRow", "Job", "ChunkResult", "NEED_MODULE", "run_chunk", "worker_init",
           "run_isolated_main", "install_module", "module_for"]

NEED_MODULE = "wasmprof: module needed"

Imports = Union[None, Mapping[str, Mapping[str, Any]], Callable[[], Mapping[str, Mapping[str, Any]]]]


@dataclass(frozen=True)
class RunInput:
    """One run of ``profile_many``.

    ``args``: the invoked export's arguments, or a WASI command's arguments
    after argv[0] (argv[0] is the module's file name).  For WASI modules:
    ``stdin`` (bytes; empty when None), ``env`` (a mapping), ``files``
    (``{guest path: bytes}``: written to a fresh directory on the worker,
    each top-level directory preopened, e.g. ``{"/in/a.txt": b"..."}``
    preopens ``/in``) and ``preopens`` (``{guest path: host path}``, which
    must exist where the worker runs).  ``label`` names the run in the
    per-input table (default: the arguments).
    """

    args: Sequence[Any] = ()
    stdin: Optional[bytes] = None
    env: Optional[Mapping[str, str]] = None
    files: Optional[Mapping[str, bytes]] = None
    preopens: Optional[Mapping[str, str]] = None
    label: Optional[str] = None


@dataclass
class InputRow:
    """One input's line in the per-input table.

    ``status``: "ok", "exit" (a WASI proc_exit with a non-zero code), "trap",
    "limit" (max_ticks reached), "error" (a host function raised, or the
    arguments did not fit), "crashed" (the worker process died running it)
    or "cancelled" (Ctrl-C came first).  ``ticks`` and ``calls`` are the
    run's totals (None when nothing came back); ``error`` the message's first
    line; ``wall_s`` the run's wall time on the worker; ``worker`` the host
    and process id that ran it."""

    index: int
    label: str
    status: str
    ticks: Optional[int] = None
    calls: Optional[int] = None
    exit_code: Optional[int] = None
    error: Optional[str] = None
    wall_s: Optional[float] = None
    worker: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "exit")


@dataclass(frozen=True)
class Job:
    """What every run of one ``profile_many`` call shares (shipped with each task; small)."""

    digest: str                      # SHA-256 of the module's bytes: the worker cache's key
    module_name: str
    invoke: Optional[str]
    wasi: bool                       # the module imports WASI: each run gets its own Wasi
    command: bool = False            # a WASI command (no invoke given): args are argv[1:]
    imports: Imports = None
    cost: Optional[Dict[str, int]] = None
    time: bool = False
    max_ticks: Optional[int] = None
    max_depth: Optional[int] = None
    marker_dir: Optional[str] = None  # local pools: where each worker says which input it is running
    include_failed: bool = True


@dataclass
class ChunkResult:
    """A task's answer: its rows, the sum of its runs' profiles (wire form, None if none ran) and the
    worker's module loads so far."""

    worker: str
    loads: int
    rows: List[InputRow] = field(default_factory=list)
    partial: Optional[bytes] = None


# -- the module cache -----------------------------------------------------------------------------

_MODULES: Dict[str, Module] = {}
_LOADS = 0  # modules decoded by this process
_LOCK = threading.Lock()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def install_module(digest: str, data: bytes) -> Module:
    """Decode the module and keep it under its digest (the last few modules are kept)."""
    global _LOADS
    with _LOCK:
        module = _MODULES.get(digest)
        if module is None:
            module = Module(bytes(data))
            while len(_MODULES) >= 4:
                _MODULES.pop(next(iter(_MODULES)))
            _MODULES[digest] = module
            _LOADS += 1
        return module


def module_for(digest: str, data: Any) -> Optional[Module]:
    """The cached module, or the one in ``data`` (bytes, or ``[ray ObjectRef]``); None if neither."""
    module = _MODULES.get(digest)
    if module is not None:
        return module
    if data is None:
        return None
    if isinstance(data, list):  # a Ray object reference, wrapped so that Ray does not fetch it every time
        import ray

        data = ray.get(data[0])
    return install_module(digest, data)


def worker_init(digest: str, data: Optional[bytes]) -> None:
    """A pool worker's initializer: leave Ctrl-C to the driver, decode the module once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if data is not None:
        install_module(digest, data)


# -- running ----------------------------------------------------------------------------------------

_MARKERS: Dict[Tuple[str, int, int], int] = {}


def _mark(marker_dir: Optional[str], index: int) -> None:
    """Record (in a file of this process and thread) which input is about to run, so that the driver
    knows which input a dead worker was running."""
    if marker_dir is None:
        return
    key = (marker_dir, os.getpid(), threading.get_ident())
    fd = _MARKERS.get(key)
    if fd is None:
        fd = _MARKERS[key] = os.open(os.path.join(marker_dir, f"{key[1]}-{key[2]}"),
                                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.pwrite(fd, b"%20d\n" % index, 0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _write_files(files: Mapping[str, bytes], root: str) -> Dict[str, str]:
    """Write ``{guest path: bytes}`` below root; returns the preopens ``{guest dir: host dir}``."""
    preopens: Dict[str, str] = {}
    for guest, data in files.items():
        parts = [p for p in guest.split("/") if p not in ("", ".")]
        if len(parts) < 2 or ".." in parts:
            raise ValueError(f"RunInput.files: {guest!r} must be a path in a directory, like /in/data.bin")
        top = "/" + parts[0]
        host_top = preopens.setdefault(top, os.path.join(root, parts[0]))
        path = os.path.join(host_top, *parts[1:])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return preopens


def run_one(module: Module, job: Job, index: int, inp: RunInput, label: str) -> Tuple[InputRow, Optional[Profile]]:
    """Profile one input; never raises for what the guest or its host functions do."""
    from .profiler import profile

    row = InputRow(index=index, label=label, status="ok", worker=worker_id())
    prof: Optional[Profile] = None
    tmp: Optional[tempfile.TemporaryDirectory] = None
    start = time.perf_counter()
    try:
        args: Sequence[Any] = tuple(inp.args)
        wasi = None
        if job.wasi:
            preopens = dict(inp.preopens or {})
            if inp.files:
                tmp = tempfile.TemporaryDirectory(prefix="wasmprof-input-")
                preopens.update(_write_files(inp.files, tmp.name))
            argv = [job.module_name, *([str(a) for a in args] if job.command else [])]
            wasi = Wasi(args=argv, env=dict(inp.env or {}), preopens=preopens, stdin=inp.stdin or b"",
                        stdout=bytearray(), stderr=bytearray())
            if job.command:
                args = ()
        imports = job.imports() if callable(job.imports) else job.imports
        prof = profile(module, invoke=job.invoke, args=args, wasi=wasi, imports=imports, cost=job.cost,
                       time=job.time, max_ticks=job.max_ticks, max_depth=job.max_depth)
        trap = getattr(prof, "trap", None)
        code = getattr(prof, "exit_code", None)
        row.exit_code = 0 if code is None and job.command and trap is None else code
        if isinstance(trap, LimitError):
            row.status, row.error = "limit", _first_line(trap)
        elif isinstance(trap, Trap) or trap is not None:
            row.status, row.error = "trap", _first_line(trap)
        elif code:
            row.status = "exit"
    except Exception as exc:  # noqa: BLE001 - a host function's error, bad arguments: this input's row
        prof = getattr(exc, "profile", None)
        row.status, row.error = "error", _first_line(exc)
    finally:
        row.wall_s = time.perf_counter() - start
        if tmp is not None:
            tmp.cleanup()
    if prof is not None:
        prof.module_name = job.module_name
        row.ticks = prof.total_ticks
        row.calls = sum(n.calls for n in prof.nodes[1:])
        if row.status not in ("ok", "exit") and not job.include_failed:
            prof = None
    return row, prof


def run_chunk(job: Job, items: Sequence[Tuple[int, RunInput, str]], data: Any = None) -> Any:
    """Run a batch of (index, input, label); returns a ChunkResult, or NEED_MODULE when the module is not
    cached here and ``data`` is None."""
    module = module_for(job.digest, data)
    if module is None:
        return NEED_MODULE
    result = ChunkResult(worker=worker_id(), loads=0)
    total: Optional[PartialProfile] = None
    for index, inp, label in items:
        _mark(job.marker_dir, index)
        row, prof = run_one(module, job, index, inp, label)
        result.rows.append(row)
        if prof is not None:
            part = PartialProfile.from_profile(prof)
            total = part if total is None else total.add(part)
    result.partial = total.to_bytes() if total is not None else None
    result.loads = _LOADS
    return result


def run_isolated_main(conn: Any, job: Job, data: bytes, index: int, inp: RunInput, label: str) -> None:
    """A process of its own for one input that was running when a worker died: send its ChunkResult."""
    worker_init(job.digest, data)
    conn.send(run_chunk(job, [(index, inp, label)]))
    conn.close()


def merge_parts(a: Any, b: Any) -> Optional[bytes]:
    """Sum two partial profiles in wire form (or ChunkResults, or None); for tree reductions on a cluster."""
    parts = [p.partial if isinstance(p, ChunkResult) else p for p in (a, b)]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return PartialProfile.from_bytes(parts[0]).add(PartialProfile.from_bytes(parts[1])).to_bytes()


def chunk_rows(result: ChunkResult) -> ChunkResult:
    """The result without its profile: what the driver fetches while the profiles stay on the cluster."""
    return ChunkResult(worker=result.worker, loads=result.loads, rows=result.rows, partial=None)
