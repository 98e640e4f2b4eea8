"""Annotated source (``*.lines.html``): each source file beside its exact ticks per line.

A self-contained page (no script, no network): a table of the files by ticks, then every file
that ran code, each line with its ticks, its share of the profile and the calls made from it,
the line's background heat-coloured by its ticks (white to red).  Files are read from the
paths in the DWARF line tables; ``source_dirs`` adds directories to look in (a file is found
there by its path relative to one of them, then by its base name), for sources moved since the
build.  A file that cannot be read is listed with its lines' ticks but no text.

``max_files`` caps how many files are shown (most ticks first); lines that ran nothing are
shown only within ``context`` lines of one that did (gaps are folded).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from ..model import Profile

NAME = "lines-html"
EXTENSIONS = (".lines.html",)
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "annotated source: ticks per source line beside the source text (needs DWARF lines)"
VIEWER = "any web browser"

_CSS = """
body { font: 13px system-ui, sans-serif; margin: 1em; }
table { border-collapse: collapse; }
td, th { padding: 0 .5em; }
th { text-align: left; border-bottom: 1px solid #999; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre, .src { font: 12px ui-monospace, monospace; white-space: pre; margin: 0; }
.file { margin-top: 2em; }
.gap td { color: #888; }
.ln { color: #888; }
"""


def find_source(path: str, source_dirs: Sequence[str] = ()) -> Optional[str]:
    """The readable file for a DWARF path: itself, or under one of source_dirs by its relative
    path, its path without leading directories, or its base name."""
    if os.path.isfile(path):
        return path
    parts = [p for p in path.replace("\\", "/").split("/") if p and p != ".."]
    for d in source_dirs:
        for k in range(len(parts)):
            candidate = os.path.join(d, *parts[k:])
            if os.path.isfile(candidate):
                return candidate
    return None


def read_source(path: str, source_dirs: Sequence[str] = ()) -> Optional[List[str]]:
    found = find_source(path, source_dirs)
    if found is None:
        return None
    try:
        with open(found, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return None


def _heat(ticks: int, hottest: int) -> str:
    if not ticks or not hottest:
        return ""
    x = ticks / hottest
    g = int(255 - 200 * x)  # white -> red
    return f' style="background: rgb(255,{g},{g})"'


def render(profile: "Profile", *, source_dirs: Sequence[str] = (), max_files: int = 50, context: int = 3,
           func: Optional[str] = None, **_: object) -> str:
    table = profile.line_table(func) if profile.has_offsets else {}
    by_file: Dict[Optional[str], Dict[int, Tuple[int, int]]] = {}
    for (file, line), tc in table.items():
        by_file.setdefault(file, {})[line] = tc
    total = profile.total_ticks or 1
    files = sorted(by_file.items(), key=lambda kv: -sum(t for t, _ in kv[1].values()))
    title = escape(f"wasmprof: {profile.module_name} by source line")
    out = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title>"
           f"<style>{_CSS}</style></head>\n<body>\n<h1>{title}</h1>",
           f"<p>{profile.total_ticks:,} ticks ({escape(profile.cost_model)})"
           + (f", function {escape(func)}" if func else "") + "</p>"]
    if not profile.has_offsets:
        out.append("<p>This profile has no per-instruction counts (a debugger's profile, or one saved by an "
                   "older wasmprof): no lines to show.</p>")
    elif not profile.has_lines:
        out.append("<p>The module has no DWARF line tables: build it with <code>-g</code> for per-line "
                   "ticks.</p>")
    out.append("<table><tr><th>file</th><th class=num>ticks</th><th class=num>%</th></tr>")
    for i, (file, rows) in enumerate(files[:max_files]):
        ticks = sum(t for t, _ in rows.values())
        name = escape(file or "(no source line)")
        out.append(f'<tr><td><a href="#f{i}">{name}</a></td><td class=num>{ticks:,}</td>'
                   f"<td class=num>{100.0 * ticks / total:.2f}</td></tr>")
    out.append("</table>")
    hottest = max((t for _, rows in files for t, _ in rows.values()), default=0)
    for i, (file, rows) in enumerate(files[:max_files]):
        text = read_source(file, source_dirs) if file else None
        out.append(f'<div class="file" id="f{i}"><h2>{escape(file or "(no source line)")}</h2>')
        if text is None:
            if file:
                out.append("<p>(source not readable here: pass source_dirs / --source-dir)</p>")
            text = []
        out.append("<table><tr><th class=num>line</th><th class=num>ticks</th><th class=num>%</th>"
                   "<th class=num>calls</th><th>source</th></tr>")
        around = context if text else 0  # no text: only the lines that ran
        last = max([len(text), *rows])
        show = sorted({k for ln in rows for k in range(max(1, ln - around), ln + around + 1) if k <= last}
                      | ({0} if 0 in rows else set()))
        prev = None
        for ln in show:
            if prev is not None and ln > prev + 1:
                out.append('<tr class="gap"><td class=num>...</td><td></td><td></td><td></td><td></td></tr>')
            prev = ln
            ticks, calls = rows.get(ln, (0, 0))
            src = escape(text[ln - 1]) if 0 < ln <= len(text) else ""
            pct = f"{100.0 * ticks / total:.2f}" if ticks else ""
            out.append(f"<tr{_heat(ticks, hottest)}><td class='num ln'>{ln}</td>"
                       f"<td class=num>{f'{ticks:,}' if ticks else ''}</td><td class=num>{pct}</td>"
                       f"<td class=num>{f'{calls:,}' if calls else ''}</td><td class=src>{src}</td></tr>")
        out.append("</table></div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
