"""The Profile object: invariants, derived tables (functions, edges, top) with recursion, merge, diff, JSON, save."""
from __future__ import annotations

import json
import os

import pytest

from helpers.paths import TESTS
from helpers.profile_samples import Recorder, flat, kernel_like
from wasmprof.profiles.model import Node, Profile


def by_name(rows):
    return {r.name: r for r in rows}


def test_invariants_hold_and_totals_sum():
    p = kernel_like(timed=True)
    assert p.total_ticks == sum(n.self_ticks for n in p.nodes) == p.root.total_ticks
    assert [n for n, _ in p.walk()][0] is p.root
    assert sorted(n.id for n, _ in p.walk()) == list(range(len(p.nodes)))
    for path, node in p.stacks():
        assert path[-1] is node and path[0].parent == 0
        assert all(path[i + 1].parent == path[i].id for i in range(len(path) - 1))


def test_functions_do_not_double_count_recursion():
    p = kernel_like(fib_depth=4)
    f = by_name(p.functions())
    # fib(4) makes 9 calls, each 3 ticks: every fib tick is under the outermost fib node.
    assert f["fib"].calls == 9 and f["fib"].self_ticks == 27 and f["fib"].total_ticks == 27
    # quicksort: total counted once even though quicksort nodes nest inside each other.
    qs_outer = [n for n in p.nodes if n.name == "quicksort" and p.nodes[n.parent].name != "quicksort"]
    assert f["quicksort"].total_ticks == sum(n.total_ticks for n in qs_outer)
    assert f["quicksort"].total_ticks < sum(n.total_ticks for n in p.nodes if n.name == "quicksort")
    assert f["run"].total_ticks == p.total_ticks
    assert sum(x.self_ticks for x in p.functions()) == p.total_ticks
    assert f["log"].host and not f["rand"].host


def test_edges_count_calls_and_callee_ticks():
    p = kernel_like(n=5)
    e = {(x.caller_name, x.callee_name): x for x in p.edges()}
    assert e[("fill", "rand")].calls == 5 and e[("fill", "rand")].ticks == 5 * 11
    # Recursive edge: fib -> fib ticks are the inner calls' total, counted once.
    fib_inner = [n for n in p.nodes if n.name == "fib" and p.nodes[n.parent].name == "fib"
                 and p.nodes[p.nodes[n.parent].parent].name != "fib"]
    assert e[("fib", "fib")].ticks == sum(n.total_ticks for n in fib_inner)
    assert e[("fib", "fib")].calls == 8
    assert e[("run", "fill")].calls == 1


def test_top_orders_and_validates():
    p = flat({"a": 5, "b": 50, "c": 20})
    assert [f.name for f in p.top(2)] == ["b", "c"]
    assert [f.name for f in p.top(3, by="calls")] == ["a", "b", "c"]  # equal calls: by name
    with pytest.raises(ValueError, match="cannot sort"):
        p.top(by="name")


@pytest.mark.parametrize("mutate, message", [
    (lambda ns: setattr(ns[2], "total_ticks", ns[2].total_ticks + 1), "total_ticks"),
    (lambda ns: setattr(ns[1], "id", 7), "dense"),
    (lambda ns: setattr(ns[0], "parent", 3), "root"),
    (lambda ns: ns[0].children.append(1), "appears 2 times"),
    (lambda ns: setattr(ns[1], "calls", -1), "negative"),
])
def test_constructor_rejects_broken_trees(mutate, message):
    p = kernel_like()
    nodes = [Node(**{**n.__dict__, "children": list(n.children)}) for n in p.nodes]
    mutate(nodes)
    with pytest.raises(ValueError, match=message):
        Profile(nodes, module_name="x")


def test_constructor_rejects_bad_events_and_metrics():
    p = kernel_like()
    events = list(p.events)
    events[3] = type(events[3])("call", 999, events[3].ticks)
    with pytest.raises(ValueError, match="node 999"):
        Profile(p.nodes, module_name="x", events=events)
    with pytest.raises(ValueError, match="time"):
        Profile(p.nodes, module_name="x", metrics=("calls", "ticks", "time"))


def test_merge_sums_by_path():
    a = kernel_like(n=4)
    b = kernel_like(n=7, fib_depth=5)
    m = a.merge(b)
    assert m.total_ticks == a.total_ticks + b.total_ticks
    fa, fb, fm = by_name(a.functions()), by_name(b.functions()), by_name(m.functions())
    for name in fm:
        assert fm[name].calls == fa[name].calls + fb[name].calls
        assert fm[name].self_ticks == fa[name].self_ticks + fb[name].self_ticks
    # fib_depth=5 has one level more: that path exists only in b and is kept.
    assert max(len(p) for p, n in m.stacks() if n.name == "fib") == max(len(p) for p, n in b.stacks() if n.name == "fib")
    with pytest.raises(ValueError, match="different modules"):
        a.merge(kernel_like(module_name="other.wasm"))


def test_merge_with_itself_doubles():
    a = kernel_like(timed=True)
    m = a + a
    assert [n.self_ticks for n in m.nodes] == [2 * n.self_ticks for n in a.nodes]
    assert m.timed and m.root.total_time_ns == 2 * a.root.total_time_ns


