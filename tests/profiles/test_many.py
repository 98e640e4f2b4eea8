"""wasmprof.profile_many on local executors: the merged profile equals, node for node, the runs profiled
one by one in this process and summed by Profile.merge; each input's row is right; a trap and a worker
that dies stay in their rows and the rest is complete."""
from __future__ import annotations

import concurrent.futures as cf
import os

import pytest

import wasmprof
from helpers.many_runs import (EXITS, HOOK_INPUTS, KERNEL, KERNEL_INPUTS, KILLED, TRAPPING, harmless_hook,
                               hook_imports, hook_module, one_by_one, path_counters)
from helpers.paths import EXAMPLES
from wasmprof.profiles.wire import canonical


@pytest.fixture(scope="module")
def kernel_runs():
    """Each kernel input profiled alone, in this process: the oracle."""
    return {n: wasmprof.profile(KERNEL, invoke="run", args=(n,)) for n in KERNEL_INPUTS + [TRAPPING]}


def oracle(kernel_runs, inputs):
    profs = [kernel_runs[n] for n in inputs]
    out = profs[0]
    for p in profs[1:]:
        out = out.merge(p)
    return out


def check_rows(result, kernel_runs, inputs):
    assert [r.index for r in result.rows] == list(range(len(inputs)))
    for r, n in zip(result.rows, inputs):
        expected = kernel_runs[n]
        assert r.label == str(n)
        assert r.ticks == expected.total_ticks
        assert r.calls == sum(node.calls for node in expected.nodes[1:])
        assert r.status == ("trap" if expected.trap is not None else "ok"), r
        assert r.wall_s is not None and r.wall_s >= 0 and r.worker


def test_process_pool_equals_one_by_one(kernel_runs):
    result = wasmprof.profile_many(KERNEL, KERNEL_INPUTS, invoke="run", workers=2, progress=False)
    expected = oracle(kernel_runs, KERNEL_INPUTS)
    assert result.profile == canonical(expected)  # node for node, counters and names
    assert path_counters(result.profile) == path_counters(expected)  # the same, without wasmprof's merge code
    assert result.profile.root.calls == len(KERNEL_INPUTS)
    check_rows(result, kernel_runs, KERNEL_INPUTS)
    assert not result.failed and not result.interrupted
    # the module went to each worker once (the pool's initializer), not with each input
    assert 1 <= len(result.module_loads) <= 2 and set(result.module_loads.values()) == {1}
    assert result.module_shipments == 0


def test_a_trap_is_in_its_row_and_the_rest_is_complete(kernel_runs):
    inputs = KERNEL_INPUTS[:50] + [TRAPPING] + KERNEL_INPUTS[50:100]
    result = wasmprof.profile_many(KERNEL, inputs, invoke="run", workers=2, progress=False)
    check_rows(result, kernel_runs, inputs)
    row = result.rows[50]
    assert row.status == "trap" and "out of bounds memory access" in row.error
    assert [r.index for r in result.failed] == [50]
    # the trapped run counts up to its trap, as wasmprof.profile reports it
    assert result.profile == canonical(oracle(kernel_runs, inputs))
    without = wasmprof.profile_many(KERNEL, inputs, invoke="run", workers=2, progress=False, include_failed=False)
    assert without.profile == canonical(oracle(kernel_runs, KERNEL_INPUTS[:100]))
    assert [r.status for r in without.rows] == [r.status for r in result.rows]


def test_a_worker_that_dies_is_in_its_row_and_the_rest_is_complete():
    wasm = hook_module()
    result = wasmprof.profile_many(wasm, HOOK_INPUTS, invoke="run", imports=hook_imports, workers=2, chunksize=4,
                                   progress=False)
    by_index = {r.index: r for r in result.rows}
    assert by_index[EXITS].status == "crashed"
    assert by_index[EXITS].error == "the worker process exited with status 3 while running it"
    assert by_index[KILLED].status == "crashed"
    assert by_index[KILLED].error == "the worker process was killed by SIGKILL"
    assert by_index[EXITS].ticks is None and by_index[KILLED].ticks is None
    others = [n for n in HOOK_INPUTS if n not in (EXITS, KILLED)]
    assert all(by_index[n].status == "ok" for n in others)
    imports = {"env": {"hook": harmless_hook}}
    alone = {n: wasmprof.profile(wasm, invoke="run", args=(n,), imports=imports) for n in others}
    assert [by_index[n].ticks for n in others] == [alone[n].total_ticks for n in others]
    expected = one_by_one(wasm, others, invoke="run", imports=imports)
    assert result.profile == canonical(expected)
    assert any(n.host and n.name == "env.hook" for n in result.profile.nodes)


def test_any_executor(kernel_runs):
    inputs = KERNEL_INPUTS[:60]
    expected = canonical(oracle(kernel_runs, inputs))
    with cf.ProcessPoolExecutor(2) as pool:
        procs = wasmprof.profile_many(KERNEL, inputs, invoke="run", executor=pool, progress=False)
    assert procs.profile == expected
    # (first: a thread pool puts the module in this process's cache, which forked workers would inherit)
    # no initializer here: a task that finds no module comes back and goes again with it, so the bytes go
    # to each worker about once (the tasks in flight at the start, 2 per worker, may all miss)
    assert set(procs.module_loads.values()) == {1} and 1 <= procs.module_shipments <= 8
    with cf.ThreadPoolExecutor(2) as pool:
        threads = wasmprof.profile_many(KERNEL, inputs, invoke="run", executor=pool, progress=False)
    assert threads.profile == expected
    assert list(threads.module_loads.values()) == [1] and threads.module_shipments == 0  # one process: no copy
    check_rows(procs, kernel_runs, inputs)


