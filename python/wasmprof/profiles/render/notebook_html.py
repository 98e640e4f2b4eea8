"""The interactive HTML of a Profile in a notebook (``Profile.html()``,
``Profile._repr_html_``, the ``%wasmprof`` magic).

One self-contained fragment, no server and no network: a summary line,
then two rows of switches, the metric (ticks, calls, time when measured)
and the view (the call tree: flamegraph and top table; or the source lines
with the most ticks, when the profile has line data).  The switches are
radio buttons driven by CSS alone (``:checked ~`` selectors), so they work
where a notebook front end runs no script (an untrusted notebook,
GitHub's viewer); the flamegraphs' zoom, search and hover are their own
inline script (flamegraph_svg.py) and need one.

The calls metric draws the flamegraph with each frame as wide as the calls
made in its subtree (the node's calls and its descendants'), a measure
that nests as ticks and time do.
"""
from __future__ import annotations

import copy
import uuid
from html import escape
from typing import TYPE_CHECKING, List, Optional, Tuple

from . import flamegraph_svg, summary_html

if TYPE_CHECKING:
    from ..model import Profile

METRIC_LABELS = {"ticks": "ticks", "calls": "calls", "time": "time"}
SORT_KEY = {"ticks": "self_ticks", "calls": "calls", "time": "self_time_ns"}

_STYLE = """
#%(p)s { font-family: var(--jp-ui-font-family, Verdana, sans-serif); font-size: 12px; }
#%(p)s > input { margin-left: 10px; }
#%(p)s > label { margin-right: 4px; cursor: pointer; }
#%(p)s .wpn-sep { display: inline-block; width: 18px; }
#%(p)s .wpn-tree, #%(p)s .wpn-lines, #%(p)s .wpn-m { display: none; }
#%(p)s .wpn-v-tree:checked ~ .wpn-body .wpn-tree { display: block; }
#%(p)s .wpn-v-lines:checked ~ .wpn-body .wpn-lines { display: block; }
#%(p)s .wpn-m-ticks:checked ~ .wpn-body .wpn-ticks { display: block; }
#%(p)s .wpn-m-calls:checked ~ .wpn-body .wpn-calls { display: block; }
#%(p)s .wpn-m-time:checked ~ .wpn-body .wpn-time { display: block; }
#%(p)s input:disabled + label { color: #aaa; cursor: default; }
#%(p)s table { border-collapse: collapse; margin: 6px 0; }
#%(p)s td, #%(p)s th { padding: 1px 8px; text-align: right; border-bottom: 1px solid #e4e4e4; }
#%(p)s td:first-child, #%(p)s th:first-child { text-align: left; }
#%(p)s .wpn-note { color: #777; }
#%(p)s .wpn-svg { overflow-x: auto; }
"""


def _calls_view(profile: "Profile") -> "Profile":
    """A copy whose ticks are calls: self = the node's calls, total = the
    calls in its subtree, so that the flamegraph's widths nest."""
    view = copy.copy(profile)
    nodes = [copy.copy(n) for n in profile.nodes]
    for n in nodes:
        n.self_ticks, n.total_ticks = (n.calls if n.id else 0), 0
    for n in reversed(nodes):  # children have larger ids than their parents
        n.total_ticks += n.self_ticks
        if n.parent >= 0:
            nodes[n.parent].total_ticks += n.total_ticks
    view.nodes = nodes
    return view


def _flamegraph(profile: "Profile", metric: str, prefix: str, width: int) -> str:
    if metric == "calls":
        svg = flamegraph_svg.render_element(
            _calls_view(profile), metric="ticks", width=width, element_id=f"{prefix}-fg-calls",
            title=f"{profile.module_name}: calls in each subtree")
        return svg.replace('UNIT = "ticks"', 'UNIT = "calls"')
    return flamegraph_svg.render_element(profile, metric=metric, width=width, element_id=f"{prefix}-fg-{metric}")


