"""``wasmprof.profile_many``: profile thousands of inputs of one module on a machine or a cluster.

Each input is one run (the invoked export's arguments, or a WASI command's
arguments, stdin and files: :class:`RunInput`).  The runs go to an executor
in batches ("chunks"); each worker decodes the module once (its bytes reach
a worker once: a pool initializer, Dask's broadcast scatter, one Ray object),
profiles each input of a batch, and sends back one row per input and the
exact sum of the batch's profiles in the wire form
(:mod:`wasmprof.profiles.wire`).  The driver, or on a cluster a tree of merge
tasks, adds the sums: the merged profile is exactly the sum of the runs'
profiles, whatever the grouping and order.

Failures stay in their row: a trap, the tick limit, a host function's error
(the run's profile up to it is still counted, unless
``include_failed=False``), or the death of the worker process running it
("crashed"; the other inputs of its batch run again).  Ctrl-C stops the work
and returns what finished (the rest: "cancelled").

The executors: a process pool (the default, one process per core), any
``concurrent.futures.Executor``, a Dask ``distributed.Client``
(many_cluster.py) or Ray (``executor="ray"``).
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .._core import Module
from ..invoke import entry_point, exported_functions
from ..wasi import imports_wasi
from .model import Profile
from .profiler import source_positions
from .many_worker import (NEED_MODULE, ChunkResult, Imports, InputRow, Job, RunInput, install_module, run_chunk,
                          run_isolated_main, worker_init)
from .profiler import load_cost_table
from .wire import PartialProfile

__all__ = ["profile_many", "ManyProfile", "RunInput", "InputRow"]

Item = Tuple[int, RunInput, str]  # (index, input, label)
ModuleSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Module]

ROW_COLUMNS = [f for f in InputRow.__dataclass_fields__]


@dataclass
class ManyProfile:
    """What :func:`profile_many` returns: the merged profile and one row per input.

    ``profile``: the exact sum of the runs' profiles (a :class:`~wasmprof.Profile`
    whose root counts the runs as its calls; children ordered by function
    index).  ``rows``: an :class:`InputRow` per input, in input order.
    ``interrupted``: Ctrl-C stopped the work (unfinished inputs are
    "cancelled").  ``module_loads``: per worker (host:pid), how many times
    it decoded the module (once, unless its process was replaced).
    ``module_shipments``: tasks that carried the module's bytes beyond a
    pool initializer or the cluster's own broadcast (executors that have no
    initializer get it on a worker's first miss).
    """

    profile: Profile
    rows: List[InputRow]
    interrupted: bool = False
    module_loads: Dict[str, int] = field(default_factory=dict)
    module_shipments: int = 0

    @property
    def inputs(self) -> Any:
        """The per-input table as a pandas DataFrame (index: input position)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("ManyProfile.inputs needs pandas: pip install pandas") from exc
        df = pd.DataFrame([asdict(r) for r in self.rows], columns=ROW_COLUMNS).set_index("index")
        for col in ("ticks", "calls", "exit_code"):
            df[col] = df[col].astype("Int64")
        return df

    def top_inputs(self, n: int = 10, by: str = "ticks") -> Any:
        """The n inputs with the largest ``by`` (ticks, calls or wall_s), as a DataFrame."""
        if by not in ("ticks", "calls", "wall_s"):
            raise ValueError(f"top_inputs(): cannot sort by {by!r}; use ticks, calls or wall_s")
        return self.inputs.sort_values(by, ascending=False, kind="stable", na_position="last").head(n)

    @property
    def failed(self) -> List[InputRow]:
        """The rows of inputs that did not finish normally (trap, limit, error, crashed, cancelled)."""
        return [r for r in self.rows if not r.ok]

    @property
    def total_ticks(self) -> int:
        return self.profile.total_ticks

    def __repr__(self) -> str:
        counts: Dict[str, int] = {}
        for r in self.rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        statuses = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        return (f"<ManyProfile {self.profile.module_name!r}: {len(self.rows)} inputs ({statuses}), "
                f"{self.total_ticks} ticks{', interrupted' if self.interrupted else ''}>")


# -- the inputs -------------------------------------------------------------------------------------


def _label(inp: RunInput, index: int) -> str:
    if inp.label is not None:
        return str(inp.label)
    if inp.args:
        return " ".join(str(a) for a in inp.args)
    return f"#{index}"


