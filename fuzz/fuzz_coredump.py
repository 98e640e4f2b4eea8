"""Fuzz target (atheris): the coredump reader on arbitrary bytes.

wasmprof.coredump.parse must return a Coredump or raise CoredumpError; a
parsed dump must render to text and answer its accessors.  Any other
exception is a finding.  Run through fuzz/run.sh, or by hand:
    python fuzz/fuzz_coredump.py -max_total_time=60 build/fuzz/corpus/coredump build/fuzz/seeds/coredump
"""
from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import wasmprof.coredump as coredump


def test_one_input(data: bytes) -> None:
    try:
        dump = coredump.parse(data)
    except coredump.CoredumpError:
        return
    dump.render()
    _ = dump.frames, dump.memory
    for i in range(len(dump.instances)):
        dump.instance_globals(i)
    for mem in dump.memories:
        mem.read(0, min(16, mem.size)) if mem.size else None


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