def test_diff_per_node_and_function():
    a = kernel_like(n=4)
    b = kernel_like(n=9)
    d = a.diff(b)
    assert d.total_ticks_delta == b.total_ticks - a.total_ticks
    f = {x.name: x for x in d.functions()}
    assert f["rand"].calls_delta == 5 and f["rand"].self_ticks_delta == 5 * 11
    assert f["fib"].self_ticks_delta == 0
    assert d.top(1)[0].name == "rand"
    rand_path = [x for x in d.nodes if x.path and x.path[-1] == "rand"][0]
    assert rand_path.calls_delta == 5
    lines = d.to_folded().splitlines()
    assert sum(int(l.rsplit(" ", 2)[1]) for l in lines) == a.total_ticks
    assert sum(int(l.rsplit(" ", 2)[2]) for l in lines) == b.total_ticks


def test_json_roundtrip_is_lossless(tmp_path):
    p = kernel_like(timed=True)
    q = Profile.from_json(p.to_json())
    assert q == p and q.nodes[2].location == p.nodes[2].location
    path = tmp_path / "k.wpprof.json"
    assert p.save(path) == "wasmprof"
    assert Profile.load(path) == p
    with pytest.raises(ValueError, match="not a wasmprof profile"):
        Profile.from_json(json.dumps({"format": "x"}))


def test_save_is_atomic_and_picks_format(tmp_path):
    p = kernel_like()
    for name, fmt in [("a.folded", "folded"), ("a.svg", "svg"), ("a.html", "html"), ("a.pb.gz", "pprof"),
                      ("callgrind.out.1", "callgrind"), ("a.trace.json", "chrome-trace"),
                      ("a.speedscope.json", "speedscope"), ("a.firefox.json", "firefox")]:
        assert p.save(tmp_path / name) == fmt
        assert (tmp_path / name).stat().st_size > 0
    assert p.save(tmp_path / "x.json", format="speedscope") == "speedscope"
    with pytest.raises(ValueError, match="several formats"):
        p.save(tmp_path / "y.json")
    with pytest.raises(ValueError, match="cannot tell"):
        p.save(tmp_path / "y.xyz")
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temp files left


def test_saved_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        kernel_like().save(tmp_path / "a.svg")
    finally:
        os.umask(old)
    assert (tmp_path / "a.svg").stat().st_mode & 0o777 == 0o644


def test_failed_render_leaves_no_file(tmp_path):
    p = kernel_like(events=False)
    with pytest.raises(ValueError, match="flamechart"):
        p.save(tmp_path / "a.folded", order="flamechart")
    assert os.listdir(tmp_path) == []


FAILING_WRITE = """
import os, resource, signal, sys
sys.path.insert(0, {tests!r})
from helpers.profile_samples import kernel_like
target = {target!r}
kernel_like(n=1).save(target)                       # the old file
old = open(target, "rb").read()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (len(old) // 2, resource.RLIM_INFINITY))
try:
    kernel_like(n=2).save(target)                   # larger than the limit: the write fails
except OSError as e:
    print("failed:", e.strerror)
print("old file kept:", open(target, "rb").read() == old)
print("left behind:", sorted(os.listdir(os.path.dirname(target))))
"""


def test_a_failed_write_keeps_the_old_file(tmp_path):
    """A write that really fails (the file size limit, as a full disk would)
    raises, leaves the old file as it was and no temporary file."""
    import subprocess
    import sys

    from helpers.env import python_env

    target = tmp_path / "out" / "k.svg"
    target.parent.mkdir()
    code = FAILING_WRITE.format(tests=str(TESTS), target=str(target))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["failed: File too large", "old file kept: True", "left behind: ['k.svg']"]


def test_dataframe():
    pd = pytest.importorskip("pandas")
    p = kernel_like()
    df = p.to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert df["self_ticks"].sum() == p.total_ticks
    assert df.iloc[0]["name"] == p.top(1)[0].name
    assert "self_time_ns" not in df.columns


def test_repr_html_has_summary_table_and_flamegraph():
    p = kernel_like()
    html = p._repr_html_()
    assert f"{p.total_ticks:,} ticks" in html and "<table" in html and "<svg" in html
    for f in p.functions():
        assert f.name in html
    assert "<table" in p.diff(kernel_like(n=3))._repr_html_()


def test_recorder_root_self_ticks_count():
    r = Recorder("entry")
    r.define(0, "f")
    r.tick(5)
    r.call(0)
    r.tick(2)
    r.ret()
    p = r.profile()
    assert p.total_ticks == 7 and p.root.self_ticks == 5
    assert by_name(p.functions())["entry"].self_ticks == 5


def test_no_submodule_shadows_the_profile_function():
    import importlib
    import pkgutil

    import wasmprof

    # importing every submodule binds each as an attribute of its package:
    # no module shares its name with a function of the package
    for info in pkgutil.walk_packages(wasmprof.__path__, "wasmprof."):
        importlib.import_module(info.name)
    assert wasmprof.Profile is Profile
    assert callable(wasmprof.profile) and wasmprof.profile.__module__ == "wasmprof.profiles.profiler"
    assert callable(wasmprof.native) and wasmprof.native.__module__ == "wasmprof.native_imports"
    modules = {info.name for info in pkgutil.iter_modules(wasmprof.__path__)}
    assert not modules & {name for name in wasmprof.__all__ if callable(getattr(wasmprof, name))
                          and not isinstance(getattr(wasmprof, name), type)}


def test_top_table_text():
    p = kernel_like(timed=True)
    text = p.top_table(3)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["function", "calls"] and set(lines[1]) <= {"-", " "}
    assert [l.split()[0] for l in lines[2:]] == [f.name for f in p.top(3)]
    rand = p.top(1)[0]
    assert f"{rand.self_ticks:,}" in lines[2] and f"{100 * rand.self_ticks / p.total_ticks:.2f}" in lines[2]
    assert "(host)" in p.top_table(20)
