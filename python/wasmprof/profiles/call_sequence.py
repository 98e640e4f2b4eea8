"""Profiling a sequence of calls on one instance: what ``wasmprof profile
--invoke A --invoke B`` and ``--setup NAME`` run.

A reactor (a module that is initialised once, then called many times)
cannot be profiled one call at a time: ``eval`` needs ``init`` first.  The
calls here all go to one instance inside one profiling session
(session.py): each profiled call adds its subtree under the root, and the
setup calls run with the session paused, so they are left out.  A
reactor's ``_initialize`` is a setup call by itself unless named.
"""
from __future__ import annotations

import shlex
from typing import Any, List, Optional, Sequence, Tuple

from .._core import Exit, Instance, LimitError, Module, Trap
from ..invoke import entry_point, exported_functions
from ..wasi import Wasi
from .model import Profile
from .profiler import DEFAULT_MAX_EVENTS, CostSpec
from .session import profiling

__all__ = ["CallSequenceError", "Call", "plan_calls", "profile_calls"]

Call = Tuple[str, List[Any]]  # an export's name and its argument values


class CallSequenceError(ValueError):
    """A call the sequence cannot make (unknown export, wrong arguments); said before anything runs."""


def _parse_call(module: Module, spec: str, extra: Sequence[str] = ()) -> Call:
    from ..cli import parse_value  # the CLI's value syntax, in one place

    try:
        words = shlex.split(spec)
    except ValueError as e:
        raise CallSequenceError(f"{spec!r}: {e}") from None
    if not words:
        raise CallSequenceError("an empty call: give the export's name (and its arguments)")
    name, texts = words[0], [*words[1:], *extra]
    funcs = exported_functions(module)
    if name not in funcs:
        listing = ", ".join(f"{n}{t}" for n, t in funcs.items()) or "none"
        raise CallSequenceError(f"no exported function {name!r} (exported functions: {listing})")
    params = funcs[name].params
    if len(texts) != len(params):
        raise CallSequenceError(f"{name} takes {len(params)} argument{'s' if len(params) != 1 else ''} "
                                f"{funcs[name]}, got {len(texts)}")
    try:
        return name, [parse_value(t, p) for t, p in zip(texts, params)]
    except Exception as e:  # noqa: BLE001 - the CLI's parse errors are its UsageError
        raise CallSequenceError(f"{name}: {e}") from None


def plan_calls(module: Module, setup: Sequence[str], invokes: Sequence[str],
               extra: Sequence[str] = ()) -> Tuple[List[Call], List[Call]]:
    """The setup calls and the profiled calls, from ``"NAME ARG..."`` texts;
    ``extra`` arguments go to the last profiled call.  Without invokes the
    profiled call is ``_start``.  A reactor's ``_initialize`` comes first
    among the setup calls unless named anywhere."""
    setup_calls = [_parse_call(module, s) for s in setup]
    if invokes:
        calls = [_parse_call(module, s, extra if i == len(invokes) - 1 else ()) for i, s in enumerate(invokes)]
    else:
        try:
            name = entry_point(module, None, how="--invoke NAME")
        except LookupError as e:
            raise CallSequenceError(str(e)) from None
        if name is None:
            raise CallSequenceError("the module exports no function to profile")
        calls = [_parse_call(module, name, extra)]
    named = {n for n, _ in setup_calls} | {n for n, _ in calls}
    if "_initialize" in exported_functions(module) and "_initialize" not in named:
        setup_calls.insert(0, ("_initialize", []))
    return setup_calls, calls


def profile_calls(module: Module, setup: Sequence[Call], calls: Sequence[Call], *, wasi: Optional[Wasi] = None,
                  cost: CostSpec = None, time: bool = False, flamechart: bool = False,
                  max_events: int = DEFAULT_MAX_EVENTS, sample_every: Optional[int] = None,
                  max_depth: Optional[int] = None) -> Profile:
    """Instantiate ``module`` (its start function profiled, as by
    wasmprof.profile), make the setup calls unprofiled, then the profiled
    calls, each a subtree of the root.  A trap or limit ends the sequence:
    the profile up to it is returned with the error in ``profile.trap``; a
    WASI ``proc_exit`` sets ``profile.exit_code``.  ``profile.result`` is
    the list of the profiled calls' results."""
    session = profiling(cost=cost, time=time, flamechart=flamechart, max_events=max_events,
                        sample_every=sample_every, max_depth=max_depth,
                        root_name=" ; ".join(name for name, _ in calls))
    outcome: Optional[BaseException] = None
    exit_code: Optional[int] = None
    results: List[Any] = []
    with session:
        try:
            instance = Instance(module, wasi=wasi) if wasi is not None else Instance(module)
            with session.paused():
                for name, values in setup:
                    instance.exports[name](*values)
            for name, values in calls:
                results.append(instance.exports[name](*values))
        except (Trap, LimitError) as e:
            outcome = e
        except Exit as e:
            exit_code = int(e.code)
    prof = session.profile
    assert prof is not None
    prof.trap = outcome  # type: ignore[attr-defined]
    prof.result = results  # type: ignore[attr-defined]
    prof.exit_code = exit_code  # type: ignore[attr-defined]
    return prof
