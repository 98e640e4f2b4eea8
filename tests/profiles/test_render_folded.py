"""Folded stacks: line sums equal the profile totals, collapsed and flamechart order, depth cap."""
from __future__ import annotations

import pytest

from helpers.profile_samples import kernel_like
from wasmprof.profiles.render import folded


def parse(text):
    out = []
    for line in text.splitlines():
        stack, value = line.rsplit(" ", 1)
        out.append((stack.split(";"), int(value)))
    return out


@pytest.mark.parametrize("timed", [False, True])
def test_collapsed_sums_to_totals(timed):
    p = kernel_like(timed=timed)
    lines = parse(folded.render(p))
    assert sum(v for _, v in lines) == p.total_ticks
    assert len({";".join(s) for s, _ in lines}) == len(lines)  # aggregated: one line per path
    calls = parse(folded.render(p, metric="calls"))
    assert sum(v for _, v in calls) == sum(f.calls for f in p.functions())
    if timed:
        assert sum(v for _, v in parse(folded.render(p, metric="time"))) == p.root.total_time_ns
    else:
        with pytest.raises(ValueError, match="time=True"):
            folded.render(p, metric="time")


def test_collapsed_lines_are_paths():
    p = kernel_like(n=3)
    lines = dict((";".join(s), v) for s, v in parse(folded.render(p)))
    assert lines["run;fill;rand"] == 3 * 11
    assert lines["run;fib;fib;fib;fib"] == 2 * 3  # fib(1) at depth 4 is reached twice


def test_depth_cap_keeps_totals():
    p = kernel_like()
    for depth in (1, 2, 3):
        lines = parse(folded.render(p, max_depth=depth))
        assert max(len(s) for s, _ in lines) <= depth
        assert sum(v for _, v in lines) == p.total_ticks
    assert parse(folded.render(p, max_depth=1)) == [(["run"], p.total_ticks)]


def test_flamechart_order_follows_events():
    p = kernel_like(n=2)
    lines = parse(folded.render(p, order="flamechart"))
    assert sum(v for _, v in lines) == p.total_ticks
    # Time order: run starts, then fill and rand alternate, quicksort comes after fill.
    names = [";".join(s) for s, _ in lines]
    assert names[:4] == ["run", "run;fill", "run;fill;rand", "run;fill"]
    assert names.index("run;quicksort") > names.index("run;fill;rand")
    assert any(names[i] == names[j] for i in range(len(names)) for j in range(i + 2, len(names)))  # not collapsed
    with pytest.raises(ValueError, match="flamechart=True"):
        folded.render(kernel_like(events=False), order="flamechart")
