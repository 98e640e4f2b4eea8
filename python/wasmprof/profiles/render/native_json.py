"""wasmprof's own lossless JSON format (``*.wpprof.json``), read back by Profile.from_json/load."""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

if TYPE_CHECKING:
    from ..model import Profile

NAME = "wasmprof"
EXTENSIONS = (".wpprof.json", ".wpprof")
PREFIXES: Tuple[str, ...] = ()
BINARY = False
DESCRIPTION = "wasmprof's lossless profile (the whole tree and events)"
VIEWER = "wasmprof.Profile.load()"


def render(profile: "Profile", *, indent: object = None, **_: object) -> str:
    return profile.to_json(indent=indent if isinstance(indent, int) else None) + "\n"
