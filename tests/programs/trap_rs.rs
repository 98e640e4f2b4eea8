// trap_rs.rs: a Rust library (crate `mycrate`) that traps, for
// tests/test_backtrace.py.  Built by Debian's rustc with
// --target wasm32-wasi -g --crate-type cdylib.  Lines marked TRAP-* are
// looked up by the test.

pub mod module {
    #[inline(never)]
    pub fn function(values: &[u32], i: usize) -> u32 {
        values[i] // TRAP-PANIC
    }

    #[inline(never)]
    pub fn load(addr: usize) -> u32 {
        unsafe { core::ptr::read_volatile(addr as *const u32) } // TRAP-OOB
    }
}

#[no_mangle]
pub extern "C" fn rs_panic(i: u32) -> u32 {
    let v = [1u32, 2, 3];
    module::function(&v, i as usize) + 1
}

#[no_mangle]
pub extern "C" fn rs_oob(addr: u32) -> u32 {
    module::load(addr as usize) + 1
}
