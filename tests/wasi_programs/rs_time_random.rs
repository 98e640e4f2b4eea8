// rs_time_random: Instant, SystemTime, sleep; prints properties, not values.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(15));
    println!("slept >= 15ms: {}", t0.elapsed() >= Duration::from_millis(15));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    println!("after 2020: {}", now.as_secs() > 1_600_000_000);
    // HashMap's RandomState draws from random_get.
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut a = RandomState::new().build_hasher();
    let mut b = RandomState::new().build_hasher();
    a.write_u32(1);
    b.write_u32(1);
    println!("hashers seeded: {}", a.finish() != 0 || b.finish() != 0);
    std::process::exit(7);
}
