"""``profile_many`` on a cluster: Dask (``distributed.Client``) and Ray.

Both ship the module once (Dask: a task whose result is the module's
bytes, fetched from a peer by each worker that needs it; Ray: one
``ray.put``, fetched by a worker only while its cache misses), submit one
task per chunk, and fetch only each chunk's rows: the chunks' partial
profiles stay on the cluster and are summed there by a tree of merge tasks
(two ready partials make a merge task, until one is left), so the driver
downloads one partial profile at the end.

Workers that die: the inputs of a chunk whose worker died while running it
are run again one by one, so that only the input that kills its worker is
reported "crashed": on Ray (``WorkerCrashedError``; a task has a worker
process of its own) as tasks of one input, on Dask (``KilledWorker``, after
its allowed failures, which also blames tasks that were only waiting on
that worker) each in a process of its own on this machine.  A partial profile that the cluster lost with a worker
and could not compute again (a merge that failed) has its chunks run
again: each tree node knows the chunks it covers, so every chunk is counted
exactly once.  Ctrl-C cancels the outstanding chunks, lets the running
merges finish and sums what finished.
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import CancelledError
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import many
from .many_worker import ChunkResult, Job, chunk_rows, merge_parts, run_chunk

__all__ = ["run_dask", "run_ray", "ray_workers"]

Item = Tuple[int, Any, str]
Chunk = List[Item]
POLL_S = 0.05  # how often the driver looks for finished tasks and for Ctrl-C
MERGE_WAIT_S = 60.0  # after Ctrl-C: how long the running merges may take
MAX_RERUNS = 3  # a chunk whose result the cluster loses more often than this is reported as an error


def _crash_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"the worker died while running it ({type(exc).__name__}: {text[0] if text else ''})"


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


class _Tree:
    """The driver's view of the reduction: chunks running, partials ready, merges running, and for each the
    chunks it covers (to run them again if the cluster loses it)."""

    def __init__(self, submit_chunk: Callable[[Chunk], Tuple[Any, Any]], submit_merge: Callable[[Any, Any], Any],
                 collector: Any) -> None:
        self.submit_chunk = submit_chunk
        self.submit_merge = submit_merge
        self.collector = collector
        self.pending: Dict[Any, Tuple[Chunk, Any]] = {}  # rows handle -> (chunk, partial handle)
        self.ready: List[Tuple[Any, List[Chunk]]] = []
        self.merging: Dict[Any, List[Chunk]] = {}
        self.reruns: Dict[int, int] = {}  # first input of a chunk -> times it ran again
        #: how to find the input that killed a chunk's worker: here, each input alone (Dask), or None to run
        #: the chunk again input by input on the cluster (Ray, which runs each task in a process of its own)
        self.run_alone: Optional[Callable[[Chunk], None]] = None

    def submit(self, chunk: Chunk) -> None:
        rows, part = self.submit_chunk(chunk)
        self.pending[rows] = (chunk, part)

    def add_ready(self, part: Any, covered: List[Chunk]) -> None:
        self.ready.append((part, covered))
        while len(self.ready) >= 2:
            (b, cb), (a, ca) = self.ready.pop(), self.ready.pop()
            self.merging[self.submit_merge(a, b)] = ca + cb

    def rerun(self, chunks: List[Chunk], exc: BaseException) -> None:
        """Chunks whose partial profile is lost: run them again (their rows come again, the same)."""
        for chunk in chunks:
            tries = self.reruns[chunk[0][0]] = self.reruns.get(chunk[0][0], 0) + 1
            if tries <= MAX_RERUNS:
                self.submit(chunk)
            else:
                self.collector.fail(chunk, "error", f"the cluster lost its result {tries} times "
                                                    f"({_error_text(exc)})")

    def chunk_failed(self, chunk: Chunk, exc: BaseException, crashed: bool) -> None:
        if not crashed:
            self.collector.fail(chunk, "error", _error_text(exc))
        elif self.run_alone is not None:
            self.run_alone(chunk)
        elif len(chunk) > 1:
            for item in chunk:
                self.submit([item])
        else:
            self.collector.fail(chunk, "crashed", _crash_text(exc))

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.merging)


# -- Dask ------------------------------------------------------------------------------------------------


def module_bytes(data: bytes) -> bytes:
    return data


def run_dask(client: Any, job: Job, data: bytes, chunks: List[Chunk], collector: Any, stop: Any) -> bool:
    """Run the chunks on a Dask cluster; returns True when Ctrl-C stopped it."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    # A task that returns the bytes (not scatter): a worker fetches the result from a peer once and keeps
    # it while tasks need it, and when every holder died the scheduler computes it again.
    module = client.submit(module_bytes, data, pure=False)
    done = as_completed()

    def submit_chunk(chunk: Chunk) -> Tuple[Any, Any]:
        result = client.submit(run_chunk, job, chunk, module, pure=False)
        rows = client.submit(chunk_rows, result, pure=False)
        done.add(rows)
        return rows, result

    def submit_merge(a: Any, b: Any) -> Any:
        m = client.submit(merge_parts, a, b, pure=False)
        done.add(m)
        return m

    tree = _Tree(submit_chunk, submit_merge, collector)
    # Dask's KilledWorker also blames tasks that were only waiting on the worker that died: the inputs of
    # such a chunk run here, each in a process of its own, for an exact verdict.
    tree.run_alone = lambda chunk: many.run_alone(chunk, job, data, multiprocessing.get_context(), collector, stop,
                                                  many.default_workers())
    for chunk in chunks:
        tree.submit(chunk)
    interrupted = False
    try:
        while tree.busy or tree.ready:
            if stop.stopped.is_set():
                interrupted = True
                client.cancel([f for pair in tree.pending.values() for f in pair[1:]] + list(tree.pending))
                tree.pending.clear()
                break
            batch = done.next_batch(block=False) if done.has_ready() else []
            if not batch:
                stop.stopped.wait(POLL_S)
            for fut in batch:
                if fut in tree.merging:
                    covered = tree.merging.pop(fut)
                    if fut.status == "finished":
                        tree.add_ready(fut, covered)
                    else:
                        tree.rerun(covered, _exception(fut))
                    continue
                chunk, result = tree.pending.pop(fut, (None, None))
                if chunk is None:
                    continue
                try:
                    rows = fut.result()
                except KilledWorker as exc:  # its worker died while running it
                    tree.chunk_failed(chunk, exc, crashed=True)
                    continue
                except (CancelledError, OSError) as exc:  # lost with a worker that died later
                    tree.rerun([chunk], exc)
                    continue
                except Exception as exc:  # noqa: BLE001 - what run_chunk itself raised
                    tree.chunk_failed(chunk, exc, crashed=False)
                    continue
                collector.add_rows(rows)
                tree.add_ready(result, [chunk])
            if not tree.busy and tree.ready:  # the root of the tree: fetch it
                fut, covered = tree.ready.pop()
                try:
                    part = fut.result()
                except Exception as exc:  # noqa: BLE001 - lost at the last moment: run its chunks again
                    tree.rerun(covered, exc)
                    continue
                collector.add_partial(part.partial if isinstance(part, ChunkResult) else part)
        if tree.merging:  # Ctrl-C: the merges running now are quick
            deadline = time.monotonic() + MERGE_WAIT_S
            while any(f.status == "pending" for f in tree.merging) and time.monotonic() < deadline:
                time.sleep(POLL_S)
            tree.ready.extend((f, c) for f, c in tree.merging.items() if f.status == "finished")
        for fut, covered in tree.ready:  # after Ctrl-C
            try:
                part = fut.result()
            except Exception:  # noqa: BLE001
                for chunk in covered:
                    collector.fail(chunk, "error", "its partial profile was lost with a worker")
                continue
            collector.add_partial(part.partial if isinstance(part, ChunkResult) else part)
    finally:
        module.release()  # cancel() trips an assertion in the scheduler when no other client wants it
    return interrupted