def test_top_inputs_and_the_table(kernel_runs):
    inputs = {f"n={n}": (n,) for n in (5, 500, 50, 5000)}
    result = wasmprof.profile_many(KERNEL, inputs, invoke="run", workers=2, progress=False)
    df = result.inputs
    assert list(df.columns) == ["label", "status", "ticks", "calls", "exit_code", "error", "wall_s", "worker"]
    assert list(df["label"]) == list(inputs)
    top = result.top_inputs(2)
    assert list(top["label"]) == ["n=5000", "n=500"]
    assert list(top["ticks"]) == [kernel_runs_total(n) for n in (5000, 500)]
    assert list(result.top_inputs(4, by="calls")["label"]) == ["n=5000", "n=500", "n=50", "n=5"]
    with pytest.raises(ValueError, match="cannot sort by 'label'"):
        result.top_inputs(by="label")


def kernel_runs_total(n):
    return wasmprof.profile(KERNEL, invoke="run", args=(n,)).total_ticks


def test_wasi_inputs_argv_stdin_files_env(tmp_path):
    greet = str(EXAMPLES / "greet.wasm")
    inputs = [
        wasmprof.RunInput(args=["a"], env={"NAME": "you"}, stdin=b"first line\nsecond\n",
                          files={"/data/greeting.txt": b"good morning\n"}, label="one"),
        wasmprof.RunInput(args=["a", "b", "c"], label="three"),  # exits with status 1
        b"only stdin\n",
    ]
    result = wasmprof.profile_many(greet, inputs, workers=2, progress=False)
    assert [(r.label, r.status, r.exit_code) for r in result.rows] == [("one", "ok", 0), ("three", "exit", 1),
                                                                        ("#2", "ok", 0)]
    (tmp_path / "greeting.txt").write_bytes(b"good morning\n")
    wasis = [wasmprof.Wasi(args=["greet.wasm", "a"], env={"NAME": "you"}, preopens={"/data": str(tmp_path)},
                           stdin=b"first line\nsecond\n", stdout=bytearray()),
             wasmprof.Wasi(args=["greet.wasm", "a", "b", "c"], stdin=b"", stdout=bytearray()),
             wasmprof.Wasi(args=["greet.wasm"], stdin=b"only stdin\n", stdout=bytearray())]
    alone = [wasmprof.profile(greet, wasi=w) for w in wasis]
    assert [r.ticks for r in result.rows] == [p.total_ticks for p in alone]
    assert alone[0].total_ticks != alone[2].total_ticks  # the file and the environment made a difference
    total = alone[0].merge(alone[1]).merge(alone[2])
    assert result.profile == canonical(total)


def test_mistakes_raise_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"input 1 \('1 2'\): run takes 1 argument, got 2"):
        wasmprof.profile_many(KERNEL, [(1,), (1, 2)], invoke="run", progress=False)
    with pytest.raises(LookupError, match="no exported function 'nope'"):
        wasmprof.profile_many(KERNEL, [(1,)], invoke="nope", progress=False)
    with pytest.raises(TypeError, match="cannot be sent to worker processes"):
        wasmprof.profile_many(hook_module(), [(1,)], invoke="run", imports=lambda: {}, progress=False)
    with pytest.raises(TypeError, match="a Module built from bytes cannot be sent"):
        wasmprof.profile_many(wasmprof.Module(open(KERNEL, "rb").read()), [(1,)], invoke="run")
    with pytest.raises(ValueError, match="max_ticks must be at least 1"):
        wasmprof.profile_many(KERNEL, [(1,)], invoke="run", max_ticks=0)
    with pytest.raises(TypeError, match="executor must be"):
        wasmprof.profile_many(KERNEL, [(1,)], invoke="run", executor=object())
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        wasmprof.profile_many(KERNEL, [(1,)], invoke="run", executor="spark")


def test_limit_and_host_errors_are_rows():
    def boom(n):  # only a thread pool can take a closure
        if n == 3:
            raise RuntimeError("host says no")
        return n

    with cf.ThreadPoolExecutor(1) as pool:
        result = wasmprof.profile_many(hook_module(), [1, 3, 500], invoke="run", imports={"env": {"hook": boom}},
                                       executor=pool, max_ticks=20_000, progress=False)
    assert [r.status for r in result.rows] == ["ok", "error", "limit"]
    assert result.rows[1].error == "RuntimeError: host says no"
    assert result.rows[2].error == "LimitError: tick limit 20000 reached" and result.rows[2].ticks == 20_000
    assert result.profile.total_ticks == sum(r.ticks for r in result.rows)


def test_module_from_a_file_keeps_its_name(kernel_runs):
    module = wasmprof.Module.from_file(KERNEL)
    result = wasmprof.profile_many(module, [(3,)], invoke="run", workers=1, progress=False)
    assert result.profile.module_name == os.path.basename(KERNEL)
    assert result.profile == canonical(kernel_runs[3])
