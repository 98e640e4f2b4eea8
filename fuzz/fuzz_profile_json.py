"""Fuzz target (atheris): the profile JSON loader on arbitrary bytes.

wasmprof.Profile.from_json must return a Profile or raise ValueError (which
covers malformed JSON and text that is not UTF-8); a loaded profile must
survive a round trip through to_json and answer top().  Any other
exception is a finding.  Run through fuzz/run.sh, or by hand:
    python fuzz/fuzz_profile_json.py -max_total_time=60 build/fuzz/corpus/profile_json build/fuzz/seeds/profile_json
"""
from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from wasmprof import Profile


def test_one_input(data: bytes) -> None:
    try:
        prof = Profile.from_json(data)
    except ValueError:
        return
    again = Profile.from_json(prof.to_json())
    if again != prof:
        raise AssertionError("a loaded profile changed in a round trip through to_json")
    prof.top(5)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
