"""Real profiler output for the consumer tests of the formats: wasmprof.profile() on bundled guests.

- kernel(): examples/kernel.wasm run(1000): eight functions, quicksort recursing 17 deep;
- kernel_flamechart(): the same with flamechart events (the speedscope "evented" profile, the
  Chrome trace's calls in time order);
- fib(): examples/fib.wasm fib(15): one function, recursive (totals must count it once);
- kernel_timed(): kernel() with wall-clock time (time=True);
- sort_strings(): bench/programs/sort_strings.wasm, a C program on wasi-libc: libc names, WASI
  host functions (calls, no ticks), a few dozen functions.

Each is profiled once per test session (they take milliseconds) and must not be changed.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict, List, Tuple

import wasmprof
from .paths import EXAMPLES, ROOT
from wasmprof.profiles.model import Node, Profile

MAX_TICKS = 10**8  # every guest here needs far less; a regression that loops stops here


@functools.lru_cache(maxsize=None)
def kernel() -> Profile:
    return _checked(wasmprof.profile(EXAMPLES / "kernel.wasm", invoke="run", args=(1000,), max_ticks=MAX_TICKS))


@functools.lru_cache(maxsize=None)
def kernel_flamechart() -> Profile:
    p = wasmprof.profile(EXAMPLES / "kernel.wasm", invoke="run", args=(1000,), flamechart=True, max_ticks=MAX_TICKS)
    assert p.events and not p.events_truncated
    return _checked(p)


@functools.lru_cache(maxsize=None)
def fib() -> Profile:
    return _checked(wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=(15,), max_ticks=MAX_TICKS))


@functools.lru_cache(maxsize=None)
def sort_strings() -> Profile:
    out = bytearray()
    wasi = wasmprof.Wasi(args=["sort_strings", "2"], stdout=out)
    p = wasmprof.profile(ROOT / "bench" / "programs" / "sort_strings.wasm", wasi=wasi, max_ticks=MAX_TICKS)
    assert out.startswith(b"sort_strings n=2 checksum="), out
    assert any(n.host for n in p.nodes), "the WASI calls are host nodes"
    return _checked(p)


# The profiles every viewer is tested on, by name.
PROFILES: Dict[str, Callable[[], Profile]] = {
    "kernel": kernel, "kernel_flamechart": kernel_flamechart, "fib": fib, "sort_strings": sort_strings,
}


def _checked(p: Profile) -> Profile:
    assert p.trap is None, p.trap
    # The tests look functions up by name: the names of these guests are unique.
    names = [f.name for f in p.functions()]
    assert len(names) == len(set(names)), names
    return p


def sandwich_rows(p: Profile, value: Callable[[Node], int]) -> Dict[str, Tuple[int, int]]:
    """{function name: (self, total)} as a viewer's per-function table shows a profile whose
    samples are the call paths weighted by ``value(node)``: self sums the function's nodes, total
    every path that has the function on it, once per path however deep it recurses.  Functions
    on no weighted path are not shown.  Computed from the nodes, independently of the renderers."""
    rows: Dict[str, List[int]] = {}
    for path, node in p.stacks():
        v = value(node)
        if not v:
            continue
        rows.setdefault(node.name, [0, 0])[0] += v
        for name in {n.name for n in path}:
            rows.setdefault(name, [0, 0])[1] += v
    return {name: (s, t) for name, (s, t) in rows.items()}


def ticks_rows(p: Profile) -> Dict[str, Tuple[int, int]]:
    """sandwich_rows by self ticks, checked against Profile.functions()."""
    rows = sandwich_rows(p, lambda n: n.self_ticks)
    assert rows == {f.name: (f.self_ticks, f.total_ticks) for f in p.functions() if f.total_ticks}
    return rows


@functools.lru_cache(maxsize=None)
def kernel_timed() -> Profile:
    """kernel() with wall-clock time per node (time=True)."""
    return _checked(wasmprof.profile(EXAMPLES / "kernel.wasm", invoke="run", args=(1000,), time=True,
                                     max_ticks=MAX_TICKS))
