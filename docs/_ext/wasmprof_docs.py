"""This project's Sphinx extension: API pages that follow the package.

- Objects the top-level package exports (``wasmprof.Profile``, ...) are
  documented once, on the ``wasmprof`` page (api/wasmprof): other module
  pages skip them instead of documenting them a second time.
- ``.. wasmprof-more-modules::`` documents every public module that no
  other page covers, so a new module (the debugger, ...) appears without a
  docs change.
- ``.. wasmprof-formats::`` documents each profile output format from
  ``wasmprof.profiles.render.FORMATS`` (names, file names, viewers, options).
- ``.. wasmprof-debug-commands::`` lists the interactive debugger's commands
  from their help texts (the ``do_*`` docstrings of its command loop).
"""
from __future__ import annotations

import inspect
import pkgutil
from typing import Any, Dict, List

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

import wasmprof

TOP_PAGE = "api/wasmprof"

# Modules the reference covers on their own pages (each has an automodule
# there), implementation modules whose public names a documented package
# re-exports, and internals that are no API (the CLI has its own page).
COVERED = {
    "wasmprof", "wasmprof.types", "wasmprof.invoke", "wasmprof.native", "wasmprof.wasi",
    "wasmprof.profiles", "wasmprof.profiles.render", "wasmprof.coredump",
    "wasmprof.backtraces", "wasmprof.limits", "wasmprof.profiles.model", "wasmprof.profiles.profiler",
    "wasmprof.coredump.reader", "wasmprof.coredump.render",
    "wasmprof.debugger",
    "wasmprof.cli", "wasmprof.coredump.cli", "wasmprof.debug_cli", "wasmprof.__main__", "wasmprof.build_hints",
    "wasmprof.profiles.render.summary_html",
}


def _top_level_ids() -> set:
    return {id(getattr(wasmprof, name)) for name in wasmprof.__all__}


def _skip_reexports(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> Any:
    # Only classes and functions: autodoc shows a re-exported data object
    # (a type alias) on its own module's page alone.
    if (what == "module" and app.env.docname != TOP_PAGE and (inspect.isclass(obj) or inspect.isroutine(obj))
            and id(obj) in _top_level_ids()):
        return True
    return None


def public_modules() -> List[str]:
    """Every module of the package whose dotted name has no part starting with '_'."""
    names = ["wasmprof"]
    for info in pkgutil.walk_packages(wasmprof.__path__, "wasmprof."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def format_modules() -> List[str]:
    from wasmprof.profiles import render

    return [m.__name__ for m in render.FORMATS.values()]


class _GeneratedRst(SphinxDirective):
    """A directive whose content is reST generated at build time."""

    def lines(self) -> List[str]:
        raise NotImplementedError

    def run(self) -> List[nodes.Node]:
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(self.lines(), source=self.env.docname), node)
        return node.children


class MoreModules(_GeneratedRst):
    """automodule for each public module no other page documents."""

    def lines(self) -> List[str]:
        covered = COVERED | set(format_modules())
        out: List[str] = []
        for name in public_modules():
            if name in covered:
                continue
            out += [name, "-" * len(name), "", f".. automodule:: {name}", "   :members:", ""]
        if not out:
            out = ["(None at present: every public module has its own page.)"]
        return out


class Formats(_GeneratedRst):
    """One section per profile output format."""

    def lines(self) -> List[str]:
        from wasmprof.profiles import render

        out: List[str] = []
        for name, mod in render.FORMATS.items():
            title = f"``{name}``"
            files = ", ".join(f"``*{e}``" for e in mod.EXTENSIONS) or ""
            if mod.PREFIXES:
                files = ", ".join(filter(None, [files, *(f"``{p}.*``" for p in mod.PREFIXES)]))
            out += [title, "-" * len(title), "",
                    f":Description: {mod.DESCRIPTION}",
                    f":File names: {files}",
                    f":Open it with: {mod.VIEWER}",
                    f":Output: {'bytes' if mod.BINARY else 'text'}",
                    "",
                    f".. automodule:: {mod.__name__}",
                    "   :members: render",
                    ""]
        return out


class DebugCommands(SphinxDirective):
    """The debugger's commands: syntax and help, as its ``help`` shows them."""

    def run(self) -> List[nodes.Node]:
        import cmd

        from wasmprof.debug_cli import DebugShell

        items = nodes.definition_list()
        for attr in sorted(dir(DebugShell)):
            method = getattr(DebugShell, attr)
            doc = (method.__doc__ or "").strip()
            if not attr.startswith("do_") or not doc or getattr(cmd.Cmd, attr, None) is method:
                continue
            syntax, _, what = doc.partition(": ")
            item = nodes.definition_list_item()
            item += nodes.term("", "", nodes.literal(syntax, syntax))
            item += nodes.definition("", nodes.paragraph(what, what))
            items += item
        return [items]


def setup(app: Sphinx) -> Dict[str, Any]:
    app.connect("autodoc-skip-member", _skip_reexports)
    app.add_directive("wasmprof-more-modules", MoreModules)
    app.add_directive("wasmprof-formats", Formats)
    app.add_directive("wasmprof-debug-commands", DebugCommands)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