def _as_input(value: Any) -> RunInput:
    if isinstance(value, RunInput):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return RunInput(stdin=bytes(value))
    if isinstance(value, (tuple, list)):
        return RunInput(args=tuple(value))
    return RunInput(args=(value,))


def normalise_inputs(inputs: Union[Iterable[Any], Mapping[Any, Any]]) -> List[Item]:
    """(index, RunInput, label) for each input.  A mapping's keys are the labels; a tuple or list is the
    arguments; bytes are stdin; any other value is the one argument."""
    out: List[Item] = []
    if isinstance(inputs, Mapping):
        for i, (key, value) in enumerate(inputs.items()):
            inp = _as_input(value)
            out.append((i, inp, str(key) if inp.label is None else inp.label))
        return out
    for i, value in enumerate(inputs):
        inp = _as_input(value)
        out.append((i, inp, _label(inp, i)))
    return out


def _module_source(module: ModuleSource) -> Tuple[bytes, str]:
    """The module's bytes (what the workers get) and its name in the profile."""
    if isinstance(module, Module):
        path = module.file_name
        if path is None:
            raise TypeError("profile_many() needs the module's bytes or path: a Module built from bytes cannot "
                            "be sent to workers (pass the bytes instead)")
        module = path
    if isinstance(module, (bytes, bytearray, memoryview)):
        return bytes(module), "<module>"
    path = os.fspath(module)
    with open(path, "rb") as f:
        return f.read(), os.path.basename(path)


def _check_args(module: Module, name: Optional[str], wasi: bool, invoke: Optional[str], items: List[Item]) -> None:
    """Each input's argument count, checked before any work starts."""
    if name is None or (wasi and invoke is None):
        return
    params = exported_functions(module)[name].params
    for index, inp, label in items:
        if len(inp.args) != len(params):
            raise ValueError(f"input {index} ({label!r}): {name} takes {len(params)} argument"
                             f"{'s' if len(params) != 1 else ''}, got {len(inp.args)}")


def default_workers() -> int:
    """The machine's usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def chunk_items(items: Sequence[Item], workers: int, chunksize: Optional[int]) -> List[List[Item]]:
    """Batches of inputs: about 8 per worker, at most 64 inputs each (unless chunksize says)."""
    if chunksize is None:
        chunksize = max(1, min(64, math.ceil(len(items) / (8 * max(1, workers)))))
    if chunksize < 1:
        raise ValueError("chunksize must be at least 1")
    return [list(items[i:i + chunksize]) for i in range(0, len(items), chunksize)]


# -- Ctrl-C and progress ---------------------------------------------------------------------------


class StopFlag:
    """While active in the main thread, the first Ctrl-C sets ``stopped`` (the run winds down and
    returns what finished) and the next one raises KeyboardInterrupt as usual."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.stopped.set()
        signal.signal(signal.SIGINT, self._previous)  # a second Ctrl-C is an ordinary KeyboardInterrupt

    def __enter__(self) -> "StopFlag":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            if self._previous is not None:  # None: installed from C, cannot be restored
                signal.signal(signal.SIGINT, self._handler)
                self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return bool(get and type(get()).__name__ == "ZMQInteractiveShell")


class Progress:
    """A tqdm bar over inputs (tqdm.auto: a widget in Jupyter), or nothing."""

    def __init__(self, total: int, show: Optional[bool]) -> None:
        if show is None:
            show = sys.stderr.isatty() or _in_jupyter()
        self.bar: Any = None
        self.failed = 0
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="run", desc="profile_many", dynamic_ncols=True)

    def update(self, rows: List[InputRow]) -> None:
        if self.bar is None:
            return
        failed = sum(1 for r in rows if not r.ok)
        if failed:
            self.failed += failed
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(len(rows))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Collector:
    """The driver's state: rows by input index, the running sum, module loads per worker."""

    def __init__(self, progress: Progress) -> None:
        self.rows: Dict[int, InputRow] = {}
        self.total: Optional[PartialProfile] = None
        self.loads: Dict[str, int] = {}
        self.shipments = 0
        self.progress = progress

    def add_rows(self, result: ChunkResult) -> None:
        new = [row for row in result.rows if row.index not in self.rows]  # a chunk run again brings them again
        for row in result.rows:
            self.rows[row.index] = row
        if result.worker:
            self.loads[result.worker] = max(self.loads.get(result.worker, 0), result.loads)
        self.progress.update(new)

    def add_partial(self, data: Optional[bytes]) -> None:
        if data is None:
            return
        part = PartialProfile.from_bytes(data)
        self.total = part if self.total is None else self.total.add(part)

    def add(self, result: ChunkResult) -> None:
        self.add_partial(result.partial)
        self.add_rows(result)

    def fail(self, items: Sequence[Item], status: str, error: str) -> None:
        rows = [InputRow(index=i, label=label, status=status, error=error) for i, _inp, label in items]
        self.add_rows(ChunkResult(worker="", loads=0, rows=rows))


