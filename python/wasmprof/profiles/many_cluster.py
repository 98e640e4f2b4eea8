"""``profile_many`` on a cluster: Dask (``distributed.Client``) and Ray.

Both ship the module once (Dask: a broadcast ``scatter``; Ray: one
``ray.put``, fetched by a worker only while its cache misses), submit one
task per chunk, and fetch only each chunk's rows: the chunks' partial
profiles stay on the cluster and are summed there by a tree of merge tasks
(two ready partials make a merge task, until one is left), so the driver
downloads one partial profile at the end.  A chunk whose worker died
(Dask's ``KilledWorker``, Ray's ``WorkerCrashedError``) is run again input
by input, so only the input that kills its worker is reported "crashed".
Ctrl-C cancels the outstanding chunks, lets the running merges finish and
sums what finished.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from .many_worker import ChunkResult, Job, chunk_rows, merge_parts, run_chunk

__all__ = ["run_dask", "run_ray", "ray_workers"]

Item = Tuple[int, Any, str]
POLL_S = 0.05  # how often the driver looks for finished tasks and for Ctrl-C
MERGE_WAIT_S = 60.0  # after Ctrl-C: how long the running merges may take


def _crash_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"the worker died while running it ({type(exc).__name__}: {text[0] if text else ''})"


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


class _Reduction:
    """The partial profiles not yet summed: ready ones (futures or refs) and merges running."""

    def __init__(self, submit_merge: Any) -> None:
        self.ready: List[Any] = []
        self.merging: Set[Any] = set()
        self.submit_merge = submit_merge

    def add_ready(self, part: Any) -> None:
        self.ready.append(part)
        while len(self.ready) >= 2:
            b, a = self.ready.pop(), self.ready.pop()
            self.merging.add(self.submit_merge(a, b))


# -- Dask ------------------------------------------------------------------------------------------------


def run_dask(client: Any, job: Job, data: bytes, chunks: List[List[Item]], collector: Any, stop: Any) -> bool:
    """Run the chunks on a Dask cluster; returns True when Ctrl-C stopped it."""
    from distributed import as_completed, wait
    from distributed.scheduler import KilledWorker

    module = client.scatter(data, broadcast=True, hash=False)
    pending: Dict[Any, Tuple[List[Item], Any]] = {}  # rows future -> (chunk, chunk future)
    done = as_completed()

    def submit(chunk: List[Item]) -> None:
        result = client.submit(run_chunk, job, chunk, module, pure=False)
        rows = client.submit(chunk_rows, result, pure=False)
        pending[rows] = (chunk, result)
        done.add(rows)

    def merge(a: Any, b: Any) -> Any:
        m = client.submit(merge_parts, a, b, pure=False)
        done.add(m)
        return m

    reduction = _Reduction(merge)
    for chunk in chunks:
        submit(chunk)
    interrupted = False
    try:
        while pending or reduction.merging:
            if stop.stopped.is_set():
                interrupted = True
                client.cancel([f for pair in pending.values() for f in pair[1:]] + list(pending))
                pending.clear()
                break
            batch = done.next_batch(block=False) if done.has_ready() else []
            if not batch:
                stop.stopped.wait(POLL_S)
            for fut in batch:
                if fut in reduction.merging:
                    reduction.merging.discard(fut)
                    fut.result()  # a merge of valid partials does not fail; if it does, say so
                    reduction.add_ready(fut)
                    continue
                chunk, result = pending.pop(fut, (None, None))
                if chunk is None:
                    continue
                if fut.status == "finished":
                    collector.add_rows(fut.result())
                    reduction.add_ready(result)
                elif fut.status == "error":
                    exc = fut.exception()
                    if isinstance(exc, KilledWorker):
                        if len(chunk) > 1:
                            for item in chunk:
                                submit([item])
                        else:
                            collector.fail(chunk, "crashed", _crash_text(exc))
                    else:
                        collector.fail(chunk, "error", _error_text(exc))
        if reduction.merging:
            wait(list(reduction.merging), timeout=MERGE_WAIT_S)
            reduction.ready.extend(f for f in reduction.merging if f.status == "finished")
        for part in client.gather(reduction.ready):
            collector.add_partial(part.partial if isinstance(part, ChunkResult) else part)
    finally:
        client.cancel([module])
    return interrupted


# -- Ray ---------------------------------------------------------------------------------------------------

_RAY_FUNCS: Dict[str, Any] = {}


def _ray_chunk(job: Job, chunk: List[Item], module: List[Any]) -> Tuple[ChunkResult, Optional[bytes]]:
    """Two results (Ray's num_returns=2): the rows for the driver, the partial profile for the reduction."""
    result = run_chunk(job, chunk, module)
    return chunk_rows(result), result.partial


def _ensure_ray() -> Any:
    import ray

    if not ray.is_initialized():
        ray.init()
    return ray


def ray_workers() -> int:
    """The CPUs of the Ray cluster (connecting to it, or starting a local one, first)."""
    ray = _ensure_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def run_ray(job: Job, data: bytes, chunks: List[List[Item]], collector: Any, stop: Any) -> bool:
    """Run the chunks as Ray tasks; returns True when Ctrl-C stopped it."""
    ray = _ensure_ray()
    from ray.exceptions import NodeDiedError, RayTaskError, WorkerCrashedError

    if not _RAY_FUNCS:
        # A crash is not retried by Ray: this module reruns the chunk input by input.
        _RAY_FUNCS["chunk"] = ray.remote(num_returns=2, max_retries=0)(_ray_chunk)
        _RAY_FUNCS["merge"] = ray.remote(merge_parts)
    module_ref = ray.put(data)
    pending: Dict[Any, Tuple[List[Item], Any]] = {}  # rows ref -> (chunk, partial ref)

    def submit(chunk: List[Item]) -> None:
        rows, part = _RAY_FUNCS["chunk"].remote(job, chunk, [module_ref])  # a list: fetched only on a miss
        pending[rows] = (chunk, part)

    reduction = _Reduction(lambda a, b: _RAY_FUNCS["merge"].remote(a, b))
    for chunk in chunks:
        submit(chunk)
    interrupted = False
    while pending or reduction.merging:
        if stop.stopped.is_set():
            interrupted = True
            for ref in pending:
                ray.cancel(ref, force=True)
            pending.clear()
            break
        refs = list(pending) + list(reduction.merging)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=POLL_S)
        for ref in ready:
            if ref in reduction.merging:
                reduction.merging.discard(ref)
                reduction.add_ready(ref)
                continue
            chunk, part = pending.pop(ref)
            try:
                collector.add_rows(ray.get(ref))
            except (WorkerCrashedError, NodeDiedError) as exc:
                if len(chunk) > 1:
                    for item in chunk:
                        submit([item])
                else:
                    collector.fail(chunk, "crashed", _crash_text(exc))
                continue
            except RayTaskError as exc:
                collector.fail(chunk, "error", _error_text(exc))
                continue
            reduction.add_ready(part)
    if reduction.merging:
        ray.wait(list(reduction.merging), num_returns=len(reduction.merging), timeout=MERGE_WAIT_S)
        reduction.ready.extend(reduction.merging)
    for part in ray.get(reduction.ready):
        collector.add_partial(part)
    return interrupted
