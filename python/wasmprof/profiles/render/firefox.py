"""The Firefox Profiler's "processed profile" format (opens in https://profiler.firefox.com).

We write processed profile version 48 (``meta.preprocessedProfileVersion``); the profiler
upgrades older versions on load, so a file stays openable as the format moves on.  Each metric
becomes one thread (named "ticks", "calls", "time") whose samples are the call paths, weighted
by the path's self value with ``weightType: "samples"``: the call tree's "Running samples"
column then reads exact ticks (or calls), and percentages are exact.  Sample ``time`` is the
cumulative weight before the sample (a synthetic, monotonic axis), with ``meta.interval`` 1.

Tables (structure of arrays, each with ``length``): stringArray, funcTable (one per function),
frameTable (one per function, with its source line when known), stackTable (one per call path,
``prefix`` pointing at the caller's stack), samples.  Categories: "Other" (grey, the required
default), "WebAssembly" and "Host" so guest and imported functions are coloured apart.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from ._common import function_labels, root_value, self_value

if TYPE_CHECKING:
    from ..model import FuncKey, Profile

NAME = "firefox"
EXTENSIONS = (".firefox.json", ".fxprof.json")
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "Firefox Profiler processed profile (one thread per metric)"
VIEWER = "https://profiler.firefox.com (Load a profile from file)"

PROCESSED_PROFILE_VERSION = 48
GECKO_PROFILE_VERSION = 27
CATEGORIES = [
    {"name": "Other", "color": "grey", "subcategories": ["Other"]},
    {"name": "WebAssembly", "color": "blue", "subcategories": ["Other"]},
    {"name": "Host", "color": "orange", "subcategories": ["Other"]},
]
CATEGORY_WASM, CATEGORY_HOST = 1, 2


def render(profile: "Profile", **_: object) -> str:
    return json.dumps(to_dict(profile), separators=(",", ":")) + "\n"


def to_dict(profile: "Profile") -> Dict[str, Any]:
    threads = [_thread(profile, metric, tid) for tid, metric in enumerate(("ticks", "calls", "time"), start=1)
               if metric in profile.metrics]
    return {
        "meta": {
            "interval": 1,
            "startTime": 0,
            "processType": 0,
            "product": f"wasmprof: {profile.module_name}",
            "stackwalk": 0,
            "version": GECKO_PROFILE_VERSION,
            "preprocessedProfileVersion": PROCESSED_PROFILE_VERSION,
            "categories": CATEGORIES,
            "markerSchema": [],
            "symbolicated": True,
            "usesOnlyOneStackType": True,
            "extra": [{"label": "wasmprof", "entries": [
                {"label": "Cost model", "format": "string", "value": profile.cost_model},
                {"label": "Total ticks", "format": "string", "value": str(profile.total_ticks)},
            ]}],
        },
        "libs": [],
        "pages": [],
        "counters": [],
        "threads": threads,
    }


class _Strings:
    def __init__(self) -> None:
        self.array: List[str] = []
        self._index: Dict[str, int] = {}

    def __call__(self, s: str) -> int:
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self.array)
            self.array.append(s)
        return i


def _table(columns: Dict[str, List[Any]], length: int) -> Dict[str, Any]:
    out: Dict[str, Any] = dict(columns)
    out["length"] = length
    return out


def _thread(profile: "Profile", metric: str, tid: int) -> Dict[str, Any]:
    labels = function_labels(profile)
    strings = _Strings()
    func_of: Dict["FuncKey", int] = {}
    funcs: Dict[str, List[Any]] = {k: [] for k in ("name", "isJS", "relevantForJS", "resource", "fileName",
                                                   "lineNumber", "columnNumber")}
    frames: Dict[str, List[Any]] = {k: [] for k in ("address", "inlineDepth", "category", "subcategory", "func",
                                                    "nativeSymbol", "innerWindowID", "implementation", "line",
                                                    "column")}
    for n in profile.nodes:
        if n.key in func_of:
            continue
        f = func_of[n.key] = len(funcs["name"])
        loc = n.location
        funcs["name"].append(strings(labels[n.key]))
        funcs["isJS"].append(False)
        funcs["relevantForJS"].append(False)
        funcs["resource"].append(-1)
        funcs["fileName"].append(strings(loc[0]) if loc else None)
        funcs["lineNumber"].append(loc[1] if loc else None)
        funcs["columnNumber"].append(None)
        # One frame per function: the frame index equals the func index.
        frames["address"].append(-1)
        frames["inlineDepth"].append(0)
        frames["category"].append(CATEGORY_HOST if n.host else CATEGORY_WASM)
        frames["subcategory"].append(0)
        frames["func"].append(f)
        frames["nativeSymbol"].append(None)
        frames["innerWindowID"].append(0)
        frames["implementation"].append(None)
        frames["line"].append(loc[1] if loc else None)
        frames["column"].append(None)

    # One stack per call-tree node, in preorder, so a prefix always comes before its stack.  The
    # root is a frame only when it has a value of its own (as in weighted_stacks): then it gets a
    # one-frame stack, and the root's children still start new stacks (prefix None).
    stacks: Dict[str, List[Any]] = {"frame": [], "category": [], "subcategory": [], "prefix": []}
    stack_of: Dict[int, int] = {}  # node id -> stack index
    samples: Dict[str, Any] = {"stack": [], "time": [], "weight": [], "weightType": "samples"}
    elapsed = 0
    for node, _ in profile.walk():
        if node.id == 0:
            value = root_value(profile, metric)
            if not value:
                continue
            prefix = None
        else:
            value = self_value(node, metric)
            prefix = stack_of.get(node.parent)
        s = stack_of[node.id] = len(stacks["frame"])
        stacks["frame"].append(func_of[node.key])
        stacks["category"].append(CATEGORY_HOST if node.host else CATEGORY_WASM)
        stacks["subcategory"].append(0)
        stacks["prefix"].append(prefix)
        if value:
            samples["stack"].append(s)
            samples["time"].append(elapsed)
            samples["weight"].append(value)
            elapsed += value
    samples["length"] = len(samples["stack"])
    empty_markers: Dict[str, List[Any]] = {"data": [], "name": [], "startTime": [], "endTime": [], "phase": [], "category": []}
    return {
        "processType": "default",
        "processStartupTime": 0,
        "processShutdownTime": None,
        "registerTime": 0,
        "unregisterTime": None,
        "pausedRanges": [],
        "name": metric,
        "processName": f"{profile.module_name} ({metric})",
        "isMainThread": True,
        "pid": "1",
        "tid": tid,
        "samples": samples,
        "markers": _table(empty_markers, 0),
        "stackTable": _table(stacks, len(stacks["frame"])),
        "frameTable": _table(frames, len(frames["func"])),
        "funcTable": _table(funcs, len(funcs["name"])),
        "resourceTable": _table({"lib": [], "name": [], "host": [], "type": []}, 0),
        "nativeSymbols": _table({"libIndex": [], "address": [], "name": [], "functionSize": []}, 0),
        "stringArray": strings.array,
    }
