"""Output formats for :class:`wasmprof.Profile`, one module per format.

Every format module has the same small interface (like pyinstrument's renderers)::

    NAME: str                  the ``format=`` name
    EXTENSIONS: tuple[str]     file name endings that select it (".pb.gz"), longest match wins
    PREFIXES: tuple[str]       file name beginnings that select it ("callgrind.out")
    BINARY: bool               render() returns bytes (else str)
    DESCRIPTION, VIEWER: str   for the README table and error messages
    render(profile, **opts) -> str | bytes

:func:`for_path` maps a file name to a format, :func:`get` a name.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Dict, List

from . import (callgrind, chrome_trace, firefox, flamegraph_html, flamegraph_svg, folded, native_json, pprof,
               source_lines, speedscope)
from . import notebook_html, summary_html  # noqa: F401  (Profile.html and _repr_html_, not file formats)

_MODULES: List[ModuleType] = [
    folded, flamegraph_svg, flamegraph_html, speedscope, firefox, pprof, callgrind, chrome_trace, native_json,
    source_lines,
]

FORMATS: Dict[str, ModuleType] = {m.NAME: m for m in _MODULES}


def get(name: str) -> ModuleType:
    """The format module called ``name`` (see FORMATS)."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown profile format {name!r}; choose one of {', '.join(sorted(FORMATS))}") from None


def for_path(path: str) -> ModuleType:
    """The format a file name asks for: by its ending (longest wins) or beginning (callgrind.out.*)."""
    base = os.path.basename(path).lower()
    best = None
    best_len = 0
    for m in _MODULES:
        for ext in m.EXTENSIONS:
            if base.endswith(ext) and len(ext) > best_len:
                best, best_len = m, len(ext)
    if best is not None:
        return best
    for m in _MODULES:
        if any(base.startswith(p) for p in m.PREFIXES):
            return m
    if base.endswith(".json"):
        raise ValueError(f"{path}: a .json file could be several formats; pass format= one of speedscope, firefox, "
                         f"chrome-trace, wasmprof (or name it *.speedscope.json, *.firefox.json, *.trace.json, "
                         f"*.wpprof.json)")
    known = sorted({e for m in _MODULES for e in m.EXTENSIONS} | {p + "*" for m in _MODULES for p in m.PREFIXES})
    raise ValueError(f"{path}: cannot tell the profile format from the file name; pass format= "
                     f"({', '.join(sorted(FORMATS))}) or use one of: {', '.join(known)}")


__all__ = ["FORMATS", "get", "for_path"]
