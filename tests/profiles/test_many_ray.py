"""profile_many on Ray (a local Ray instance of 2 CPUs, started once for the module; Ray no longer has a
"local mode"): the merged profile equals the runs profiled one by one; a worker that dies leaves its
input "crashed" and the rest complete."""
from __future__ import annotations

import os

import pytest

import wasmprof
from helpers.many_runs import (EXITS, KERNEL, KERNEL_INPUTS, KILLED, harmless_hook, hook_imports, hook_module,
                               one_by_one, path_counters)
from helpers.paths import TESTS
from helpers.signals import FATAL, handler_address, kept_fatal_signal_handlers
from wasmprof.profiles.wire import canonical

ray = pytest.importorskip("ray", reason="pip install wasmprof[ray]")


@pytest.fixture(scope="module")
def local_ray():
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))  # workers import helpers
    before = {signo: handler_address(signo) for signo in FATAL}
    with kept_fatal_signal_handlers():  # Ray's shutdown leaves SIG_DFL (helpers/signals.py)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path, "RAY_IGNORE_UNHANDLED_ERRORS": "1"}})
        yield "ray"
        ray.shutdown()
    assert {signo: handler_address(signo) for signo in FATAL} == before


def test_ray_equals_one_by_one(local_ray):
    result = wasmprof.profile_many(KERNEL, KERNEL_INPUTS, invoke="run", executor=local_ray, progress=False)
    expected = one_by_one(KERNEL, KERNEL_INPUTS, invoke="run")
    assert result.profile == canonical(expected)
    assert path_counters(result.profile) == path_counters(expected)
    assert [r.status for r in result.rows] == ["ok"] * len(KERNEL_INPUTS)
    assert [r.ticks for r in result.rows] == [wasmprof.profile(KERNEL, invoke="run", args=(n,)).total_ticks
                                              for n in KERNEL_INPUTS]
    assert set(result.module_loads.values()) == {1}  # each Ray worker process fetched the module once


def test_ray_worker_death_is_in_its_row(local_ray):
    inputs = list(range(20))
    wasm = hook_module()
    result = wasmprof.profile_many(wasm, inputs, invoke="run", imports=hook_imports, executor=local_ray,
                                   chunksize=5, progress=False)
    for n in (EXITS, KILLED):
        assert result.rows[n].status == "crashed" and "WorkerCrashedError" in result.rows[n].error, result.rows[n]
    others = [n for n in inputs if n not in (EXITS, KILLED)]
    assert [result.rows[n].status for n in others] == ["ok"] * len(others)
    imports = {"env": {"hook": harmless_hook}}
    assert result.profile == canonical(one_by_one(wasm, others, invoke="run", imports=imports))
