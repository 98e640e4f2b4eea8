"""Chrome trace event JSON (``*.trace.json``) for flamecharts in Perfetto (ui.perfetto.dev) and chrome://tracing.

With flamechart events (a profile taken with ``flamechart=True``), every call becomes one
complete event (``"ph": "X"``) from its call to its return, in execution order; ``style="BE"``
writes begin/end pairs instead.  A call that took no time (a host function, counted in ticks)
is an instant event (``"ph": "i"``).  Without events, the call tree itself is laid out as a
flamegraph on the time axis: each node starts where its previous sibling ended and lasts its
total ticks (so widths are exact, order is by first call, not by time).

Timestamps are microseconds in the format; we write one tick as one microsecond
(``clock="ticks"``, the default, exact and deterministic) or the measured time
(``clock="time"``, needs time=True; ns / 1000).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ._common import function_labels

if TYPE_CHECKING:
    from ..model import Profile

NAME = "chrome-trace"
EXTENSIONS = (".trace.json", ".chrome.json")
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "Chrome trace events (flamechart; X or B/E events)"
VIEWER = "https://ui.perfetto.dev, chrome://tracing"

PID, TID = 1, 1


def render(profile: "Profile", *, clock: str = "ticks", style: str = "X", **_: object) -> str:
    return json.dumps(to_dict(profile, clock=clock, style=style), separators=(",", ":")) + "\n"


def to_dict(profile: "Profile", *, clock: str = "ticks", style: str = "X") -> Dict[str, Any]:
    if clock not in ("ticks", "time"):
        raise ValueError(f"clock must be 'ticks' or 'time', not {clock!r}")
    if clock == "time" and not profile.timed:
        raise ValueError("clock='time' needs a profile taken with time=True")
    if style not in ("X", "BE"):
        raise ValueError(f"style must be 'X' or 'BE', not {style!r}")
    labels = function_labels(profile)
    meta = [
        {"ph": "M", "pid": PID, "tid": TID, "name": "process_name", "args": {"name": profile.module_name}},
        {"ph": "M", "pid": PID, "tid": TID, "name": "thread_name", "args": {"name": f"wasm ({clock})"}},
    ]
    # Spans: (start, end, node id, depth) in call order (preorder), properly nested.
    spans = _spans_from_events(profile, clock) if profile.events is not None else _spans_from_tree(profile, clock)
    events: List[Dict[str, Any]] = []
    open_depths: List[Tuple[int, float]] = []  # B/E: (depth, end) of the begun spans

    for start, end, nid, depth in spans:
        n = profile.nodes[nid]
        name = labels[n.key]
        cat = "host" if n.host else "wasm"
        args = {"node": nid, "calls_on_path": n.calls}
        while open_depths and open_depths[-1][0] >= depth:  # B/E: close what ended before this
            events.append({"ph": "E", "pid": PID, "tid": TID, "ts": open_depths.pop()[1]})
        if end == start:
            # A call that took no time (a host function, by ticks) is an instant event: speedscope's
            # importer cannot close a zero-length span that begins with its callers and leaves it
            # open to the end (tests/profiles/test_render_speedscope_app.py); Perfetto marks instants.
            events.append({"ph": "i", "s": "t", "name": name, "cat": cat, "pid": PID, "tid": TID, "ts": start,
                           "args": args})
        elif style == "X":
            events.append({"ph": "X", "name": name, "cat": cat, "pid": PID, "tid": TID, "ts": start,
                           "dur": end - start, "args": args})
        else:
            events.append({"ph": "B", "name": name, "cat": cat, "pid": PID, "tid": TID, "ts": start,
                           "args": args})
            open_depths.append((depth, end))
    while open_depths:
        events.append({"ph": "E", "pid": PID, "tid": TID, "ts": open_depths.pop()[1]})
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"module": profile.module_name, "cost_model": profile.cost_model,
                          "clock": "1 tick = 1 us" if clock == "ticks" else "time in us",
                          "total_ticks": profile.total_ticks,
                          "events_truncated": profile.events_truncated}}


def _stamp(ticks: int, time_ns: Optional[int], clock: str) -> float:
    if clock == "ticks":
        return ticks
    return (time_ns or 0) / 1000.0


Span = Tuple[float, float, int, int]


def _spans_from_events(profile: "Profile", clock: str) -> List[Span]:
    assert profile.events is not None
    open_: List[Tuple[int, float, int]] = []  # (node, start, call sequence number)
    closed: List[Tuple[int, Span]] = []
    seq = 0
    now: float = 0
    for e in profile.events:
        now = _stamp(e.ticks, e.time_ns, clock)
        if e.node == 0:
            continue
        if e.kind == "call":
            open_.append((e.node, now, seq))
            seq += 1
        elif any(nid == e.node for nid, _, _ in open_):
            # Close down to the returning node (a trap may unwind several frames at once).
            while open_:
                nid, start, k = open_.pop()
                closed.append((k, (start, now, nid, len(open_))))
                if nid == e.node:
                    break
    end = now
    if not profile.events_truncated and clock == "ticks":
        end = max(end, profile.total_ticks)
    while open_:
        nid, start, k = open_.pop()
        closed.append((k, (start, end, nid, len(open_))))
    closed.sort(key=lambda c: c[0])
    return [span for _, span in closed]


def _spans_from_tree(profile: "Profile", clock: str) -> List[Span]:
    def size(nid: int) -> float:
        n = profile.nodes[nid]
        return n.total_ticks if clock == "ticks" else (n.total_time_ns or 0) / 1000.0

    spans: List[Span] = []
    stack: List[Tuple[int, float, int]] = []
    offset: float = 0
    for c in profile.root.children:
        stack.append((c, offset, 0))
        offset += size(c)
    stack.reverse()
    while stack:
        nid, start, depth = stack.pop()
        spans.append((start, start + size(nid), nid, depth))
        kids = []
        child_start = start
        for c in profile.nodes[nid].children:
            kids.append((c, child_start, depth + 1))
            child_start += size(c)
        stack.extend(reversed(kids))
    return spans
