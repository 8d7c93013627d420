//! The main thread prints a line and then waits; a spawned thread calls `exit(3)` (WASI
//! `proc_exit`). The whole program must end with status 3, not hang.
use std::thread;
use std::time::Duration;

fn main() {
    println!("started");
    thread::spawn(|| {
        thread::sleep(Duration::from_millis(10));
        std::process::exit(3);
    });
    thread::sleep(Duration::from_secs(30));
    println!("not reached");
}
