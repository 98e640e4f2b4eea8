"""The process's handlers of fatal signals, kept across code that replaces them.

Ray, started in the test process, installs its own SIGSEGV (etc.) handlers
and leaves SIG_DFL behind at shutdown: wasmtime, whose guest traps are
SIGSEGVs caught by the handler it installed first, then kills the process
at its next trap (a later test using wasmtime as the oracle).  So code like
that runs inside kept_fatal_signal_handlers(), which saves the handlers with
sigaction(2) (C handlers that Python's signal module cannot save) and
restores them after."""
from __future__ import annotations

import contextlib
import ctypes
import signal
from collections.abc import Iterator

FATAL = (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT)


class _Sigaction(ctypes.Structure):  # glibc's struct sigaction on Linux
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16), ("flags", ctypes.c_int),
                ("restorer", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


def _get(signo: int) -> _Sigaction:
    sa = _Sigaction()
    if _libc.sigaction(signo, None, ctypes.byref(sa)) != 0:
        raise OSError(ctypes.get_errno(), f"sigaction({signo})")
    return sa


def handler_address(signo: int) -> int:
    """The address of signo's handler (0: SIG_DFL, 1: SIG_IGN)."""
    return _get(signo).handler or 0


@contextlib.contextmanager
def kept_fatal_signal_handlers() -> Iterator[None]:
    saved = {signo: _get(signo) for signo in FATAL}
    try:
        yield
    finally:
        for signo, sa in saved.items():
            if _libc.sigaction(signo, ctypes.byref(sa), None) != 0:
                raise OSError(ctypes.get_errno(), f"sigaction({signo})")
