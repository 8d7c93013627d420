//! A producer hands 1,000 numbers to a consumer through a one-slot buffer guarded by a mutex and
//! two condition variables; the consumer prints how many it got and their sum.
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

struct Slot {
    value: Mutex<Option<u64>>,
    filled: Condvar,
    emptied: Condvar,
}

fn main() {
    let slot = Arc::new(Slot {
        value: Mutex::new(None),
        filled: Condvar::new(),
        emptied: Condvar::new(),
    });
    let producer = {
        let slot = Arc::clone(&slot);
        thread::spawn(move || {
            for i in 1..=1000u64 {
                let mut value = slot.value.lock().unwrap();
                while value.is_some() {
                    value = slot.emptied.wait(value).unwrap();
                }
                *value = Some(i);
                slot.filled.notify_one();
            }
        })
    };
    let consumer = {
        let slot = Arc::clone(&slot);
        thread::spawn(move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < 1000 {
                let mut value = slot.value.lock().unwrap();
                while value.is_none() {
                    value = slot.filled.wait(value).unwrap();
                }
                sum += value.take().unwrap();
                count += 1;
                slot.emptied.notify_one();
            }
            (count, sum)
        })
    };
    producer.join().unwrap();
    let (count, sum) = consumer.join().unwrap();
    println!("received {count} sum {sum}");
}
