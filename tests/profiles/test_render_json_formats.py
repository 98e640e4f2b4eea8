"""speedscope (validated against its schema), Firefox processed profile (structural invariants) and
Chrome trace events: totals equal the profile's."""
from __future__ import annotations

import json

import pytest

from helpers.profile_samples import kernel_like
from wasmprof.profiles.render import chrome_trace, firefox, speedscope
from helpers.paths import TESTS

SCHEMAS = TESTS / "schemas"


# -- speedscope ------------------------------------------------------------------------------

def test_speedscope_validates_against_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "speedscope-file-format.schema.json").read_text())
    for p in (kernel_like(), kernel_like(timed=True), kernel_like(events=False)):
        doc = json.loads(speedscope.render(p))
        jsonschema.validate(doc, schema)
    with pytest.raises(jsonschema.ValidationError):
        bad = json.loads(speedscope.render(kernel_like()))
        bad["profiles"][0]["unit"] = "ticks"
        jsonschema.validate(bad, schema)


def test_speedscope_one_profile_per_metric_with_totals():
    p = kernel_like(timed=True)
    doc = json.loads(speedscope.render(p))
    names = [q["name"] for q in doc["profiles"]]
    assert [q["type"] for q in doc["profiles"]] == ["sampled", "sampled", "sampled", "evented"]
    assert "ticks" in names[0] and "calls" in names[1] and "time" in names[2]
    ticks, calls, time = doc["profiles"][:3]
    assert sum(ticks["weights"]) == ticks["endValue"] == p.total_ticks
    assert sum(calls["weights"]) == sum(f.calls for f in p.functions())
    assert sum(time["weights"]) == p.root.total_time_ns and time["unit"] == "nanoseconds"
    frames = doc["shared"]["frames"]
    assert {f["name"] for f in frames} >= {f.name for f in p.functions()}
    assert {"name": "rand", "file": "kernel.c", "line": 10} in frames


def test_speedscope_evented_is_balanced():
    p = kernel_like()
    ev = json.loads(speedscope.render(p))["profiles"][-1]
    stack, last = [], 0
    for e in ev["events"]:
        assert e["at"] >= last
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        else:
            assert stack.pop() == e["frame"]
    assert stack == [] and ev["endValue"] == p.total_ticks


# -- Firefox processed profile ---------------------------------------------------------------

def check_table(table, columns):
    for c in columns:
        assert len(table[c]) == table["length"], c


def test_firefox_structure_and_totals():
    p = kernel_like(timed=True)
    doc = json.loads(firefox.render(p))
    meta = doc["meta"]
    assert meta["preprocessedProfileVersion"] == firefox.PROCESSED_PROFILE_VERSION
    assert any(c["color"] == "grey" for c in meta["categories"])
    # Fields the profiler's upgraders from version 48 onwards read (markerSchema, counters, markers,
    # nativeSymbols, resourceTable, frameTable.implementation, stackTable categories).
    assert meta["markerSchema"] == [] and doc["counters"] == [] and doc["libs"] == []
    for t in doc["threads"]:
        assert isinstance(t["pid"], str) and t["isMainThread"] is True
        check_table(t["markers"], ["data", "name", "startTime", "endTime", "phase", "category"])
        check_table(t["nativeSymbols"], ["libIndex", "address", "name", "functionSize"])
        check_table(t["resourceTable"], ["lib", "name", "host", "type"])
    assert all(c["subcategories"] for c in meta["categories"])
    assert [t["name"] for t in doc["threads"]] == ["ticks", "calls", "time"]
    for t, expected in zip(doc["threads"], [p.total_ticks, sum(f.calls for f in p.functions()), p.root.total_time_ns]):
        strings = t["stringArray"]
        ft, fr, st, sm = t["funcTable"], t["frameTable"], t["stackTable"], t["samples"]
        check_table(ft, ["name", "isJS", "relevantForJS", "resource", "fileName", "lineNumber", "columnNumber"])
        check_table(fr, ["address", "inlineDepth", "category", "subcategory", "func", "nativeSymbol",
                         "innerWindowID", "implementation", "line", "column"])
        check_table(st, ["frame", "category", "subcategory", "prefix"])
        check_table(sm, ["stack", "time", "weight"])
        assert sm["weightType"] == "samples"
        assert all(0 <= s < len(strings) for s in ft["name"])
        assert all(0 <= f < ft["length"] for f in fr["func"])
        assert all(0 <= f < fr["length"] for f in st["frame"])
        assert all(c < len(meta["categories"]) for c in st["category"] + fr["category"])
        for i, prefix in enumerate(st["prefix"]):
            assert prefix is None or 0 <= prefix < i  # a prefix comes before its stack
        assert all(0 <= s < st["length"] for s in sm["stack"])
        assert sm["time"] == sorted(sm["time"])
        assert sum(sm["weight"]) == expected

        # Rebuild each sample's stack of names and compare to the tree's folded paths.
        def names(s):
            out = []
            while s is not None:
                out.append(strings[ft["name"][fr["func"][st["frame"][s]]]])
                s = st["prefix"][s]
            return ";".join(reversed(out))
        if t["name"] == "ticks":
            got = {}
            for s, w in zip(sm["stack"], sm["weight"]):
                got[names(s)] = got.get(names(s), 0) + w
            want = {";".join(n.name for n in path): node.self_ticks for path, node in p.stacks() if node.self_ticks}
            assert got == want


