"""profile_many on a Dask cluster (a LocalCluster of 2 worker processes, one for the module): the merged
profile equals the runs profiled one by one; a worker that dies leaves its input "crashed" and the rest
complete."""
from __future__ import annotations

import os

import pytest

import wasmprof
from helpers.many_runs import (EXITS, KERNEL, KILLED, KERNEL_INPUTS, harmless_hook, hook_imports, hook_module, one_by_one,
                               path_counters)
from helpers.paths import TESTS
from wasmprof.profiles.wire import canonical

distributed = pytest.importorskip("distributed", reason="pip install wasmprof[dask]")


@pytest.fixture(scope="module")
def client():
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), old]))  # workers import helpers
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    yield client
    client.close()
    cluster.close()


def test_dask_equals_one_by_one(client):
    result = wasmprof.profile_many(KERNEL, KERNEL_INPUTS, invoke="run", executor=client, progress=False)
    expected = one_by_one(KERNEL, KERNEL_INPUTS, invoke="run")
    assert result.profile == canonical(expected)
    assert path_counters(result.profile) == path_counters(expected)
    assert [r.status for r in result.rows] == ["ok"] * len(KERNEL_INPUTS)
    assert [r.ticks for r in result.rows] == [wasmprof.profile(KERNEL, invoke="run", args=(n,)).total_ticks
                                              for n in KERNEL_INPUTS]
    # each worker process decoded the module once
    assert 1 <= len(result.module_loads) <= 2 and set(result.module_loads.values()) == {1}


def test_dask_worker_death_is_in_its_row(client):
    inputs = list(range(20))
    wasm = hook_module()
    result = wasmprof.profile_many(wasm, inputs, invoke="run", imports=hook_imports, executor=client, chunksize=5,
                                   progress=False)
    crashed = result.rows[EXITS]
    # Dask gave up on the chunk (KilledWorker); its inputs ran here one by one, for the exact verdict
    assert crashed.status == "crashed", crashed
    assert crashed.error == "the worker process exited with status 3 while running it"
    assert result.rows[KILLED].error == "the worker process was killed by SIGKILL"
    others = [n for n in inputs if n not in (EXITS, KILLED)]
    assert [result.rows[n].status for n in others] == ["ok"] * len(others)
    imports = {"env": {"hook": harmless_hook}}
    assert result.profile == canonical(one_by_one(wasm, others, invoke="run", imports=imports))


def test_dask_scheduler_logs_no_error(client, caplog):
    # The scheduler runs in this process: releasing the module's future must not trip its assertions
    # (client.cancel() of a future nobody else wanted did: "AssertionError ... assert ts.who_wants").
    with caplog.at_level("ERROR", logger="distributed"):
        for _ in range(2):
            result = wasmprof.profile_many(KERNEL, KERNEL_INPUTS, invoke="run", executor=client, progress=False)
            assert [r.status for r in result.rows] == ["ok"] * len(KERNEL_INPUTS)
        client.run_on_scheduler(lambda: None)  # a round trip: the scheduler has handled the release
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
