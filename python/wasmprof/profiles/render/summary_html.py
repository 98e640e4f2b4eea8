"""HTML fragments for Jupyter (Profile._repr_html_, ProfileDiff._repr_html_): summary, top table, flamegraph."""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from . import flamegraph_svg

if TYPE_CHECKING:
    from ..model import Profile, ProfileDiff

# Each inline flamegraph in a notebook needs its own element ids.
_ids = itertools.count(1)


def summary_line(profile: "Profile") -> str:
    funcs = profile.functions()
    calls = sum(f.calls for f in funcs)
    parts = [f"<b>{escape(profile.module_name)}</b>", f"{profile.total_ticks:,} ticks",
             f"{calls:,} calls", f"{len(funcs)} functions", f"{len(profile.nodes)} call paths",
             f"cost model: {escape(profile.cost_model)}"]
    if profile.timed and profile.root.total_time_ns is not None:
        parts.append(f"{profile.root.total_time_ns / 1e6:.3f} ms")
    if profile.events is not None:
        note = " (truncated)" if profile.events_truncated else ""
        parts.append(f"{len(profile.events):,} flamechart events{note}")
    line = " &middot; ".join(parts)
    hint = getattr(profile, "hint", None)
    return f"{line}<br><i>{escape(hint)}</i>" if hint else line


def top_table(profile: "Profile", n: int = 10) -> str:
    total = profile.total_ticks or 1
    head = "<tr><th>function</th><th>calls</th><th>self ticks</th><th>self %</th><th>total ticks</th><th>total %</th>"
    if profile.timed:
        head += "<th>self ms</th><th>total ms</th>"
    rows = [head + "</tr>"]
    for f in profile.top(n):
        name = escape(f.name) + (" <i>(host)</i>" if f.host else "")
        row = (f"<tr><td>{name}</td><td>{f.calls:,}</td><td>{f.self_ticks:,}</td>"
               f"<td>{100.0 * f.self_ticks / total:.2f}</td><td>{f.total_ticks:,}</td>"
               f"<td>{100.0 * f.total_ticks / total:.2f}</td>")
        if profile.timed:
            row += f"<td>{(f.self_time_ns or 0) / 1e6:.3f}</td><td>{(f.total_time_ns or 0) / 1e6:.3f}</td>"
        rows.append(row + "</tr>")
    return '<table class="wasmprof-top">' + "".join(rows) + "</table>"


def render(profile: "Profile", *, top: int = 10, width: int = 960) -> str:
    svg = flamegraph_svg.render_element(profile, width=width, element_id=f"wasmprof-fg-{next(_ids)}")
    return (f'<div class="wasmprof-profile"><p>{summary_line(profile)}</p>'
            f"<p><b>Top {top} functions by self ticks</b></p>{top_table(profile, top)}"
            f"<div>{svg}</div></div>")


def render_diff(diff: "ProfileDiff", *, top: int = 10) -> str:
    head = ("<tr><th>function</th><th>calls before</th><th>calls after</th><th>self before</th>"
            "<th>self after</th><th>&Delta; self</th><th>&Delta; total</th></tr>")
    rows = [head]
    for f in diff.top(top):
        rows.append(f"<tr><td>{escape(f.name)}</td><td>{f.calls_before:,}</td><td>{f.calls_after:,}</td>"
                    f"<td>{f.self_ticks_before:,}</td><td>{f.self_ticks_after:,}</td>"
                    f"<td>{f.self_ticks_delta:+,}</td><td>{f.total_ticks_delta:+,}</td></tr>")
    return (f'<div class="wasmprof-diff"><p><b>{escape(diff.before.module_name)}</b>: '
            f"{diff.before.total_ticks:,} &rarr; {diff.after.total_ticks:,} ticks "
            f"({diff.total_ticks_delta:+,})</p><table class=\"wasmprof-top\">{''.join(rows)}</table></div>")