def test_firefox_host_category():
    p = kernel_like()
    t = json.loads(firefox.render(p))["threads"][0]
    log = t["stringArray"].index("log")
    f = t["funcTable"]["name"].index(log)
    assert t["frameTable"]["category"][t["frameTable"]["func"].index(f)] == firefox.CATEGORY_HOST


# -- Chrome trace events ---------------------------------------------------------------------

@pytest.mark.parametrize("events", [True, False])
def test_chrome_trace_complete_events(events):
    p = kernel_like(events=events)
    doc = json.loads(chrome_trace.render(p))
    xs = [e for e in doc["traceEvents"] if e["ph"] in "Xi"]
    assert len(xs) == (sum(n.calls for n in p.nodes[1:]) if events else len(p.nodes) - 1)
    # A call that took no ticks (the host function log) is an instant (a span of none breaks speedscope).
    assert {e["name"] for e in xs if e["ph"] == "i"} == {"log"} and all(e["dur"] for e in xs if e["ph"] == "X")
    top = [e for e in xs if p.nodes[e["args"]["node"]].parent == 0]
    assert sum(e["dur"] for e in top) == p.total_ticks
    # Per-node durations sum to the node's total ticks (calls laid end to end).
    per_node = {}
    for e in xs:
        per_node[e["args"]["node"]] = per_node.get(e["args"]["node"], 0) + e.get("dur", 0)
    assert all(per_node[n.id] == n.total_ticks for n in p.nodes[1:])
    assert all(e["ts"] >= 0 for e in xs)


def test_chrome_trace_begin_end_balanced():
    p = kernel_like(timed=True)
    for clock in ("ticks", "time"):
        doc = json.loads(chrome_trace.render(p, style="BE", clock=clock))
        depth, last = 0, 0
        for e in doc["traceEvents"]:
            if e["ph"] in "BE":
                assert e["ts"] >= last
                last = e["ts"]
                depth += 1 if e["ph"] == "B" else -1
                assert depth >= 0
        assert depth == 0
    assert last == p.root.total_time_ns / 1000
    with pytest.raises(ValueError, match="time=True"):
        chrome_trace.render(kernel_like(), clock="time")


def test_truncated_events_still_give_balanced_outputs():
    from wasmprof.profiles.model import Profile
    from wasmprof.profiles.render import folded

    full = kernel_like()
    cut = full.events[: len(full.events) // 2]
    p = Profile(full.nodes, module_name=full.module_name, events=cut, events_truncated=True)
    ev = json.loads(speedscope.render(p))["profiles"][-1]
    opened = sum(1 for e in ev["events"] if e["type"] == "O")
    assert opened == sum(1 for e in cut if e.kind == "call") == sum(1 for e in ev["events"] if e["type"] == "C")
    assert ev["endValue"] == cut[-1].ticks
    lines = folded.render(p, order="flamechart").splitlines()
    assert sum(int(l.rsplit(" ", 1)[1]) for l in lines) == cut[-1].ticks
    doc = json.loads(chrome_trace.render(p))
    assert max(e["ts"] + e["dur"] for e in doc["traceEvents"] if e["ph"] == "X") == cut[-1].ticks
