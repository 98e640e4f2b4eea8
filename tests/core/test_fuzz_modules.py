"""Mutation fuzzing of the decoder and validator with the spec's modules.

A deterministic sample of the spec's .wasm files (seeded; size and seed from
WASMPROF_FUZZ_MODULES, default 300, and WASMPROF_FUZZ_SEED) is cut short
(every prefix for a few small modules, random lengths for the others) and
bit-flipped (1-8 flips).  wasmprof.Module(data) must load each mutant or
raise DecodeError/ValidationError; mutants that load and have no imports
are instantiated and their parameterless exports called, where traps are
fine.

Mutants run in child processes (tests/helpers/fuzz_worker.py), so a crash fails the
test with the case named instead of ending the run.  A hang while decoding
is a failure; a mutant that runs forever when called is legitimate guest
behaviour (nothing bounds execution yet) and only noted.
"""

from __future__ import annotations

import json
import os
import random
import selectors
import subprocess
import tempfile
import time

import pytest

from helpers.env import python_env
from helpers.paths import PYTHON, ROOT, SPEC_DIR, TESTS

N_MODULES = int(os.environ.get("WASMPROF_FUZZ_MODULES", "300"))
SEED = int(os.environ.get("WASMPROF_FUZZ_SEED", "20240611"))
N_BATCHES = 10
ALL_PREFIXES = 8  # small modules cut at every length
TRUNCATIONS = 8  # random cuts per other module
FLIPS = 24  # bit-flipped mutants per module
STARTUP_TIMEOUT = 120.0  # seconds for the child to import wasmprof
DECODE_TIMEOUT = 30.0  # seconds for one Module() call
EXEC_TIMEOUT = 5.0  # seconds before a running mutant counts as looping
MAX_REPORTED = 20
WORKER = TESTS / "helpers" / "fuzz_worker.py"

SPEC_FILES = sorted(SPEC_DIR.glob("core/*/*.wasm"))


def build_cases() -> list[dict]:
    rng = random.Random(SEED)
    sample = rng.sample(SPEC_FILES, min(N_MODULES, len(SPEC_FILES)))
    cases = []
    prefixed = 0
    for path in sample:
        rel = os.path.relpath(path, ROOT)
        size = path.stat().st_size
        if prefixed < ALL_PREFIXES and size <= 300:
            prefixed += 1
            cases += [{"path": rel, "kind": "prefix", "arg": n} for n in range(size)]
        else:
            cases += [{"path": rel, "kind": "truncate", "arg": rng.getrandbits(32)} for _ in range(TRUNCATIONS)]
        cases += [{"path": rel, "kind": "flip", "arg": rng.getrandbits(32)} for _ in range(FLIPS)]
    return cases


CASES = build_cases() if SPEC_FILES else []


def describe(case: dict) -> str:
    return (
        f"{case['path']} {case['kind']} arg={case['arg']} (seed {SEED}); reproduce: "
        f"python tests/helpers/fuzz_worker.py --case '{json.dumps(case)}'"
    )


class Worker:
    """One fuzz_worker.py child over cases[start:], read line by line with
    a deadline per step."""

    def __init__(self, cases: list[dict], start: int):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [PYTHON, "-X", "faulthandler", str(WORKER)],
            cwd=ROOT,
            env=python_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.proc.stdin.write(json.dumps({"cases": cases[start:], "base": start}).encode())
        self.proc.stdin.close()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""

    def readline(self, timeout: float) -> str | None:
        """The next line, "" at end of output, None on timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                return None
            data = os.read(self.proc.stdout.fileno(), 65536)
            if not data:
                return ""
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-3000:]

    def close(self, grace: float) -> int:
        """Wait up to grace seconds for the child to exit, then kill it."""
        try:
            code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc.stdout.close()
        self.sel.close()
        return code


def run_cases(cases: list[dict]) -> tuple[list[str], list[str]]:
    """Run all cases, restarting the worker after a crash or a hang.
    Returns (failures, notes)."""
    failures: list[str] = []
    notes: list[str] = []
    start = 0
    while start < len(cases) and len(failures) < MAX_REPORTED:
        worker = Worker(cases, start)
        phase, current, timeout = "startup", None, STARTUP_TIMEOUT
        done = False
        line: str | None = ""
        try:
            while True:
                line = worker.readline(timeout)
                if line is None or line == "":
                    break
                tag, _, rest = line.partition(" ")
                if tag == "DONE":
                    done = True
                    break
                index_text, _, status = rest.partition(" ")
                current = int(index_text)
                if tag == "D":
                    phase, timeout = "decoding", DECODE_TIMEOUT
                elif tag == "X":
                    phase, timeout = "running", EXEC_TIMEOUT
                elif tag in ("R", "E"):
                    if status.startswith("BAD"):
                        stage = "decoding" if tag == "R" else "running"
                        failures.append(f"{status[4:]} when {stage} {describe(cases[current])}")
                    phase, timeout = "between", DECODE_TIMEOUT
        finally:
            timed_out = line is None
            code = worker.close(0 if timed_out else 30)
        stderr = worker.stderr_tail()
        if done:
            if code != 0 or "runtime error:" in stderr or "Sanitizer" in stderr:
                failures.append(f"worker exited with status {code} after finishing:\n{stderr}")
            break
        if current is None or phase == "between":
            what = "stalled" if timed_out else f"died with status {code}"
            where = "at start-up" if current is None else f"after case {current} ({describe(cases[current])})"
            failures.append(f"worker {what} {where}:\n{stderr}")
            if current is None:
                break
            start = current + 1
            continue
        if timed_out and phase == "running":
            notes.append(f"running case {current} did not finish in {EXEC_TIMEOUT}s: {describe(cases[current])}")
        elif timed_out:
            failures.append(f"hang ({DECODE_TIMEOUT}s) decoding {describe(cases[current])}")
        else:
            failures.append(f"crash (status {code}) while {phase} {describe(cases[current])}:\n{stderr}")
        start = current + 1
    return failures, notes


def batch_ids() -> list[str]:
    return [f"batch{b}" for b in range(N_BATCHES)]


@pytest.mark.parametrize("batch", range(N_BATCHES), ids=batch_ids())
def test_mutated_modules(batch):
    if not CASES:
        pytest.skip(f"no spec modules under {SPEC_DIR}/core")
    cases = CASES[batch::N_BATCHES]
    failures, notes = run_cases(cases)
    for note in notes:
        print("note:", note)
    assert not failures, f"{len(failures)} failing case(s) of {len(cases)}:\n\n" + "\n\n".join(failures)


def test_mutations_are_deterministic():
    """The same case always gives the same bytes (so a reported case can be
    reproduced), and mutants differ from their original."""
    from helpers.fuzz_worker import mutate

    data = bytes(range(256)) * 2
    for kind in ("truncate", "flip"):
        assert mutate(data, kind, 1234) == mutate(data, kind, 1234)
    assert mutate(data, "prefix", 10) == data[:10]
    assert len(mutate(data, "truncate", 5)) < len(data)
    flipped = mutate(data, "flip", 99)
    assert flipped != data and flipped[:8] == data[:8] and len(flipped) == len(data)
