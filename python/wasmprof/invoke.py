"""What a run calls: the one place that decides between ``_start`` and a
named export (``wasmprof.run``, ``wasmprof.profile`` and the CLI's ``run``
and ``profile`` all ask here, before the module is instantiated)."""
from __future__ import annotations

from typing import Dict, Optional

from ._core import Module
from .types import FuncType

__all__ = ["NothingToCall", "entry_point", "exported_functions"]


class NothingToCall(LookupError, ValueError):
    """The run has no function to call: ``invoke`` names no exported
    function, or it is not given and the module exports no ``_start``.
    ``exports`` maps the module's exported functions to their types.  (A
    LookupError, and a ValueError: a bad ``invoke`` argument.)"""

    def __init__(self, message: str, exports: Dict[str, FuncType]):
        super().__init__(message)
        self.exports = exports


def exported_functions(module: Module) -> Dict[str, FuncType]:
    """The module's exported functions and their types, in export order."""
    return {e.name: e.type for e in module.exports if e.kind == "func"}


def _listing(funcs: Dict[str, FuncType]) -> str:
    return ", ".join(f"{name}{ftype}" for name, ftype in funcs.items()) or "none"


def entry_point(module: Module, invoke: Optional[str], how: str = "invoke=NAME") -> Optional[str]:
    """The exported function a run calls: ``invoke`` when given, else
    ``_start`` when exported.  None when the module exports no function at
    all: instantiating it (which runs its start function) is the whole run.
    Otherwise raises NothingToCall, which lists the exported functions and
    says how to choose one (``how``: ``invoke=NAME``, ``--invoke NAME``)."""
    funcs = exported_functions(module)
    if invoke is not None:
        if invoke not in funcs:
            raise NothingToCall(f"no exported function {invoke!r} (exported functions: {_listing(funcs)})", funcs)
        return invoke
    if "_start" in funcs:
        return "_start"
    if funcs:
        raise NothingToCall(f"the module exports no _start: choose the function to call with {how} "
                            f"(exported functions: {_listing(funcs)})", funcs)
    return None
