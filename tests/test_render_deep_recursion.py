"""A deep recursive chain (1000 frames): every format renders, totals hold, recursion is counted once."""
from __future__ import annotations

import json

from profile_samples import Recorder
from wasmprof.render import FORMATS, callgrind, firefox, folded, speedscope

DEPTH = 1000


def deep_profile():
    r = Recorder("run")
    r.define(0, "down")
    r.define(1, "leaf")
    for _ in range(DEPTH):
        r.call(0)
        r.tick(2)
    r.call(1)
    r.tick(5)
    r.ret()
    for _ in range(DEPTH):
        r.tick(1)
        r.ret()
    return r.profile("deep.wasm")


def test_deep_chain_renders_in_every_format():
    p = deep_profile()
    total = 3 * DEPTH + 5
    assert p.total_ticks == total
    f = {x.name: x for x in p.functions()}
    assert f["down"].total_ticks == total and f["down"].calls == DEPTH and f["down"].self_ticks == 3 * DEPTH
    e = {(x.caller_name, x.callee_name): x for x in p.edges()}
    assert e[("down", "down")].calls == DEPTH - 1 and e[("down", "down")].ticks == total - 3
    for name, fmt in FORMATS.items():
        out = fmt.render(p)
        assert out, name
    lines = folded.render(p).splitlines()
    assert sum(int(l.rsplit(" ", 1)[1]) for l in lines) == total
    assert max(l.count(";") for l in lines) == DEPTH  # leaf below DEPTH frames of down
    doc = json.loads(speedscope.render(p))
    assert sum(doc["profiles"][0]["weights"]) == total
    t = json.loads(firefox.render(p))["threads"][0]
    assert t["stackTable"]["length"] == DEPTH + 1 and sum(t["samples"]["weight"]) == total
    assert "calls=999 " in callgrind.render(p)


def test_deep_chain_merge_and_diff():
    p = deep_profile()
    m = p.merge(p)
    assert m.total_ticks == 2 * p.total_ticks and len(m.nodes) == len(p.nodes)
    d = p.diff(m)
    assert d.total_ticks_delta == p.total_ticks
    assert len(d.nodes[-1].path) == DEPTH + 1
    lines = d.to_folded().splitlines()
    assert sum(int(l.rsplit(" ", 1)[1]) for l in lines) == 2 * p.total_ticks
