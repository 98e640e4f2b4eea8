// gdb_guest.rs: the Rust guest of the GDB tests (tests/test_gdb*.py), crate
// `mycrate`: Rust (legacy mangled) names to demangle and a host import to
// stop in.  Built by Debian's rustc with --target wasm32-wasi -g
// --crate-type cdylib; no_std, so its only import is env.host_cb.
#![no_std]

#[link(wasm_import_module = "env")]
extern "C" {
    fn host_cb(ptr: i32, n: i32) -> i32;
}

static MESSAGE: [u8; 20] = *b"WASMPROF-GDB-RUST-M\0";

pub mod shapes {
    #[inline(never)]
    pub fn perimeter(sides: i32, length: i32) -> i32 {
        unsafe { super::host_cb(super::MESSAGE.as_ptr() as i32, sides * length) } // CALL-HOST
    }
}

#[no_mangle]
pub extern "C" fn run(n: i32) -> i32 {
    shapes::perimeter(3, n + 1) * 2 + 1 // CALL-PERIMETER
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