def _exception(fut: Any) -> BaseException:
    try:
        exc = fut.exception()
    except BaseException as e:  # noqa: BLE001 - cancelled futures raise here
        exc = e
    return exc if isinstance(exc, BaseException) else RuntimeError(f"merge task {fut.status}")


# -- Ray ---------------------------------------------------------------------------------------------------

_RAY_FUNCS: Dict[str, Any] = {}


def _ray_chunk(job: Job, chunk: Chunk, module: List[Any]) -> Tuple[ChunkResult, Optional[bytes]]:
    """Two results (Ray's num_returns=2): the rows for the driver, the partial profile for the reduction."""
    result = run_chunk(job, chunk, module)
    return chunk_rows(result), result.partial


def _ensure_ray() -> Any:
    import ray

    if not ray.is_initialized():
        ray.init()
    return ray


def _discard(ray: Any, ref: Any) -> None:
    """Fetch a failed task's other result, so that Ray does not report its error as unhandled."""
    try:
        ray.get(ref)
    except Exception:  # noqa: BLE001 - the same error as its rows'
        pass


def ray_workers() -> int:
    """The CPUs of the Ray cluster (connecting to it, or starting a local one, first)."""
    ray = _ensure_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def run_ray(job: Job, data: bytes, chunks: List[Chunk], collector: Any, stop: Any) -> bool:
    """Run the chunks as Ray tasks; returns True when Ctrl-C stopped it."""
    ray = _ensure_ray()
    from ray.exceptions import NodeDiedError, RayError, WorkerCrashedError

    if not _RAY_FUNCS:
        # A crash is not retried by Ray: the chunk runs again input by input, to find the input.
        _RAY_FUNCS["chunk"] = ray.remote(num_returns=2, max_retries=0)(_ray_chunk)
        _RAY_FUNCS["merge"] = ray.remote(merge_parts)
    module_ref = ray.put(data)
    tree = _Tree(lambda chunk: _RAY_FUNCS["chunk"].remote(job, chunk, [module_ref]),  # a list: fetched on a miss
                 lambda a, b: _RAY_FUNCS["merge"].remote(a, b), collector)
    for chunk in chunks:
        tree.submit(chunk)
    interrupted = False
    while tree.busy or tree.ready:
        if stop.stopped.is_set():
            interrupted = True
            for ref in tree.pending:
                ray.cancel(ref, force=True)
            tree.pending.clear()
            break
        if not tree.busy:  # the root of the tree: fetch it
            ref, covered = tree.ready.pop()
            try:
                collector.add_partial(ray.get(ref))
            except RayError as exc:  # a merge failed, or its result was lost: run its chunks again
                tree.rerun(covered, exc)
            continue
        refs = list(tree.pending) + list(tree.merging)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=POLL_S)
        for ref in ready:
            if ref in tree.merging:  # not fetched: a failed merge shows when the root is fetched
                tree.add_ready(ref, tree.merging.pop(ref))
                continue
            chunk, part = tree.pending.pop(ref)
            try:
                rows = ray.get(ref)
            except RayError as exc:
                _discard(ray, part)
                tree.chunk_failed(chunk, exc, crashed=isinstance(exc, (WorkerCrashedError, NodeDiedError)))
                continue
            collector.add_rows(rows)
            tree.add_ready(part, [chunk])
    if tree.merging:  # after Ctrl-C: the merges running now are quick
        ray.wait(list(tree.merging), num_returns=len(tree.merging), timeout=MERGE_WAIT_S)
        tree.ready.extend(tree.merging.items())
    for ref, covered in tree.ready:
        try:
            part = ray.get(ref)
        except RayError:
            for chunk in covered:
                collector.fail(chunk, "error", "its partial profile was lost with a worker")
            continue
        collector.add_partial(part)
    return interrupted
