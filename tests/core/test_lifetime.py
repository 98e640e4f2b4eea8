"""Functions stored in another instance's table or global outlive their own
instance's Python object (keepalive.c).  Meaningful under the CI's ASan run,
where a use after free would abort."""
import gc

import wasmprof

from helpers.wasm import instantiate, wat2wasm


HOLDER = """(module
  (global (export "g") (mut funcref) (ref.null func))
  (table (export "t") 1 funcref)
  (type $t (func (result i32)))
  (func (export "call_global") (result i32)
    (table.set (i32.const 0) (global.get 0))
    (call_indirect (type $t) (i32.const 0)))
  (func (export "call_table") (result i32) (call_indirect (type $t) (i32.const 0))))"""

STORER = """(module
  (import "d" "g" (global (mut funcref)))
  (import "d" "t" (table 1 funcref))
  (func $f (result i32) (i32.const 5))
  (elem declare func $f)
  (func (export "store_global") (global.set 0 (ref.func $f)))
  (func (export "store_table") (table.set 0 (i32.const 0) (ref.func $f))))"""


def _store(holder: wasmprof.Instance, export: str) -> None:
    storer = wasmprof.Instance(wasmprof.Module(wat2wasm(STORER)),
                               {"d": {"g": holder.exports.g, "t": holder.exports.t}})
    storer.exports[export]()


def test_funcref_in_foreign_global_outlives_its_instance() -> None:
    holder = instantiate(HOLDER)
    _store(holder, "store_global")
    gc.collect()
    assert holder.exports.call_global() == 5


def test_funcref_in_foreign_table_outlives_its_instance() -> None:
    holder = instantiate(HOLDER)
    _store(holder, "store_table")
    gc.collect()
    assert holder.exports.call_table() == 5
