"""Many Python threads on one Module and one Instance (wasmprof.h and
docs/guides/threads.md, "Threads"): a module is shared freely (its functions
are translated lazily, by whichever thread calls first); guest calls run one
at a time in the process, so calls into one instance from several threads
never interleave, each gets what it gets when run alone, and wasmprof.interrupt()
stops them one by one.  The same from C pthreads, under ThreadSanitizer:
tests/c_hosts/test_threads_c.py."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import wasmprof
from helpers.thread_modules import CHAIN, THREADS_WAT, fill_sum
from helpers.wasm import wat2wasm

THREADS = 8
WASM = wat2wasm(THREADS_WAT)
# Long enough (tens of ms) that the poll hook lets go of the GIL inside a
# call, several times: where another thread's call would interleave.
N = 5_000_000
SPIN_INDEX = 3  # fib, fill_sum, bump, spin


def _at_once(fn, n: int = THREADS) -> list:
    """Run fn(i) for i < n on n threads released together; their results in order."""
    barrier = threading.Barrier(n)

    def run(i: int):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_one_instance_called_from_8_threads_gives_serial_results() -> None:
    instance = wasmprof.Instance(wasmprof.Module(WASM))
    run = instance.exports.fill_sum

    def calls(i: int) -> list[int]:
        return [run(N, 1000 + 7 * i + j) for j in range(2)]

    got = _at_once(calls)
    assert got == [[fill_sum(N, 1000 + 7 * i + j) for j in range(2)] for i in range(THREADS)]
    assert instance.exports.bump() == 1


def test_one_module_from_8_threads_translates_once_and_agrees_with_serial() -> None:
    def work(module: wasmprof.Module, how: int):
        """Plain, tick-limited, profiled and profiled under other prices (each ticked variant keeps
        its own code for each price table: wasmprof.h)."""
        if how == 0:
            inst = wasmprof.Instance(module)
            return inst.exports.fib(15), inst.exports.chain(3), inst.exports.fill_sum(500, 3)
        if how == 1:
            inst = wasmprof.Instance(module)
            return inst.exports.chain.call(3, max_ticks=10_000), inst.exports.fib.call(15, max_ticks=10**6)
        cost = {"i32.add": 5, "call": 3} if how == 3 else None
        p = wasmprof.profile(module, invoke="chain", args=[3], cost=cost)
        return p.result, p.total_ticks, sorted((n.name, n.calls, n.self_ticks) for n in p.nodes)

    expected = [work(wasmprof.Module(WASM), i % 4) for i in range(4)]  # serially, on a module of their own
    assert expected[3][1] > expected[2][1]  # other prices, other totals
    assert expected[0][1] == 3 + CHAIN
    shared = wasmprof.Module(WASM)  # nothing translated yet: the threads' first calls race to translate
    for _ in range(3):
        got = _at_once(lambda i: work(shared, i % 4))
        assert got == [expected[i % 4] for i in range(THREADS)]


def test_calls_from_other_threads_wait_and_each_is_interrupted() -> None:
    """8 endless calls from 8 threads: one runs, the others wait for it (no
    interleaving); wasmprof.interrupt() stops the running one, and the next
    one starts, until all have raised KeyboardInterrupt."""
    module = wasmprof.Module(WASM)
    outcomes: list[str] = []
    started = threading.Barrier(THREADS + 1)

    def spin(i: int) -> None:
        inst = wasmprof.Instance(module)
        started.wait()
        try:
            inst.exports.spin()
        except KeyboardInterrupt as e:
            outcomes.append(f"interrupted in {e.func_index}")
        assert inst.exports.fib(10) == 55  # usable after the interrupt

    threads = [threading.Thread(target=spin, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    started.wait()
    deadline = time.monotonic() + 60
    stopped = 0
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        n = wasmprof.interrupt()
        assert n <= 1  # never two guest calls running at once
        stopped += n
        time.sleep(0.01)
    for t in threads:
        t.join(1)
    assert stopped >= THREADS
    assert outcomes == [f"interrupted in {SPIN_INDEX}"] * THREADS


def test_python_threads_run_while_a_guest_call_waits_or_runs() -> None:
    """A thread waiting for another thread's guest call does not hold the GIL:
    plain Python in a third thread keeps running meanwhile."""
    inst = wasmprof.Instance(wasmprof.Module(WASM))
    ticks = []
    stop = threading.Event()

    def python_loop() -> None:
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=python_loop)
    t.start()
    try:
        got = _at_once(lambda i: inst.exports.fill_sum(N, i + 1), 2)
    finally:
        stop.set()
        t.join()
    assert got == [fill_sum(N, 1), fill_sum(N, 2)]
    assert len(ticks) > 5


@pytest.mark.parametrize("nested", ["same instance", "other instance"])
def test_a_host_function_calls_back_on_its_own_thread(nested: str) -> None:
    """The lock is per thread: a host function may call guests, the calling
    instance included (no deadlock), while other threads wait their turn."""
    other = wasmprof.Instance(wasmprof.Module(WASM))
    box: dict = {}

    def host(x: int) -> int:
        return box["caller"].exports.double(x) if nested == "same instance" else other.exports.fib(x)

    box["caller"] = caller = wasmprof.Instance(wasmprof.Module(wat2wasm(
        """(module (import "env" "h" (func $h (param i32) (result i32)))
             (func (export "via_host") (param i32) (result i32) (call $h (local.get 0)))
             (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))""")),
        {"env": {"h": wasmprof.Func(host, params=["i32"], results=["i32"])}})
    want = {"same instance": [24, 26, 28, 24], "other instance": [144, 233, 377, 144]}[nested]
    assert _at_once(lambda i: caller.exports.via_host(12 + i % 3), 4) == want
