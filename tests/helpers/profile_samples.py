"""Synthetic profiles for the Profile and renderer tests, built from a simulated execution.

A :class:`Recorder` is driven like an interpreter would drive the profiler: ``call(func)``,
``tick(n)``, ``ret()``.  It builds the call tree (one node per distinct path), the flamechart
events and, when timed, times (1 tick = 10 ns), exactly as the model in docs/profile-model.md
describes, so every count in the result is known by construction.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from wasmprof.profiles.model import Event, Node, Profile

NS_PER_TICK = 10


class Recorder:
    def __init__(self, entry: str = "run", *, timed: bool = False, events: bool = True) -> None:
        self.timed = timed
        self.nodes: List[Node] = [self._new(0, -1, None, entry, False)]
        self.index: Dict[Tuple[int, int], int] = {}
        self.stack: List[int] = [0]
        self.ticks = 0
        self.events: Optional[List[Event]] = [] if events else None
        self.names: Dict[int, Tuple[str, bool, Optional[Tuple[str, int]]]] = {}
        self.nodes[0].calls = 1

    def _new(self, i: int, parent: int, func: Optional[int], name: str, host: bool) -> Node:
        return Node(id=i, parent=parent, func=func, name=name, raw_name=name if func is not None else None,
                    host=host, calls=0, self_ticks=0, total_ticks=0,
                    self_time_ns=0 if self.timed else None, total_time_ns=0 if self.timed else None, children=[])

    def define(self, func: int, name: str, *, host: bool = False, location: Optional[Tuple[str, int]] = None) -> None:
        self.names[func] = (name, host, location)

    def call(self, func: int) -> None:
        parent = self.stack[-1]
        key = (parent, func)
        i = self.index.get(key)
        if i is None:
            name, host, loc = self.names[func]
            i = len(self.nodes)
            node = self._new(i, parent, func, name, host)
            node.location = loc
            self.nodes.append(node)
            self.nodes[parent].children.append(i)
            self.index[key] = i
        self.nodes[i].calls += 1
        self.stack.append(i)
        if self.events is not None:
            self.events.append(Event("call", i, self.ticks, self.ticks * NS_PER_TICK if self.timed else None))

    def tick(self, n: int) -> None:
        node = self.nodes[self.stack[-1]]
        node.self_ticks += n
        if self.timed:
            node.self_time_ns = (node.self_time_ns or 0) + n * NS_PER_TICK
        self.ticks += n

    def ret(self) -> None:
        i = self.stack.pop()
        if self.events is not None:
            self.events.append(Event("return", i, self.ticks, self.ticks * NS_PER_TICK if self.timed else None))

    def profile(self, module_name: str = "synthetic.wasm") -> Profile:
        assert self.stack == [0], "unbalanced calls"
        for n in reversed(self.nodes):  # children have larger ids: totals bottom-up
            n.total_ticks = n.self_ticks + sum(self.nodes[c].total_ticks for c in n.children)
            if self.timed:
                n.total_time_ns = (n.self_time_ns or 0) + sum(self.nodes[c].total_time_ns or 0 for c in n.children)
        metrics = ("calls", "ticks", "time") if self.timed else ("calls", "ticks")
        return Profile(self.nodes, module_name=module_name, metrics=metrics, events=self.events)


def kernel_like(n: int = 6, *, timed: bool = False, events: bool = True, fib_depth: int = 4,
                module_name: str = "synthetic.wasm") -> Profile:
    """A profile shaped like examples/kernel.wasm's run(n) plus a recursive fib and a host call.

    run -> fill -> rand (n times); run -> quicksort (recursive) -> partition -> swap;
    run -> fib (recursive, fib_depth levels); run -> log (host); run -> is_sorted."""
    r = Recorder("run", timed=timed, events=events)
    r.define(0, "log", host=True)
    r.define(1, "rand", location=("kernel.c", 10))
    r.define(2, "fill", location=("kernel.c", 20))
    r.define(3, "swap")
    r.define(4, "partition")
    r.define(5, "quicksort", location=("kernel.c", 40))
    r.define(6, "is_sorted")
    r.define(7, "fib")
    r.define(8, "run")
    r.call(8)
    r.tick(3)
    r.call(2)
    for _ in range(n):
        r.tick(4)
        r.call(1)
        r.tick(11)
        r.ret()
    r.tick(2)
    r.ret()

    def quicksort(depth: int) -> None:
        r.call(5)
        r.tick(5)
        if depth:
            r.call(4)
            r.tick(7)
            for _ in range(depth):
                r.call(3)
                r.tick(6)
                r.ret()
            r.ret()
            quicksort(depth - 1)
            quicksort(depth - 2) if depth >= 2 else None
        r.tick(1)
        r.ret()

    quicksort(3)

    def fib(d: int) -> None:
        r.call(7)
        r.tick(2)
        if d > 1:
            fib(d - 1)
            fib(d - 2)
        r.tick(1)
        r.ret()

    fib(fib_depth)
    r.call(0)
    r.tick(0)
    r.ret()
    r.call(6)
    r.tick(3 * n)
    r.ret()
    r.tick(1)
    r.ret()
    return r.profile(module_name)


def flat(counts: Dict[str, int], *, module_name: str = "flat.wasm") -> Profile:
    """run -> each named function once with the given self ticks, in order."""
    r = Recorder("run")
    for i, name in enumerate(counts):
        r.define(i, name)
    for i, (name, ticks) in enumerate(counts.items()):
        r.call(i)
        r.tick(ticks)
        r.ret()
    return r.profile(module_name)
