"""What to tell a user whose module lacks what wasmprof shows: a name section
(function names in backtraces and profiles) or DWARF (file:line).  Said once
per report (a trap's message, a profile's repr, the CLI), briefly."""
from __future__ import annotations

from typing import Any, Optional

NO_NAMES = ("note: the module has no name section, so functions show as indices. clang -O given at link time "
            "runs wasm-opt, which strips it: pass -O when compiling (-c) and link without it, or keep names "
            "with wasm-opt --debuginfo")
NO_DWARF = "note: the module has no DWARF line tables, so no file:line: compile with -g"


def missing_info_hint(module: Any) -> Optional[str]:
    """NO_NAMES for a module without a name section, NO_DWARF for one a
    compiler produced (it has a producers section) without .debug_line,
    else None (a hand-written module with names needs no lines)."""
    sections = set(module.custom_section_names)
    if "name" not in sections:
        return NO_NAMES
    if "producers" in sections and ".debug_line" not in sections:
        return NO_DWARF
    return None
