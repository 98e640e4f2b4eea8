"""Profiler options: cost tables, max_depth, host nodes, flamechart, time, names."""
from __future__ import annotations

import json
import shutil
import time

import pytest

import wasmprof
from helpers.paths import EXAMPLES
from helpers.profile_checks import check_invariants, tree_of, write_wasm
from wasmprof.profiles.profiler import load_cost_table, profile

needs_objdump = pytest.mark.skipif(shutil.which("wasm-objdump") is None, reason="wabt's wasm-objdump is needed")

COSTS = {"i32.add": 3, "i32.sub": 2, "call": 10, "if": 4, "end": 0, "default": 1, "per_call": 7}


@needs_objdump
@pytest.mark.parametrize("export,arg", [("fib", 10), ("fib_iter", 20)])
def test_cost_table_matches_reference(export, arg):
    from helpers.reference import Reference

    table = dict(COSTS)
    ref = Reference(str(EXAMPLES / "fib.wasm"), costs={k: v for k, v in table.items() if k not in ("default", "per_call")},
                    default_cost=table["default"], per_call=table["per_call"])
    ref.call(export, [arg])
    prof = profile(EXAMPLES / "fib.wasm", invoke=export, args=(arg,), cost=table)
    assert prof.total_ticks == ref.ticks
    assert tree_of(prof) == ref.tree
    assert "cost table" in prof.cost_model


def test_cost_table_from_json_and_toml_files(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps(COSTS))
    t = tmp_path / "c.toml"
    t.write_text("# prices\n" + "\n".join(f'"{k}" = {v}' for k, v in COSTS.items()) + "\n")
    direct = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(8,), cost=COSTS).total_ticks
    assert profile(EXAMPLES / "fib.wasm", invoke="fib", args=(8,), cost=str(j)).total_ticks == direct
    assert profile(EXAMPLES / "fib.wasm", invoke="fib", args=(8,), cost=t).total_ticks == direct
    assert direct != profile(EXAMPLES / "fib.wasm", invoke="fib", args=(8,)).total_ticks


def test_cost_tables_switch_between_runs():
    """Code translated under one price list is repriced for the next."""
    plain1 = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(9,)).total_ticks
    zero = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(9,), cost={"default": 0}).total_ticks
    doubled = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(9,), cost={"default": 2}).total_ticks
    plain2 = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(9,)).total_ticks
    assert zero == 0 and doubled == 2 * plain1 and plain2 == plain1


def test_bad_cost_tables():
    with pytest.raises(ValueError, match="unknown instruction name 'i32.frobnicate'"):
        profile(EXAMPLES / "fib.wasm", invoke="fib", args=(3,), cost={"i32.frobnicate": 1})
    with pytest.raises(ValueError):
        load_cost_table({"i32.add": -1})
    with pytest.raises(ValueError):
        load_cost_table({"i32.add": "cheap"})
    # the failed start left no profile running
    assert profile(EXAMPLES / "fib.wasm", invoke="fib", args=(3,)).total_ticks > 0


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_max_depth_folds_deeper_calls(depth):
    full = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(12,))
    capped = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(12,), max_depth=depth)
    check_invariants(capped)
    assert capped.total_ticks == full.total_ticks
    assert max(d for _, d in capped.walk()) == depth
    # a node at the cap holds its whole uncapped subtree as self ticks
    full_by_path = {p: v for p, v in tree_of(full).items()}
    for path, (calls, self_ticks) in tree_of(capped).items():
        assert calls == full_by_path[path][0]
        if len(path) == depth:
            subtree = sum(v[1] for p, v in full_by_path.items() if p[:depth] == path)
            assert self_ticks == subtree


HOST = """
(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "unused" (func $unused))
  (func $work (param $i i32) (call $log (local.get $i)))
  (func (export "run") (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $work (local.get $i))
        (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 4))) (then (call $log (i32.const -1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"""


def test_host_functions_are_nodes(tmp_path):
    seen = []
    inside_ns = []  # each host call's own duration, by an outside clock

    def log(value: int) -> None:
        started = time.perf_counter_ns()
        seen.append(value)
        time.sleep(0.002)
        inside_ns.append(time.perf_counter_ns() - started)

    imports = {"env": {"log": wasmprof.Func(log, ["i32"], []), "unused": wasmprof.Func(lambda: None)}}
    started = time.perf_counter_ns()
    prof = profile(write_wasm(tmp_path, HOST), invoke="run", args=(10,), imports=imports,
                   cost={"per_call": 5}, time=True)
    outside_ns = time.perf_counter_ns() - started
    check_invariants(prof)
    host_nodes = [n for n in prof.nodes if n.host]
    assert host_nodes and all(n.func == 0 and n.name == "env.log" for n in host_nodes)
    assert sum(n.calls for n in host_nodes) == len(seen) == 10 + 3
    under_work = [n for n in host_nodes if prof.nodes[n.parent].func == 2]
    assert len(under_work) == 1 and under_work[0].calls == 10
    # a host node's only ticks are its per-call price; time is measured
    assert all(n.self_ticks == 5 * n.calls for n in host_nodes)
    # host time: at least what the calls measured themselves, at most the whole run
    host_ns = sum(n.self_time_ns for n in host_nodes)
    assert sum(inside_ns) <= host_ns <= prof.root.total_time_ns <= outside_ns


