"""IPython magics: ``%load_ext wasmprof``, then

    %wasmprof [options] STATEMENT       profile the guest calls of one line
    %%wasmprof [options]                profile the guest calls of the cell

Every guest call the code makes on this thread, in any instance, is
profiled exactly (``wasmprof.profiling()``), and the profile is shown inline
(summary, top table, flamegraph; ``--lines`` for the source lines) and kept
as ``_wasmprof`` in the user's namespace.  Options: ``--top N``, ``--cost
FILE``, ``--time``, ``--lines``, ``-o FILE`` (written in the format its name
says, or ``--format FMT``), ``--max-depth N``.
"""
from __future__ import annotations

import shlex
from typing import Any, Optional

__all__ = ["load_ipython_extension", "WasmprofMagics"]


def _parser() -> Any:
    import argparse

    p = argparse.ArgumentParser(prog="%wasmprof", add_help=False,
                                description="Profile the guest calls of a line or cell exactly.")
    p.add_argument("--top", type=int, default=10, metavar="N", help="functions in the table (default 10)")
    p.add_argument("--cost", metavar="FILE", help="cost table: JSON or TOML of instruction name -> ticks")
    p.add_argument("--time", action="store_true", help="also measure wall-clock time per node")
    p.add_argument("--lines", nargs="?", const=20, type=int, metavar="N",
                   help="show the N source lines with the most ticks (default 20)")
    p.add_argument("--max-depth", type=int, metavar="N", help="fold calls deeper than N")
    p.add_argument("-o", "--output", metavar="FILE", help="also write the profile here")
    p.add_argument("--format", metavar="FMT", help="the format of -o (default: from its name)")
    p.add_argument("statement", nargs=argparse.REMAINDER, help="the line to profile (%%wasmprof: the cell)")
    return p


class UsageError(Exception):
    """A mistake in the magic's options: shown as one line."""


def parse_options(line: str) -> Any:
    """The magic's options (argparse namespace); UsageError on a mistake."""
    parser = _parser()
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"%wasmprof: {e}") from None

    def error(message: str) -> None:
        raise UsageError(f"%wasmprof: {message}")

    parser.error = error  # type: ignore[method-assign]
    ns = parser.parse_args(words)
    if ns.format and not ns.output:
        raise UsageError("%wasmprof: --format needs -o FILE")
    return ns


def profile_code(shell: Any, line: str, cell: Optional[str] = None) -> Any:
    """Run the line's statement (or the cell) in the shell's namespace with
    the profiler on; display the profile and return it."""
    from .profiles import render
    from .profiles.session import profiling

    ns = parse_options(line)
    code = cell if cell is not None else " ".join(ns.statement)
    if not code.strip():
        raise UsageError("%wasmprof: nothing to profile: give a statement (or use %%wasmprof on a cell)")
    if ns.output:
        try:
            render.get(ns.format) if ns.format else render.for_path(ns.output)
        except ValueError as e:
            raise UsageError(f"%wasmprof: {e}") from None
    with profiling(cost=ns.cost, time=ns.time, max_depth=ns.max_depth) as session:
        result = shell.run_cell(code, store_history=False, silent=cell is None)
    prof = session.profile
    shell.user_ns["_wasmprof"] = prof
    if ns.output:
        prof.save(ns.output, ns.format)
    from IPython.display import HTML, display

    display(HTML(prof.html(top=ns.top, lines=ns.lines)))
    if result is not None and not result.success and cell is None:
        result.raise_error()
    return prof


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext wasmprof``: register the %wasmprof / %%wasmprof magic."""
    from IPython.core.magic import Magics, line_cell_magic, magics_class

    @magics_class
    class WasmprofMagics(Magics):  # noqa: F811 - the registered class
        @line_cell_magic
        def wasmprof(self, line: str, cell: Optional[str] = None) -> None:
            try:
                profile_code(self.shell, line, cell)
            except UsageError as e:
                print(e)

    ipython.register_magics(WasmprofMagics)


WasmprofMagics = None  # the class exists once the extension is loaded (IPython is optional)
