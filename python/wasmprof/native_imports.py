"""Native imports: bind function imports to C functions in shared libraries.

The library is loaded and the symbol found with ctypes (dlopen/dlsym); the
call itself goes through libffi in the C core (``wp_func_new_native``), with
the C signature the wasm type implies: i32 -> int32_t, i64 -> int64_t,
f32 -> float, f64 -> double, at most one result.

::

    cos = wasmprof.native("libm.so.6", "cos", params=["f64"], results=["f64"])
    inst = wasmprof.Instance(module, {"env": {"cos": cos},
                                      "m": wasmprof.native_library("libm.so.6")})

Without a signature, :func:`native` and :func:`native_library` take it from
the module's import type when the instance is created.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Dict, Iterable, Iterator, Mapping, Optional, Union

from . import _core
from ._core import Func, LinkError
from .types import FuncType

__all__ = ["NativeSymbol", "NativeLibrary", "native", "native_library"]

LibraryLike = Union[str, "os.PathLike[str]", ctypes.CDLL, "NativeLibrary"]

_loaded: Dict[str, ctypes.CDLL] = {}


def _load(library: LibraryLike) -> ctypes.CDLL:
    """The loaded library (cached by name; ctypes never unloads a library)."""
    if isinstance(library, NativeLibrary):
        return library.cdll
    if isinstance(library, ctypes.CDLL):
        return library
    name = os.fspath(library)
    cdll = _loaded.get(name)
    if cdll is None:
        try:
            cdll = ctypes.CDLL(name)
        except OSError as e:
            found = ctypes.util.find_library(name) if os.sep not in name else None
            if found is None:
                raise LinkError(f"cannot load native library {name!r}: {e}") from None
            try:
                cdll = ctypes.CDLL(found)
            except OSError as e2:
                raise LinkError(f"cannot load native library {name!r} ({found}): {e2}") from None
        _loaded[name] = cdll
    return cdll


def _address(cdll: ctypes.CDLL, symbol: str) -> int:
    try:
        fn = getattr(cdll, symbol)
    except AttributeError:
        raise LinkError(f"native library {cdll._name!r} has no symbol {symbol!r}") from None
    return ctypes.cast(fn, ctypes.c_void_p).value or 0


class NativeSymbol:
    """A C function in a loaded library whose signature comes from the import
    it is bound to (see :func:`native`)."""

    def __init__(self, cdll: ctypes.CDLL, symbol: str) -> None:
        self.cdll = cdll
        self.symbol = symbol
        self.address = _address(cdll, symbol)

    def bind(self, params: Iterable[str], results: Iterable[str]) -> Func:
        """A :class:`Func` calling this symbol with the given wasm signature."""
        params, results = tuple(params), tuple(results)
        try:
            return _core._native_func(self.address, params, results)
        except ValueError as e:
            raise LinkError(f"cannot bind native {self.symbol!r} as {FuncType(params, results)}: {e}") from None

    def __wasmprof_import__(self, functype: FuncType) -> Func:
        return self.bind(functype.params, functype.results)

    def __repr__(self) -> str:
        return f"<wasmprof.NativeSymbol {self.symbol!r} in {self.cdll._name!r}>"


class NativeLibrary(Mapping[str, NativeSymbol]):
    """A shared library as an import module: ``imports={"m": native_library("libm.so.6")}``
    resolves each function the module imports from "m" by its field name."""

    def __init__(self, library: LibraryLike) -> None:
        self.cdll = _load(library)
        self._symbols: Dict[str, NativeSymbol] = {}

    def __getitem__(self, name: str) -> NativeSymbol:
        sym = self._symbols.get(name)
        if sym is None:
            sym = self._symbols[name] = NativeSymbol(self.cdll, name)
        return sym

    def __iter__(self) -> Iterator[str]:
        return iter(self._symbols)

    def __len__(self) -> int:
        return len(self._symbols)

    def __repr__(self) -> str:
        return f"<wasmprof.NativeLibrary {self.cdll._name!r}>"


def native(
    library: LibraryLike,
    symbol: str,
    params: Optional[Iterable[str]] = None,
    results: Optional[Iterable[str]] = None,
) -> Union[Func, NativeSymbol]:
    """The C function ``symbol`` of ``library`` as a function import.

    With ``params`` and ``results`` it is a :class:`Func` at once; without,
    a :class:`NativeSymbol` that takes its signature from the import it is
    bound to.  Raises :class:`LinkError` when the library or the symbol
    cannot be found, or the signature has no C equivalent (several results,
    reference types).
    """
    sym = NativeSymbol(_load(library), symbol)
    if params is None and results is None:
        return sym
    return sym.bind(params or (), results or ())


def native_library(library: LibraryLike) -> NativeLibrary:
    """``library`` as an import module whose fields are its C functions."""
    return NativeLibrary(library)
