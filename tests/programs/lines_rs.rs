// lines_rs.rs: a Rust program for the per-line profile tests
// (tests/profiles/test_profile_lines.py), built with -g.  Lines marked
// LINES-* are looked up by the tests.
#[inline(never)]
fn triangle(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(i * i); // LINES-RS-LOOP
    }
    acc
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    println!("{}", triangle(n)); // LINES-RS-CALL
}
