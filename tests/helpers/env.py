"""Environments for child processes.  Under the sanitizer run (.ci/run)
LD_PRELOAD carries libasan; Python children need it to load the sanitized
extension, native tools (make, cc) do not."""
from __future__ import annotations

import os
import signal


def python_env() -> dict[str, str]:
    """Environment for a child Python that imports wasmprof."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def native_env() -> dict[str, str]:
    """Environment for native tools (make, cc, the C host): no preloaded ASan."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def sigint_default() -> None:
    """preexec_fn for a child that is sent Ctrl-C: SIGINT handled as in a
    terminal even when this test run inherited it ignored (a shell starts a
    background job without job control with SIGINT ignored, and Python then
    leaves it so, as wasmprof does)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