def _top_table(profile: "Profile", metric: str, n: int) -> str:
    total = max(profile.total_ticks, 1)
    funcs = sorted(profile.functions(), key=lambda f: (-(getattr(f, SORT_KEY[metric]) or 0), f.name))[:n]
    head = ["function", "calls", "self ticks", "self %", "total ticks", "total %"]
    if profile.timed:
        head += ["self ms", "total ms"]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for f in funcs:
        cells = [escape(f.name) + (" <i>(host)</i>" if f.host else ""), f"{f.calls:,}", f"{f.self_ticks:,}",
                 f"{100.0 * f.self_ticks / total:.2f}", f"{f.total_ticks:,}", f"{100.0 * f.total_ticks / total:.2f}"]
        if profile.timed:
            cells += [f"{(f.self_time_ns or 0) / 1e6:.3f}", f"{(f.total_time_ns or 0) / 1e6:.3f}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    by = {"ticks": "self ticks", "calls": "calls", "time": "self time"}[metric]
    return f"<p><b>Top {len(funcs)} functions by {by}</b></p><table class=\"wasmprof-top\">{''.join(rows)}</table>"


def line_rows(profile: "Profile") -> List[Tuple[str, int, int, int]]:
    """(where, line, ticks, calls) for every source line with ticks, from
    :meth:`Profile.lines`; "where" is the file, or the function for code
    without DWARF lines (line 0).  [] when the profile has no
    per-instruction counts."""
    if not profile.has_offsets:
        return []
    rows: List[Tuple[str, int, int, int]] = []
    for r in profile.lines():
        if r.file is not None:
            where = r.file if not r.function else f"{r.file} ({r.function})"
        else:
            where = f"{r.inlined_into or r.function or '?'} (no source line)"
        rows.append((where, r.line, r.ticks, r.calls))
    return rows


def _lines_table(profile: "Profile", rows: List[Tuple[str, int, int, int]], metric: str, n: int) -> str:
    if not rows:
        return ('<p class="wpn-note">No source lines: the profile has no per-instruction counts '
                "(a profile loaded from an older file, or merged from such).</p>")
    total = max(profile.total_ticks, 1)
    key = (lambda r: (-r[3], -r[2])) if metric == "calls" else (lambda r: (-r[2], -r[3]))
    best = sorted(rows, key=key)[:n]
    out = ["<tr><th>source line</th><th>ticks</th><th>%</th><th>calls made</th></tr>"]
    for where, line, ticks, calls in best:
        at = f"{escape(where)}:{line}" if line else escape(where)
        out.append(f"<tr><td>{at}</td><td>{ticks:,}</td><td>{100.0 * ticks / total:.2f}</td><td>{calls:,}</td></tr>")
    by = "calls made" if metric == "calls" else "ticks"
    note = "" if profile.has_lines else ('<p class="wpn-note">The module has no DWARF line table (build it '
                                           "with -g): one row per function.</p>")
    return f"<p><b>Top {len(best)} source lines by {by}</b></p>{note}<table>{''.join(out)}</table>"


def render(profile: "Profile", *, top: int = 10, lines: Optional[int] = None, width: int = 960,
           view: Optional[str] = None) -> str:
    """The fragment.  ``top``: functions in the table; ``lines``: source
    lines in the line view (20 when None), opened first when given (or
    ``view="lines"``)."""
    p = f"wpn-{uuid.uuid4().hex[:12]}"
    metrics = ["ticks", "calls"] + (["time"] if profile.timed else [])
    rows = line_rows(profile)
    first_view = view or ("lines" if lines is not None and rows else "tree")
    nlines = lines if lines is not None else 20
    switches: List[str] = []
    for m in ("ticks", "calls", "time"):
        disabled = "" if m in metrics else " disabled"
        checked = " checked" if m == "ticks" else ""
        switches.append(f'<input type="radio" name="{p}-metric" id="{p}-m-{m}" class="wpn-m-{m}"{checked}{disabled}>'
                        f'<label for="{p}-m-{m}">{METRIC_LABELS[m]}</label>')
    switches.append('<span class="wpn-sep"></span>')
    for v, label in (("tree", "call tree"), ("lines", "source lines")):
        checked = " checked" if v == first_view else ""
        disabled = "" if v == "tree" or rows else " disabled"
        switches.append(f'<input type="radio" name="{p}-view" id="{p}-v-{v}" class="wpn-v-{v}"{checked}{disabled}>'
                        f'<label for="{p}-v-{v}">{label}</label>')
    tree = "".join(f'<div class="wpn-m wpn-{m}">{_top_table(profile, m, top)}'
                   f'<div class="wpn-svg">{_flamegraph(profile, m, p, width)}</div></div>' for m in metrics)
    line_views = "".join(f'<div class="wpn-m wpn-{m}">{_lines_table(profile, rows, m, nlines)}</div>'
                         for m in metrics)
    return (f'<div class="wasmprof-profile" id="{p}"><style>{_STYLE % {"p": p}}</style>'
            f"<p>{summary_html.summary_line(profile)}</p>{''.join(switches)}"
            f'<div class="wpn-body"><div class="wpn-tree">{tree}</div>'
            f'<div class="wpn-lines">{line_views}</div></div></div>')
