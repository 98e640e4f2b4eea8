"""A deep recursive chain (1000 frames): every format renders and reads back
(by its consumer where there is one) with the same totals; recursion is
counted once."""
from __future__ import annotations

import json
from pathlib import Path

from helpers.render_tools import annotate, frames, parse_rows, pprof_top
from helpers.profile_samples import Recorder
from wasmprof.profiles.model import Profile
from wasmprof.profiles.render import FORMATS, callgrind, firefox, folded, speedscope

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


def _read_folded(p: Profile, path: Path) -> None:
    lines = path.read_text().splitlines()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == p.total_ticks
    deepest = max(lines, key=lambda line: line.count(";"))
    assert deepest.rsplit(" ", 1)[0].split(";") == ["down"] * DEPTH + ["leaf"]  # the root is the file


def _read_flamegraph(p: Profile, svg: str) -> None:
    _, gs = frames(svg)
    assert len(gs) == DEPTH + 2  # run, every down, leaf: none dropped
    assert max(int(g.get("data-depth")) for g in gs) == DEPTH + 1


def _svg_of_html(html: str) -> str:
    return html[html.index("<svg"): html.index("</svg>") + 6]


def _read_speedscope(p: Profile, path: Path) -> None:
    doc = json.loads(path.read_text())
    sampled = doc["profiles"][0]
    assert sum(sampled["weights"]) == p.total_ticks
    names = [f["name"] for f in doc["shared"]["frames"]]
    deepest = max(sampled["samples"], key=len)
    assert [names[i] for i in deepest] == ["down"] * DEPTH + ["leaf"]  # the root is the profile


def _read_firefox(p: Profile, path: Path) -> None:
    thread = json.loads(path.read_text())["threads"][0]
    assert thread["stackTable"]["length"] == DEPTH + 1 and sum(thread["samples"]["weight"]) == p.total_ticks
    names = [thread["stringArray"][thread["funcTable"]["name"][f]] for f in thread["frameTable"]["func"]]
    deepest, depth = DEPTH, 0  # follow the prefix links up from the deepest stack
    while deepest is not None:
        assert names[thread["stackTable"]["frame"][deepest]] == ("leaf" if depth == 0 else "down")
        deepest, depth = thread["stackTable"]["prefix"][deepest], depth + 1
    assert depth == DEPTH + 1


def _read_chrome_trace(p: Profile, path: Path) -> None:
    events = [e for e in json.loads(path.read_text())["traceEvents"] if e["ph"] == "X"]
    assert len(events) == DEPTH + 1  # every call of down, and leaf
    assert max(e["dur"] for e in events) == p.total_ticks
    assert min(e["dur"] for e in events) == 5  # leaf


def _read_pprof(p: Profile, path: Path) -> None:
    out, total, flat = pprof_top(path, "ticks")
    assert total == p.total_ticks, out
    assert flat["down"] == (3 * DEPTH, p.total_ticks) and flat["leaf"] == (5, 5), out


def _read_callgrind(p: Profile, path: Path) -> None:
    rows = parse_rows(annotate(path, "--threshold=100"))  # every function, however small
    # (its --inclusive view adds a recursive call's cost to the caller's
    # again, as it does for valgrind's own files: not a reader of recursion)
    assert rows == {"down": 3 * DEPTH, "leaf": 5}


READERS = {
    "folded": _read_folded,
    "svg": lambda p, path: _read_flamegraph(p, path.read_text()),
    "html": lambda p, path: _read_flamegraph(p, _svg_of_html(path.read_text())),
    "speedscope": _read_speedscope,
    "firefox": _read_firefox,
    "chrome-trace": _read_chrome_trace,
    "pprof": _read_pprof,
    "callgrind": _read_callgrind,
    "wasmprof": lambda p, path: _equal(Profile.load(path), p),
    # a synthetic tree has no per-instruction counts: the page says so, with the total
    "lines-html": lambda p, path: _read_lines_html(p, path.read_text()),
}


def _read_lines_html(p: Profile, html: str) -> None:
    assert f"{p.total_ticks:,} ticks" in html and "no per-instruction counts" in html


def _equal(a: Profile, b: Profile) -> None:
    assert a == b


def test_deep_chain_reads_back_in_every_format(tmp_path):
    """Each format, saved to a file, is read back (by its consumer: go tool
    pprof, callgrind_annotate; or parsed) with the chain's totals and depth.
    A new format must bring its reader here."""
    p = deep_profile()
    assert set(READERS) == set(FORMATS)
    names = {"pprof": "deep.pb.gz", "callgrind": "callgrind.out.deep"}
    for fmt in FORMATS:
        path = tmp_path / names.get(fmt, f"deep.{fmt}")
        p.save(path, format=fmt)
        READERS[fmt](p, path)


def test_deep_chain_merge_and_diff():
    p = deep_profile()
    m = p.merge(p)
    assert m.total_ticks == 2 * p.total_ticks and len(m.nodes) == len(p.nodes)
    d = p.diff(m)
    assert d.total_ticks_delta == p.total_ticks
    assert len(d.nodes[-1].path) == DEPTH + 1
    lines = d.to_folded().splitlines()
    assert sum(int(l.rsplit(" ", 1)[1]) for l in lines) == 2 * p.total_ticks
