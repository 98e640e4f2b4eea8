"""_profile_stub.py: TEMPORARY stand-in for wasmprof.profile (the renderers
branch owns the real Profile/Node/Event).  The lead drops this file at merge;
wasmprof.profiler imports the real module first and falls back to this one.
Only what the profiler and its tests touch: the model's fields, root,
total_ticks, walk(), functions()/top() (self ticks and calls per function)
and save() of the native JSON."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple


@dataclass
class Node:
    id: int
    parent: int
    func: Optional[int]
    name: str
    raw_name: Optional[str]
    host: bool
    calls: int
    self_ticks: int
    total_ticks: int
    self_time_ns: Optional[int]
    total_time_ns: Optional[int]
    children: List[int] = field(default_factory=list)
    location: Optional[Tuple[str, int]] = None


@dataclass
class Event:
    kind: str
    node: int
    ticks: int
    time_ns: Optional[int] = None


@dataclass(frozen=True)
class FunctionStats:
    func: Optional[int]
    name: str
    host: bool
    calls: int
    self_ticks: int
    total_ticks: int
    self_time_ns: Optional[int]
    total_time_ns: Optional[int]


class Profile:
    def __init__(self, nodes: List[Node], *, module_name: str, cost_model: str = "1 tick per instruction",
                 metrics: Tuple[str, ...] = ("calls", "ticks"), events: Optional[List[Event]] = None,
                 events_truncated: bool = False, events_sample_every: Optional[int] = None) -> None:
        self.nodes = list(nodes)
        self.module_name = module_name
        self.cost_model = cost_model
        self.metrics = tuple(metrics)
        self.events = events
        self.events_truncated = events_truncated
        self.events_sample_every = events_sample_every

    @property
    def root(self) -> Node:
        return self.nodes[0]

    @property
    def total_ticks(self) -> int:
        return self.root.total_ticks

    def node(self, i: int) -> Node:
        return self.nodes[i]

    def walk(self) -> Iterator[Tuple[Node, int]]:
        stack = [(self.root, 0)]
        while stack:
            n, d = stack.pop()
            yield n, d
            stack.extend((self.nodes[c], d + 1) for c in reversed(n.children))

    def functions(self) -> List[FunctionStats]:
        acc: Dict[Any, List[Any]] = {}
        for n in self.nodes[1:]:
            a = acc.setdefault(n.func if n.func is not None else n.name, [n.func, n.name, n.host, 0, 0])
            a[3] += n.calls
            a[4] += n.self_ticks
        return [FunctionStats(f, nm, h, c, s, s, None, None) for f, nm, h, c, s in acc.values()]

    def top(self, n: int = 10, by: str = "self_ticks") -> List[FunctionStats]:
        return sorted(self.functions(), key=lambda f: -getattr(f, by))[:n]

    def to_json(self) -> str:
        return json.dumps({"module_name": self.module_name, "cost_model": self.cost_model,
                           "metrics": list(self.metrics), "nodes": [asdict(n) for n in self.nodes],
                           "events": None if self.events is None else [asdict(e) for e in self.events],
                           "events_truncated": self.events_truncated}, sort_keys=True)

    def save(self, path: str, format: Optional[str] = None) -> str:
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".wasmprof-")
        with os.fdopen(fd, "w") as f:
            f.write(self.to_json())
        os.replace(tmp, path)
        return path
