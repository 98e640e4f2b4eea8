"""Helpers shared by the format modules: metric values, unique function labels, weighted stacks."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

if TYPE_CHECKING:
    from ..model import FuncKey, Node, Profile

METRICS = ("ticks", "calls", "time")


def check_metric(profile: "Profile", metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose ticks, calls or time")
    if metric == "time" and not profile.timed:
        raise ValueError("metric 'time' asked for, but the profile was taken without time=True")


def self_value(node: "Node", metric: str) -> int:
    """The node's own share of a metric: self ticks, calls into this path, or self time (ns)."""
    if metric == "ticks":
        return node.self_ticks
    if metric == "calls":
        return node.calls
    return node.self_time_ns or 0


def total_value(node: "Node", metric: str) -> int:
    if metric == "ticks":
        return node.total_ticks
    if metric == "calls":
        return node.calls
    return node.total_time_ns or 0


def metric_total(profile: "Profile", metric: str) -> int:
    """What the self values of one metric sum to over all stacks (see weighted_stacks)."""
    return sum(v for _, v in weighted_stacks(profile, metric))


def function_labels(profile: "Profile") -> Dict["FuncKey", str]:
    """A unique display label per function: its name, or "name [func N]" when two functions share a name."""
    by_key: Dict["FuncKey", "Node"] = {}
    root = profile.root
    root_is_frame = bool(root.self_ticks or root.self_time_ns)
    for n in profile.nodes:
        by_key.setdefault(n.key, n)
    if not root_is_frame and root.key not in {m.key for m in profile.nodes[1:]}:
        del by_key[root.key]  # the entry is not a frame: its name does not clash with functions
    count: Dict[str, int] = {}
    for n in by_key.values():
        count[n.name] = count.get(n.name, 0) + 1
    out: Dict["FuncKey", str] = {}
    if root.key not in by_key:
        out[root.key] = root.name
    for k, n in by_key.items():
        if count[n.name] > 1:
            out[k] = f"{n.name} [func {n.func}]" if n.func is not None else f"{n.name} [entry]"
        else:
            out[k] = n.name
    return out


def weighted_stacks(profile: "Profile", metric: str) -> Iterator[Tuple[List["Node"], int]]:
    """(frames from the outermost function down to the node, self value) for every node, preorder.

    The root is not a frame (it is the entry, not a function) except when it has a self value of
    its own: then it appears as a one-frame stack, so the values always sum to the profile total."""
    v = root_value(profile, metric)
    if v:
        yield [profile.root], v
    for path, node in profile.stacks():
        yield path, self_value(node, metric)


def root_value(profile: "Profile", metric: str) -> int:
    """The entry's own value: ticks or time it ran outside any function (its one call is not a call)."""
    return 0 if metric == "calls" else self_value(profile.root, metric)


def metric_unit(metric: str) -> str:
    return {"ticks": "ticks", "calls": "calls", "time": "nanoseconds"}[metric]


def location_of(node: "Node") -> Optional[Tuple[str, int]]:
    return node.location
