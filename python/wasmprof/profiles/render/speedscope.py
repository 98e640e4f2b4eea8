"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json).

One "sampled" profile per metric of the profile (ticks, calls, and time when timed): each call
path is one sample whose weight is the path's self value.  When the profile has flamechart
events, an "evented" profile (open/close frame events at tick timestamps) follows, which
speedscope shows in its "Time Order" view.  Frames are functions, with file and line when the
node has a location.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from ._common import function_labels, weighted_stacks

if TYPE_CHECKING:
    from ..model import FuncKey, Profile

NAME = "speedscope"
EXTENSIONS = (".speedscope.json", ".speedscope")
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "speedscope JSON (one sampled profile per metric, evented when flamechart events exist)"
VIEWER = "https://www.speedscope.app (drag the file in), `speedscope FILE`"
SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"

_UNITS = {"ticks": "none", "calls": "none", "time": "nanoseconds"}


def render(profile: "Profile", **_: object) -> str:
    return json.dumps(to_dict(profile), separators=(",", ":")) + "\n"


def to_dict(profile: "Profile") -> Dict[str, Any]:
    labels = function_labels(profile)
    frames: List[Dict[str, Any]] = []
    frame_of: Dict["FuncKey", int] = {}
    for n in profile.nodes:
        if n.key not in frame_of:
            frame_of[n.key] = len(frames)
            fr: Dict[str, Any] = {"name": labels[n.key]}
            if n.location is not None:
                fr["file"], fr["line"] = n.location[0], n.location[1]
            frames.append(fr)
    profiles: List[Dict[str, Any]] = []
    for metric in ("ticks", "calls", "time"):
        if metric not in profile.metrics:
            continue
        samples, weights = [], []
        for path, value in weighted_stacks(profile, metric):
            if value:
                samples.append([frame_of[n.key] for n in path])
                weights.append(value)
        total = sum(weights)
        profiles.append({"type": "sampled", "name": f"{profile.module_name} ({metric})", "unit": _UNITS[metric],
                         "startValue": 0, "endValue": total, "samples": samples, "weights": weights})
    if profile.events is not None:
        profiles.append(_evented(profile, frame_of))
    return {
        "$schema": SCHEMA_URL,
        "shared": {"frames": frames},
        "profiles": profiles,
        "name": profile.module_name,
        "activeProfileIndex": 0,
        "exporter": "wasmprof",
    }


def _evented(profile: "Profile", frame_of: Dict["FuncKey", int]) -> Dict[str, Any]:
    """Open/close events at tick timestamps; frames left open (a truncated record) close at the end."""
    assert profile.events is not None
    events: List[Dict[str, Any]] = []
    stack: List[int] = []
    end = 0
    for e in profile.events:
        end = e.ticks
        if e.node == 0:
            continue
        frame = frame_of[profile.nodes[e.node].key]
        if e.kind == "call":
            stack.append(frame)
            events.append({"type": "O", "frame": frame, "at": e.ticks})
        else:
            # Close down to the returning frame (a trap may unwind several at once).
            if frame not in stack:
                continue
            while stack:
                top = stack.pop()
                events.append({"type": "C", "frame": top, "at": e.ticks})
                if top == frame:
                    break
    if not profile.events_truncated:
        end = max(end, profile.total_ticks)
    while stack:
        events.append({"type": "C", "frame": stack.pop(), "at": end})
    suffix = " (sampled every %d ticks)" % profile.events_sample_every if profile.events_sample_every else ""
    return {"type": "evented", "name": f"{profile.module_name} (flamechart, ticks){suffix}", "unit": "none",
            "startValue": 0, "endValue": end, "events": events}