# -- local executors ---------------------------------------------------------------------------------


def _kill_pool(executor: cf.ProcessPoolExecutor) -> None:
    """Stop a process pool now, running tasks included."""
    executor.shutdown(wait=False, cancel_futures=True)
    kill = getattr(executor, "kill_workers", None)  # Python 3.14
    if kill is not None:
        kill()
        return
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for p in processes:
        p.kill()
    for p in processes:
        p.join(5)


def _crash_reason(exitcode: Optional[int]) -> str:
    if exitcode is None:
        return "the worker process did not end"
    if exitcode < 0:
        try:
            return f"the worker process was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"the worker process was killed by signal {-exitcode}"
    return f"the worker process exited with status {exitcode} while running it"


def run_alone(items: List[Item], job: Job, data: bytes, ctx: Any, collector: Collector, stop: StopFlag,
              at_once: int) -> None:
    """Each input in a process of its own on this machine (``at_once`` at a time): the exact verdict on
    inputs that were running when a worker died.  One that kills its process again is "crashed", with the
    process's exit status or signal; the others get their ordinary rows and profiles."""
    todo = deque(items)
    running: List[Tuple[Any, Any, Item]] = []
    while todo or running:
        while todo and len(running) < at_once and not stop.stopped.is_set():
            item = todo.popleft()
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=run_isolated_main, args=(send, job, data, *item), daemon=True)
            p.start()
            send.close()
            running.append((p, recv, item))
        if stop.stopped.is_set():
            for p, _recv, _item in running:
                p.kill()
                p.join()
            return
        ready = multiprocessing.connection.wait([recv for _p, recv, _item in running], timeout=0.1)
        for entry in [e for e in running if e[1] in ready]:
            p, recv, item = entry
            running.remove(entry)
            try:
                result = recv.recv()
            except (EOFError, OSError):
                result = None
            p.join()
            if isinstance(result, ChunkResult):
                collector.add(result)
            else:
                collector.fail([item], "crashed", _crash_reason(p.exitcode))


