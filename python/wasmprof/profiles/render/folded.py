"""Folded stacks, the input of flamegraph.pl and inferno: one ``a;b;c 123`` line per stack.

Two orders:

- ``order="collapsed"`` (default): one line per call path (aggregated), values are self values;
- ``order="flamechart"``: from the profile's events, one line per stretch of execution in time
  order (consecutive identical stacks merged), for ``flamegraph.pl --flamechart`` / ``inferno
  --flamechart``.  Needs a profile taken with ``flamechart=True``.

``max_depth=N`` keeps the N outermost frames and adds deeper values into the cut-off stack, so
the sum of all lines is still the profile's total.  ``metric`` is ticks, calls or time (ns).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ._common import check_metric, function_labels, weighted_stacks

if TYPE_CHECKING:
    from ..model import Profile

NAME = "folded"
EXTENSIONS = (".folded", ".collapsed", ".folded.txt")
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "folded stacks (`a;b;c 123` lines)"
VIEWER = "flamegraph.pl, inferno-flamegraph, speedscope"


def _frame(label: str) -> str:
    # ';' separates frames and a line ends the record; both are replaced in names.
    return label.replace(";", ":").replace("\n", " ").replace("\r", " ")


def render(profile: "Profile", *, metric: str = "ticks", order: str = "collapsed",
           max_depth: Optional[int] = None, **_: object) -> str:
    check_metric(profile, metric)
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"max_depth must be at least 1, not {max_depth}")
    if order == "collapsed":
        lines = _collapsed(profile, metric, max_depth)
    elif order == "flamechart":
        lines = _flamechart(profile, metric, max_depth)
    else:
        raise ValueError(f"order must be 'collapsed' or 'flamechart', not {order!r}")
    return "".join(f"{stack} {value}\n" for stack, value in lines)


def _collapsed(profile: "Profile", metric: str, max_depth: Optional[int]) -> List[Tuple[str, int]]:
    labels = function_labels(profile)
    acc: Dict[str, int] = {}
    for path, value in weighted_stacks(profile, metric):
        if not value:
            continue
        if max_depth is not None:
            path = path[:max_depth]
        key = ";".join(_frame(labels[n.key]) for n in path)
        acc[key] = acc.get(key, 0) + value
    return list(acc.items())


def _flamechart(profile: "Profile", metric: str, max_depth: Optional[int]) -> List[Tuple[str, int]]:
    if profile.events is None:
        raise ValueError("flamechart order needs the profile's events: profile with flamechart=True")
    if metric == "calls":
        raise ValueError("flamechart order shows ticks or time, not calls")
    if metric == "time" and any(e.time_ns is None for e in profile.events):
        raise ValueError("flamechart order by time needs timed events (time=True)")
    labels = function_labels(profile)
    stack: List[int] = []
    out: List[Tuple[str, int]] = []
    last = 0

    def emit(now: int) -> None:
        nonlocal last
        if now > last:
            frames = stack[:max_depth] if max_depth is not None else stack
            key = ";".join(_frame(labels[profile.nodes[i].key]) for i in frames) or _frame(profile.root.name)
            if out and out[-1][0] == key:
                out[-1] = (key, out[-1][1] + now - last)
            else:
                out.append((key, now - last))
        last = now

    for e in profile.events:
        now = e.ticks if metric == "ticks" else (e.time_ns or 0)
        emit(now)
        if e.kind == "call":
            if e.node != 0:
                stack.append(e.node)
        elif stack and stack[-1] == e.node:
            stack.pop()
        elif e.node in stack:  # a trap unwound several frames at once
            del stack[stack.index(e.node):]
    if not profile.events_truncated and profile.events_sample_every is None:
        # Whatever ran after the last event (the entry's own epilogue) belongs to what is left on the stack.
        emit(profile.total_ticks if metric == "ticks" else (profile.root.total_time_ns or last))
    return out
