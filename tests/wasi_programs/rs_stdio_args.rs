// rs_stdio_args: arguments, environment (sorted), stdin lines to stdout, stderr.
use std::io::{self, BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("{} args: {:?}", args.len(), args);
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (k, v) in &vars {
        println!("env {}={}", k, v);
    }
    let stdin = io::stdin();
    let mut count = 0;
    for line in stdin.lock().lines() {
        let line = line.expect("read stdin");
        count += 1;
        println!("{:>4}: {}", count, line.chars().rev().collect::<String>());
    }
    eprintln!("{} lines reversed", count);
    io::stdout().flush().unwrap();
    let code = std::env::var("EXIT_CODE").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    if code != 0 {
        std::process::exit(code);
    }
}
