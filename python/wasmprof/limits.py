"""Host-set limits of an instance: ``Instance(module, imports, limits=Limits(...))``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Limits of one instance; None means "no limit of this kind".

    max_memory_pages: the memories the instance defines never grow past this
        many 64 KiB pages: ``memory.grow`` returns -1 (as the spec allows) and
        instantiating a memory whose minimum is larger raises LimitError.
    max_call_depth: a call of one of the instance's functions may go this
        many frames deep; deeper calls raise Trap (kind "stack_exhausted",
        the message names max_call_depth).  Without it the execution
        context's default of 50000 frames holds.
    """

    max_memory_pages: Optional[int] = None
    max_call_depth: Optional[int] = None

    def __post_init__(self) -> None:
        for name in ("max_memory_pages", "max_call_depth"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 1 <= v < 2**32):
                raise ValueError(f"Limits.{name} must be None or an int in [1, 2**32), not {v!r}")