class LocalRunner:
    """Runs chunks on a concurrent.futures executor; a dead worker's input is found and run alone."""

    def __init__(self, job: Job, data: bytes, executor: Optional[cf.Executor], workers: int,
                 mp_context: Any, collector: Collector, stop: StopFlag) -> None:
        self.data = data
        self.workers = workers
        self.ctx = mp_context if mp_context is not None else multiprocessing.get_context()
        self.collector = collector
        self.stop = stop
        self.own = executor is None
        self.markers = tempfile.mkdtemp(prefix="wasmprof-many-")
        self.job = replace(job, marker_dir=self.markers)
        self.executor = executor if executor is not None else self._new_pool()
        if isinstance(executor, cf.ThreadPoolExecutor):  # its threads share this process's module cache
            install_module(job.digest, data)
        self.with_data = False  # an executor without our initializer gets the bytes on a miss
        self.inflight: Dict[cf.Future, List[Item]] = {}
        self.queue: Deque[List[Item]] = deque()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=self.ctx, initializer=worker_init,
                                      initargs=(self.job.digest, self.data))

    def _submit(self, chunk: List[Item], data: Optional[bytes] = None) -> None:
        try:
            self.inflight[self.executor.submit(run_chunk, self.job, chunk, data)] = chunk
        except cf.BrokenExecutor:  # a worker died before we heard of it
            self._recover([chunk])

    def run(self, chunks: List[List[Item]]) -> bool:
        """Run every chunk; returns True when Ctrl-C stopped it."""
        self.queue.extend(chunks)
        try:
            while self.queue or self.inflight:
                if self.stop.stopped.is_set():
                    self._cancel()
                    return True
                while self.queue and len(self.inflight) < 2 * self.workers:
                    self._submit(self.queue.popleft())
                done, _ = cf.wait(list(self.inflight), timeout=0.1, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    if fut in self.inflight:
                        self._finish(fut)
            return False
        finally:
            if self.own:
                self.executor.shutdown(wait=True)
            shutil.rmtree(self.markers, ignore_errors=True)

    def _finish(self, fut: cf.Future) -> None:
        chunk = self.inflight.pop(fut)
        try:
            result = fut.result()
        except cf.BrokenExecutor:
            self._recover([chunk])
            return
        except cf.CancelledError:
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an input that cannot be pickled: those rows say so
            self.collector.fail(chunk, "error", f"{type(exc).__name__}: {exc}")
            return
        if isinstance(result, str) and result == NEED_MODULE:
            self.collector.shipments += 1
            self._submit(chunk, self.data)
            return
        self.collector.add(result)

    def _recover(self, lost: List[List[Item]]) -> None:
        """A worker died: the pool is broken.  Keep what finished, run alone each input that a worker was
        running (the one that died among them), requeue the rest on a new pool."""
        cf.wait(list(self.inflight))
        for fut, chunk in list(self.inflight.items()):
            try:
                result = fut.result()
            except (cf.BrokenExecutor, cf.CancelledError):
                lost.append(chunk)
                continue
            except Exception as exc:  # noqa: BLE001
                self.collector.fail(chunk, "error", f"{type(exc).__name__}: {exc}")
                continue
            if isinstance(result, str) and result == NEED_MODULE:
                lost.append(chunk)
            else:
                self.collector.add(result)
        self.inflight.clear()
        items = [it for chunk in lost for it in chunk if it[0] not in self.collector.rows]
        running = self._running_indices()
        suspects = [it for it in items if it[0] in running]
        rest = [it for it in items if it[0] not in running]
        if self.own:
            _kill_pool(self.executor)  # type: ignore[arg-type]
        else:
            warnings.warn("profile_many: a worker of the given executor died, which breaks it; the remaining "
                          f"inputs run on a new process pool of {self.workers} workers", RuntimeWarning,
                          stacklevel=2)
            self.own = True
        self._run_alone(suspects)
        self.queue.extendleft(reversed([[it] for it in rest]))
        self.executor = self._new_pool()

    def _running_indices(self) -> set:
        """The inputs that workers had started (from their marker files)."""
        out = set()
        for name in os.listdir(self.markers):
            try:
                with open(os.path.join(self.markers, name), "rb") as f:
                    text = f.read().strip()
                out.add(int(text))
            except (OSError, ValueError):
                continue
        return out

    def _run_alone(self, items: List[Item]) -> None:
        run_alone(items, self.job, self.data, self.ctx, self.collector, self.stop, self.workers)

    def _cancel(self) -> None:
        """Ctrl-C: keep what finished, stop the rest."""
        for fut in list(self.inflight):
            if fut.done():
                self._finish(fut)
        for fut in self.inflight:
            fut.cancel()
        if self.own:
            _kill_pool(self.executor)  # type: ignore[arg-type]
        self.inflight.clear()
        self.queue.clear()


# -- the entry point ---------------------------------------------------------------------------------


def _cluster_kind(executor: Any) -> Optional[str]:
    if isinstance(executor, str):
        if executor == "ray":
            return "ray"
        raise ValueError(f"profile_many(): unknown executor {executor!r} (give an Executor, a "
                         f"distributed.Client, or \"ray\")")
    if getattr(executor, "__name__", None) == "ray":
        return "ray"
    if type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "scatter"):
        return "dask"
    return None


