"""Type descriptions of WebAssembly imports and exports.

Frozen dataclasses built by the C extension from the core's type
information (``Module.imports``, ``Module.exports``, ``Func.type``, ...).
Value types are named by strings: "i32", "i64", "f32", "f64", "v128",
"funcref", "externref".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

__all__ = [
    "FuncType",
    "TableType",
    "MemoryType",
    "GlobalType",
    "ExternType",
    "ImportType",
    "ExportType",
    "VALTYPES",
]

#: Every value type name, in the order of the spec's binary encoding (0x7f down).
VALTYPES: Tuple[str, ...] = ("i32", "i64", "f32", "f64", "v128", "funcref", "externref")


def _limits(min: int, max: Optional[int]) -> str:
    return f"{min}" if max is None else f"{min}..{max}"


@dataclass(frozen=True)
class FuncType:
    """A function type: parameter and result value types."""

    params: Tuple[str, ...]
    results: Tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "results", tuple(self.results))

    def __str__(self) -> str:
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"


@dataclass(frozen=True)
class TableType:
    """A table type: element reference type and size limits (in elements)."""

    element: str
    min: int
    max: Optional[int] = None

    def __str__(self) -> str:
        return f"table {_limits(self.min, self.max)} {self.element}"


@dataclass(frozen=True)
class MemoryType:
    """A memory type: size limits in 64 KiB pages."""

    min: int
    max: Optional[int] = None

    def __str__(self) -> str:
        return f"memory {_limits(self.min, self.max)}"


@dataclass(frozen=True)
class GlobalType:
    """A global type: content value type and mutability."""

    content: str
    mutable: bool = False

    def __str__(self) -> str:
        return f"global {'mut ' if self.mutable else ''}{self.content}"


#: The type of an import or export, by its kind.
ExternType = Union[FuncType, TableType, MemoryType, GlobalType]


@dataclass(frozen=True)
class ImportType:
    """One import of a module: kind is "func", "table", "memory" or "global"."""

    module: str
    name: str
    kind: str
    type: ExternType

    def __str__(self) -> str:
        return f"{self.module}.{self.name}: {self.kind} {self.type}"


@dataclass(frozen=True)
class ExportType:
    """One export of a module: kind is "func", "table", "memory" or "global"."""

    name: str
    kind: str
    type: ExternType

    def __str__(self) -> str:
        return f"{self.name}: {self.kind} {self.type}"
