"""Rich HTML representations for Jupyter (and any other ``_repr_html_``
reader): a Module, a Trap, a Coredump, the debugger's Stop.  Each is a
self-contained fragment (inline CSS, no script, no network), so it shows the
same in JupyterLab, classic Notebook and VS Code.  Profiles have their own
(profiles/render/summary_html.py)."""
from __future__ import annotations

import linecache
from html import escape
from typing import Any, Iterable, List, Optional, Sequence, Tuple

STYLE = ("<style>.wpr{font-family:var(--jp-code-font-family,monospace);font-size:12px}"
         ".wpr table{border-collapse:collapse;margin:4px 0}.wpr td,.wpr th{padding:1px 8px;text-align:left;"
         "border-bottom:1px solid #ddd}.wpr .dim{color:#888}.wpr .hot{background:#fde2e1}"
         ".wpr pre{margin:2px 0 6px 24px}</style>")


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _wrap(title: str, body: str) -> str:
    return f'{STYLE}<div class="wpr"><b>{escape(title)}</b>{body}</div>'


def source_snippet(file: Optional[str], line: Optional[int], context: int = 2) -> str:
    """The source lines around file:line when the file is readable, the line
    itself highlighted; "" otherwise."""
    if not file or not line:
        return ""
    lines: List[str] = []
    for n in range(max(1, line - context), line + context + 1):
        text = linecache.getline(file, n)
        if not text and n >= line:
            break
        mark = ' class="hot"' if n == line else ""
        lines.append(f'<span{mark}>{n:>5}  {escape(text.rstrip())}</span>')
    return "<pre>" + "\n".join(lines) + "</pre>" if any(lines) else ""


def module_html(module: Any) -> str:
    """A Module: its imports and exports with their types, custom sections,
    and whether names and DWARF line tables are there."""
    from .build_hints import missing_info_hint

    sections = list(module.custom_section_names)
    has_names, has_lines = "name" in sections, ".debug_line" in sections
    title = f"wasmprof.Module {module.file_name or ''}".rstrip()
    parts = [f'<div class="dim">{len(module.imports)} imports, {len(module.exports)} exports; '
             f'names: {"yes" if has_names else "no"}, DWARF lines: {"yes" if has_lines else "no"}</div>']
    if module.imports:
        parts.append(_table(("import", "kind", "type"), ((f"{i.module}.{i.name}", i.kind, i.type)
                                                          for i in module.imports)))
    if module.exports:
        parts.append(_table(("export", "kind", "type"), ((e.name, e.kind, e.type) for e in module.exports)))
    if sections:
        parts.append(f'<div class="dim">custom sections: {escape(", ".join(sections))}</div>')
    hint = missing_info_hint(module)
    if hint:
        parts.append(f"<div><i>{escape(hint)}</i></div>")
    return _wrap(title, "".join(parts))


def frames_html(frames: Sequence[Any]) -> str:
    """Backtrace frames (wasmprof.Frame), innermost first, each with its
    source lines when the file is readable."""
    out = []
    for i, f in enumerate(frames):
        where = f" {f.module_offset:#x}" if f.module_offset is not None else ""
        name = f.source_function if f.inlined and f.source_function else f.display_name()
        loc = f" at {f.location}" if f.location is not None else ""
        out.append(f"<div>#{i}{escape(where)} <b>{escape(name)}</b>{escape(loc)}</div>")
        out.append(source_snippet(f.file, f.line))
        for caller in f.inlined:
            out.append(f'<div class="dim">&nbsp;&nbsp;inlined into {escape(caller.function or "?")} at '
                       f"{escape(str(caller))}</div>")
    return "".join(out)


def trap_html(trap: Any) -> str:
    """A Trap: the message, then the backtrace with source snippets."""
    first = str(trap.args[0]) if trap.args else type(trap).__name__
    body = frames_html(getattr(trap, "frames", None) or [])
    path = getattr(trap, "coredump", None)
    if path:
        body += f'<div class="dim">coredump: {escape(str(path))}</div>'
    return _wrap(f"Trap ({getattr(trap, 'kind', '?')}): {first}", body)


def _values(values: Iterable[Any]) -> str:
    return ", ".join(f"{v.type} {v.value}" for v in values) or "(none recorded)"


def _named_locals(sym: Any, func_index: int, values: Sequence[Any]) -> str:
    """Locals as "name = type value" (names from the module's name section, else "local N")."""
    return ", ".join(f"{sym.local(func_index, j)} = {v.type} {v.value}" for j, v in enumerate(values)) \
        or "(none recorded)"


def coredump_html(dump: Any) -> str:
    """A Coredump: its frames with locals by name, source lines (with the
    source text when the file is readable) and stacks, globals, and a
    hexdump of the start of each memory's non-zero data.  Names and lines
    need the module (``coredump.load(path, module=...)``)."""
    from .coredump.render import Symbolizer, hexdump

    module = getattr(dump, "module", None)
    sym = Symbolizer(module)
    rows: List[Tuple[Any, ...]] = []
    snippets: List[str] = []
    for i, f in enumerate(dump.frames):
        name = sym.func(f.func_index) if module is not None else f"func[{f.func_index}]"
        base = sym.body_offset(f.func_index) if module is not None else None
        where = sym.location(base + f.code_offset) if base is not None else None
        rows.append((f"#{i}", name, f"+{f.code_offset:#x}", where or "", _named_locals(sym, f.func_index, f.locals),
                     _values(f.stack)))
        loc = sym._ask("source_location", base + f.code_offset) if base is not None else None
        snippet = source_snippet(getattr(loc, "file", None), getattr(loc, "line", None)) if loc else ""
        if snippet:
            snippets.append(f"<div>#{i} {escape(name)} at {escape(where or '')}</div>{snippet}")
    parts = [_table(("frame", "function", "offset", "source", "locals", "operand stack"), rows)]
    parts.extend(snippets)
    if dump.globals:
        parts.append(_table(("global", "type", "value"), ((sym.global_(i), g.type, g.value)
                                                          for i, g in enumerate(dump.globals))))
    for m, memory in enumerate(dump.memories):
        start = next((addr for addr, _ in memory.segments), 0) if getattr(memory, "segments", None) else 0
        shown = memory.read(start, min(64, memory.size - start))
        parts.append(f'<div class="dim">memory {m}: {memory.pages} pages; from {start:#x}:</div>'
                     f"<pre>{escape(hexdump(shown, start))}</pre>")
    return _wrap(f"WebAssembly coredump of {dump.executable!r} ({len(dump.frames)} frames)", "".join(parts))


def stop_html(stop: Any) -> str:
    """A debugger Stop: why, the tick, and the innermost frame with its
    locals, operands and source lines."""
    parts = []
    frame = stop.frame
    if frame is not None:
        parts.append(f"<div>{escape(str(frame))}</div>")
        loc = frame.location
        parts.append(source_snippet(getattr(loc, "file", None), getattr(loc, "line", None)))
        parts.append(_table(("local", "type", "value"), ((loc_.label, loc_.type, loc_.value)
                                                           for loc_ in frame.locals)))
        if frame.operands:
            parts.append(f'<div class="dim">operands: {escape(", ".join(f"{t} {v}" for t, v in frame.operands))}</div>')
    return _wrap(str(stop), "".join(parts))
