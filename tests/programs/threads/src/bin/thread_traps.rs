//! The main thread prints a line and then waits; a spawned thread traps (a Wasm `unreachable`,
//! through `std::process::abort`). The whole program must end with the trap, not hang.
use std::thread;
use std::time::Duration;

fn main() {
    println!("started");
    thread::spawn(|| {
        thread::sleep(Duration::from_millis(10));
        std::process::abort();
    });
    thread::sleep(Duration::from_secs(30));
    println!("not reached");
}