def test_reentrant_host_calls_nest_under_the_host_node(tmp_path):
    text = """
    (module
      (import "env" "back" (func $back (param i32) (result i32)))
      (func $leaf (export "leaf") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "run") (result i32) (call $back (i32.const 41))))"""
    holder = {}
    back = wasmprof.Func(lambda x: holder["leaf"](x), ["i32"], ["i32"])
    module = wasmprof.Module(write_wasm(tmp_path, text).read_bytes())
    inst = wasmprof.Instance(module, {"env": {"back": back}})
    holder["leaf"] = inst.exports.leaf
    prof = profile(module, invoke="run", imports={"env": {"back": back}})
    assert prof.result == 42
    # holder["leaf"] belongs to the first instance: a guest function of another instance
    names = [(n.name, d) for n, d in prof.walk()]
    assert names[1:3] == [("run", 1), ("env.back", 2)]
    assert names[3][1] == 3  # the re-entered guest call is the host node's child
    check_invariants(prof)


def _nesting_ok(prof) -> None:
    stack = []
    last = 0
    for e in prof.events:
        assert e.ticks >= last
        last = e.ticks
        if e.kind == "call":
            assert prof.nodes[e.node].parent == (stack[-1] if stack else 0)
            stack.append(e.node)
        else:
            assert stack.pop() == e.node


def test_flamechart_events_are_ordered_and_complete():
    prof = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(100,), flamechart=True)
    assert not prof.events_truncated
    calls = [e for e in prof.events if e.kind == "call"]
    assert len(calls) == sum(n.calls for n in prof.nodes[1:])
    assert len(prof.events) == 2 * len(calls)
    _nesting_ok(prof)
    assert prof.events[-1].ticks == prof.total_ticks
    assert prof.events[0].kind == "call" and prof.events[0].ticks == 0


def test_flamechart_truncation():
    prof = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(10,), flamechart=True, max_events=25)
    assert prof.events_truncated
    assert len(prof.events) == 25
    assert prof.total_ticks == profile(EXAMPLES / "fib.wasm", invoke="fib", args=(10,)).total_ticks


def test_flamechart_after_a_trap_closes_the_frames(tmp_path):
    path = write_wasm(tmp_path, """
      (module (func $g (unreachable)) (func $f (call $g))
        (func (export "run") (call $f)))""")
    prof = profile(path, invoke="run", flamechart=True)
    assert prof.trap is not None and prof.trap.kind == "unreachable"
    assert [e.kind for e in prof.events] == ["call"] * 3 + ["return"] * 3
    _nesting_ok(prof)


def test_time_per_node():
    prof = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(200,), time=True)
    assert "time" in prof.metrics
    check_invariants(prof)
    for n in prof.nodes:
        assert n.self_time_ns is not None and n.total_time_ns >= n.self_time_ns
    assert prof.root.total_time_ns > 0
    untimed = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(200,))
    assert all(n.self_time_ns is None for n in untimed.nodes)
    assert tree_of(untimed) == tree_of(prof)  # time does not change the counts


def test_names_and_entry(tmp_path):
    prof = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(5,))
    assert prof.root.name == "run" and prof.root.func is None
    names = {n.func: n.name for n in prof.nodes[1:]}
    # names from the name section (kernel.wat's $ids), not the export names
    assert names[7] == "run" and names[4] == "quicksort" and names[0] == "rand"
    assert prof.module_name == "kernel.wasm"
    with pytest.raises(ValueError, match="no exported function 'nope'"):
        profile(EXAMPLES / "kernel.wasm", invoke="nope")


def test_profile_accepts_module_and_bytes():
    data = (EXAMPLES / "fib.wasm").read_bytes()
    a = profile(data, invoke="fib", args=(6,))
    b = profile(wasmprof.Module(data), invoke="fib", args=(6,))
    assert a.total_ticks == b.total_ticks > 0


@pytest.mark.parametrize("every", [1, 50, 1000])
def test_sampled_flamechart(every):
    full = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(100,), flamechart=True)
    prof = profile(EXAMPLES / "kernel.wasm", invoke="run", args=(100,), flamechart=True, sample_every=every)
    assert prof.events_sample_every == every
    assert tree_of(prof) == tree_of(full)  # sampling only thins the events
    _nesting_ok(prof)
    # stamps are sample points, except the final returns closing the path at the end of the run
    assert all(e.ticks % every == 0 or e.ticks == prof.total_ticks for e in prof.events)
    assert len(prof.events) <= len(full.events)
    if every == 1000:
        assert len(prof.events) < len(full.events) // 4
    assert prof.events[-1].kind == "return" and prof.events[-1].ticks == prof.total_ticks
