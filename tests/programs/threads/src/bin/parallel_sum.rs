//! Sums 1..=4,000,000 in four threads, each over its own quarter, and prints the total.
use std::thread;

fn main() {
    let parts = 4u64;
    let n = 4_000_000u64;
    let handles: Vec<_> = (0..parts)
        .map(|p| {
            thread::spawn(move || {
                let (lo, hi) = (p * n / parts + 1, (p + 1) * n / parts);
                (lo..=hi).sum::<u64>()
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("sum {total}");
}
