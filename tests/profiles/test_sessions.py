"""Profiling sessions on live instances (wasmprof.profiling(),
Instance.profile()): a reactor's init and eval as asked, several instances
and modules, host calls between and inside, pause/resume, exact ticks
against wasmprof.profile() and the tick counter."""
from __future__ import annotations

import pytest

import wasmprof
from helpers.profile_checks import check_invariants, tree_of
from helpers.wasm import wat2wasm
from wasmprof import _core

# A reactor: _initialize, then init (fills a table whose size eval's work
# depends on), then eval (calls a host function and a function of another
# module through its imports).
REACTOR = """
(module
  (import "env" "note" (func $note (param i32)))
  (import "lib" "square" (func $square (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $size (mut i32) (i32.const 0))
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func $put (param $i i32)
    (i32.store (i32.shl (local.get $i) (i32.const 2)) (i32.mul (local.get $i) (i32.const 3))))
  (func (export "init") (param $n i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $put (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (global.set $size (local.get $n)))
  (func $sum (result i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (global.get $size)))
      (local.set $acc (i32.add (local.get $acc) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func (export "eval") (param $x i32) (result i32)
    (call $note (local.get $x))
    (i32.add (call $sum) (call $square (local.get $x)))))
"""

LIB = """
(module
  (func $mul (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
  (func (export "square") (param $x i32) (result i32) (call $mul (local.get $x) (local.get $x))))
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    """The reactor and the library, read from files (whose names label their functions)."""
    d = tmp_path_factory.mktemp("sessions")
    (d / "reactor.wasm").write_bytes(wat2wasm(REACTOR))
    (d / "lib.wasm").write_bytes(wat2wasm(LIB))
    return wasmprof.Module.from_file(str(d / "reactor.wasm")), wasmprof.Module.from_file(str(d / "lib.wasm"))


def make(modules, notes=None):
    reactor, lib = modules
    lib_inst = wasmprof.Instance(lib)
    seen = notes if notes is not None else []
    note = wasmprof.Func(lambda x: seen.append(x), ["i32"], [])
    inst = wasmprof.Instance(reactor, {"env": {"note": note}, "lib": {"square": lib_inst.exports.square}})
    return inst, lib_inst


def counted_ticks(func, *args):
    """The ticks one call runs, from the tick counter of a counted run (no profiler)."""
    before = _core._ticks()
    func.call(*args, max_ticks=10**15)
    return _core._ticks() - before


def top_level(prof):
    return [prof.nodes[c] for c in prof.root.children]


def test_reactor_init_and_eval_each_in_their_subtree(modules):
    inst, _lib = make(modules)
    inst.exports._initialize()
    with wasmprof.profiling() as session:
        inst.exports.init(40)
        assert inst.exports.eval(7) == sum(3 * i for i in range(40)) + 49
        inst.exports.eval(8)
    prof = session.profile
    check_invariants(prof)
    init, ev = top_level(prof)
    assert (init.name, init.calls) == ("init", 1)
    assert (ev.name, ev.calls) == ("eval", 2)
    # eval's subtree: the host function, the other module's function (and what it calls), sum
    names = {prof.nodes[c].name for c in ev.children}
    assert names == {"env.note", "sum", "lib.wasm!square"}
    square = next(prof.nodes[c] for c in ev.children if prof.nodes[c].name.endswith("!square"))
    assert [prof.nodes[c].name.split("!")[1] for c in square.children] == ["mul"]
    assert prof.total_ticks == init.total_ticks + ev.total_ticks


def test_session_ticks_equal_profile_of_the_same_call(modules):
    reactor, _lib = modules
    inst, _ = make(modules)
    with wasmprof.profiling() as session:
        inst.exports.init(25)
    ref = wasmprof.profile(reactor, invoke="init", args=[25],
                           imports={"env": {"note": lambda x: None}, "lib": {"square": make(modules)[1].exports.square}})
    assert session.profile.total_ticks == ref.total_ticks
    assert tree_of(session.profile) == tree_of(ref)


def test_eval_after_init_equals_the_counted_ticks(modules):
    inst_a, _ = make(modules)
    inst_b, _ = make(modules)
    inst_a.exports.init(30)
    inst_b.exports.init(30)
    with inst_a.profile() as session:  # init done before: left out
        inst_a.exports.eval(3)
    expected = counted_ticks(inst_b.exports.eval, 3)
    assert [n.name for n in top_level(session.profile)] == ["eval"]
    assert session.profile.total_ticks == expected > 30 * 5


def test_pause_leaves_init_out(modules):
    inst, _ = make(modules)
    with wasmprof.profiling() as session:
        with session.paused():
            inst.exports.init(50)
        inst.exports.eval(2)
        session.pause()
        inst.exports.eval(2)  # not profiled
        inst.exports.eval.call(2, max_ticks=10**9)  # a counted run: its ticks are not the session's
        session.resume()
        inst.exports.eval(2)
    prof = session.profile
    assert [(n.name, n.calls) for n in top_level(prof)] == [("eval", 2)]
    other, _ = make(modules)
    other.exports.init(50)
    assert prof.total_ticks == 2 * counted_ticks(other.exports.eval, 2)


def test_cost_table_and_options_apply(modules):
    inst, _ = make(modules)
    with wasmprof.profiling(cost={"default": 2, "per_call": 5}, time=True, max_depth=1) as session:
        inst.exports.init(10)
    prof = session.profile
    assert prof.timed and prof.root.total_time_ns > 0
    assert "per call" in prof.cost_model
    assert len(prof.nodes) == 2  # put() folded into init at max_depth=1
    plain, _ = make(modules)
    with wasmprof.profiling() as ones:
        plain.exports.init(10)
    # every instruction costs 2, and init's entry costs 5 (put's calls are folded, still priced)
    assert prof.total_ticks == 2 * ones.profile.total_ticks + 5 * (1 + 10)


def test_instance_profile_takes_only_its_instance(modules):
    inst, lib_inst = make(modules)
    other, _ = make(modules)
    inst.exports.init(5)
    other.exports.init(5)
    with inst.profile() as session:
        other.exports.eval(1)        # another instance: not profiled
        lib_inst.exports.square(9)   # not profiled either
        inst.exports.eval(1)         # profiled, with its call into lib
    prof = session.profile
    assert [(n.name, n.calls) for n in top_level(prof)] == [("eval", 1)]
    assert prof.total_ticks == counted_ticks(other.exports.eval, 1)


def test_every_instance_and_calls_from_python_between(modules):
    inst, lib_inst = make(modules)
    with wasmprof.profiling() as session:
        for x in range(3):
            lib_inst.exports.square(x)
            _ = [x * x for x in range(100)]  # Python between calls costs no ticks
        inst.exports.init(4)
    prof = session.profile
    # the first instance entered names plainly; the reactor's module is the other one
    assert [n.name for n in top_level(prof)] == ["square", "reactor.wasm!init"]
    assert top_level(prof)[0].calls == 3
    assert prof.module_name == "lib.wasm"
    assert {f.name for f in prof.functions()} >= {"square", "mul", "reactor.wasm!init", "reactor.wasm!put"}
    check_invariants(prof)


def test_host_function_reentering_the_guest_is_part_of_the_call(modules):
    reactor, lib = modules
    lib_inst = wasmprof.Instance(lib)
    calls = []

    def note(x):
        calls.append(lib_inst.exports.square(x))  # a nested guest call made by the host function

    inst = wasmprof.Instance(reactor, {"env": {"note": wasmprof.Func(note, ["i32"], [])},
                                       "lib": {"square": lib_inst.exports.square}})
    with inst.profile() as session:
        inst.exports.eval(6)
    prof = session.profile
    ev = top_level(prof)[0]
    host = next(prof.nodes[c] for c in ev.children if prof.nodes[c].name == "env.note")
    assert host.host and [prof.nodes[c].name for c in host.children] == ["lib.wasm!square"]
    assert calls == [36]


def test_trap_inside_a_session_keeps_the_profile_going(modules):
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(
        '(module (func (export "boom") unreachable) (func (export "ok") (result i32) i32.const 1))')))
    with wasmprof.profiling() as session:
        with pytest.raises(wasmprof.Trap):
            inst.exports.boom()
        assert inst.exports.ok() == 1
    assert [(n.name, n.calls, n.self_ticks) for n in top_level(session.profile)] == [("boom", 1, 1), ("ok", 1, 2)]


def test_the_block_raising_still_ends_the_session(modules):
    inst, _ = make(modules)
    session = wasmprof.profiling()
    with pytest.raises(KeyError):
        with session:
            inst.exports.init(3)
            raise KeyError("user code")
    assert session.profile is not None and top_level(session.profile)[0].name == "init"
    with wasmprof.profiling():  # the thread is free for the next session
        pass


def test_mistakes_are_typed_errors(modules):
    inst, _ = make(modules)
    with wasmprof.profiling():
        with pytest.raises(ValueError, match="already running"):
            wasmprof.profiling().start()
    with pytest.raises(TypeError):
        wasmprof.profiling(instance="not an instance")
    with pytest.raises(ValueError, match="max_depth"):
        wasmprof.profiling(max_depth=0)
    with pytest.raises(TypeError, match="keyword"):
        inst.profile(1)
    session = wasmprof.profiling()
    with pytest.raises(RuntimeError, match="not running"):
        session.pause()

    def start_inside(x):
        wasmprof.profiling().start()

    reactor, lib = modules
    bad = wasmprof.Instance(reactor, {"env": {"note": wasmprof.Func(start_inside, ["i32"], [])},
                                      "lib": {"square": wasmprof.Instance(lib).exports.square}})
    with pytest.raises(ValueError, match="while guest code runs"):
        bad.exports.eval(1)


def test_no_session_means_the_plain_loop(modules):
    """Outside a session (and between its entries) calls run unobserved: the tick counter does not move."""
    inst, _ = make(modules)
    before = _core._ticks()
    inst.exports.init(10)
    assert _core._ticks() == before
    with inst.profile() as session:
        with session.paused():
            inst.exports.init(10)
        assert _core._ticks() == before
        inst.exports.init(10)
        assert _core._ticks() > before


def test_an_instance_freed_inside_the_session_is_still_counted(modules):
    """The profile retains the instances it entered, so their nodes stay readable;
    with the Python Instance gone, only the function index names them."""
    reactor, lib = modules
    keep = wasmprof.Instance(lib)
    with wasmprof.profiling() as session:
        keep.exports.square(3)
        tmp = wasmprof.Instance(lib)
        tmp.exports.square(4)
        del tmp
        import gc

        gc.collect()
    prof = session.profile
    assert [n.name for n in top_level(prof)] == ["square", "<freed instance>!func[1]"]
    assert top_level(prof)[0].total_ticks == top_level(prof)[1].total_ticks
    check_invariants(prof)


def test_source_lines_of_a_session_equal_the_profile_of_the_same_run():
    """A C program built with -g: the session's per-line ticks are wasmprof.profile()'s, and sum to the total."""
    from helpers.paths import EXAMPLES

    path = str(EXAMPLES / "histogram.wasm")
    module = wasmprof.Module.from_file(path)
    inst = wasmprof.Instance(module, wasi=wasmprof.Wasi(args=["histogram.wasm", "300", "4"]))
    with inst.profile() as session:
        try:
            inst.exports._start()
        except wasmprof.Exit as e:
            assert e.code == 0
    prof = session.profile
    ref = wasmprof.profile(path, args=["300", "4"])
    assert prof.has_lines
    assert prof.lines() == ref.lines()
    assert sum(r.ticks for r in prof.lines()) == prof.total_ticks
    sort = next(f for f in prof.functions() if f.name == "insertion_sort")
    assert sum(r.ticks for r in prof.lines("insertion_sort")) == sort.self_ticks