def profile_many(
    module: ModuleSource,
    inputs: Union[Iterable[Any], Mapping[Any, Any]],
    *,
    invoke: Optional[str] = None,
    executor: Any = None,
    workers: Optional[int] = None,
    imports: Imports = None,
    cost: Any = None,
    time: bool = False,
    max_ticks: Optional[int] = None,
    max_depth: Optional[int] = None,
    chunksize: Optional[int] = None,
    include_failed: bool = True,
    progress: Optional[bool] = None,
    mp_context: Any = None,
) -> ManyProfile:
    """Profile one run per input, in parallel, and merge the profiles exactly.

    ``module``: a path, the module's bytes, or a Module read from a file.
    ``inputs``: an iterable (or a mapping label -> input) of inputs, each a
    :class:`RunInput`, a tuple/list of arguments, bytes (a WASI command's
    stdin) or a single argument.  ``invoke``: the export to call (default
    ``_start``); a WASI module run as a command gets the arguments as its
    argv[1:].

    ``executor``: None for a process pool of ``workers`` processes (default:
    the machine's cores); any ``concurrent.futures.Executor`` (a given pool
    that breaks because a worker died is replaced by a process pool for the
    rest); a Dask ``distributed.Client``; or ``"ray"`` (the current Ray
    connection, or ``ray.init()``).  Process pools use ``mp_context``
    (default: multiprocessing's default start method).

    ``imports``: the imports of every run, a mapping of picklable host
    functions, or a picklable zero-argument callable returning the mapping
    (called once per run, on the worker).  ``cost``, ``time``,
    ``max_ticks`` and ``max_depth`` are :func:`wasmprof.profile`'s.
    ``chunksize``: inputs per task (default: about 8 tasks per worker, at
    most 64 inputs each).  ``include_failed``: add the profiles of runs that
    trapped, hit the limit or raised, up to that point (default True).
    ``progress``: a tqdm bar over inputs (default: when stderr is a
    terminal, or in Jupyter).

    Returns a :class:`ManyProfile`: ``.profile`` (merged), ``.rows`` /
    ``.inputs`` (DataFrame), ``.top_inputs(n)``.  Mistakes (an unknown
    export, a wrong argument count, bad options) raise before any work
    starts; what a run does never does: it is in the run's row.  Ctrl-C
    (SIGINT in the main thread) stops the work and returns what finished,
    with ``interrupted`` set.
    """
    data, module_name = _module_source(module)
    decoded = Module(data)
    name = entry_point(decoded, invoke)
    wasi = imports_wasi(decoded)
    table = load_cost_table(cost)
    for opt, value in (("max_ticks", max_ticks), ("max_depth", max_depth), ("workers", workers)):
        if value is not None and value < 1:
            raise ValueError(f"{opt} must be at least 1")
    items = normalise_inputs(inputs)
    _check_args(decoded, name, wasi, invoke, items)
    job = Job(digest=hashlib.sha256(data).hexdigest(), module_name=module_name, invoke=name, wasi=wasi,
              command=wasi and invoke is None,
              imports=imports, cost={**table.costs, "default": table.default, "per_call": table.per_call},
              time=bool(time), max_ticks=max_ticks, max_depth=max_depth, include_failed=include_failed)
    kind = _cluster_kind(executor)
    if kind is None:
        if executor is not None and not isinstance(executor, cf.Executor):
            raise TypeError(f"profile_many(): executor must be a concurrent.futures.Executor, a "
                            f"distributed.Client or \"ray\", not {type(executor).__name__}")
        if not isinstance(executor, cf.ThreadPoolExecutor):
            try:
                pickle.dumps((job, items))
            except Exception as exc:
                raise TypeError(f"profile_many(): the imports or inputs cannot be sent to worker processes "
                                f"({exc}); use module-level functions, or a thread pool") from None
        n_workers = workers or getattr(executor, "_max_workers", None) or default_workers()
    elif kind == "dask":
        n_workers = workers or max(1, sum(executor.nthreads().values()))
    else:
        from .many_cluster import ray_workers

        n_workers = workers or ray_workers()
    chunks = chunk_items(items, n_workers, chunksize)

    bar = Progress(len(items), progress)
    collector = Collector(bar)
    try:
        with StopFlag() as stop:
            if kind is None:
                runner = LocalRunner(job, data, executor, n_workers, mp_context, collector, stop)
                interrupted = runner.run(chunks)
            elif kind == "dask":
                from .many_cluster import run_dask

                interrupted = run_dask(executor, job, data, chunks, collector, stop)
            else:
                from .many_cluster import run_ray

                interrupted = run_ray(job, data, chunks, collector, stop)
    finally:
        bar.close()
    rows = [collector.rows.get(i) or InputRow(index=i, label=label, status="cancelled")
            for i, _inp, label in items]
    total = collector.total
    if total is None:
        total = PartialProfile.empty(module_name, table.describe(), bool(time), root_name=name or "<module>")
    merged = total.to_profile()
    # the partials carry per-instruction counts; their source lines come from the module, here
    merged.locations = source_positions(decoded, sorted({o for n in merged.nodes for o in n.offsets or ()}))
    return ManyProfile(profile=merged, rows=rows, interrupted=interrupted, module_loads=dict(collector.loads),
                       module_shipments=collector.shipments)
