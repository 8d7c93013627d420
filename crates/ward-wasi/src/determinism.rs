//! The guest's sources of time and randomness: the host's ([`Clocks::Real`], [`Randomness::Real`]) or
//! virtual ones that make a run a function of its inputs ([`VirtualClock`], [`SeededRandom`]).
//!
//! A virtual clock never reads the host. Its time is the sum of three things the guest itself
//! decides: a fixed step per clock read (so that two reads never see the same time and a busy-wait
//! loop ends), the fuel executed since the first read (when the store meters fuel: one unit is one
//! nanosecond), and the time the guest asked to sleep in `poll_oneoff`. The wall clock is that time
//! after a fixed epoch. Seeded randomness is xoshiro256** seeded through splitmix64, written here so
//! that its output never changes with a dependency's version. Used by `process` (clock and random
//! syscalls) and `poll` (sleeps); set up by [`crate::WasiCtxBuilder`].

/// The wall-clock epoch of a virtual clock when none is given: 2000-01-01T00:00:00Z, in seconds
/// since the Unix epoch.
pub const DEFAULT_EPOCH_SECONDS: u64 = 946_684_800;

/// Nanoseconds a virtual clock advances at every read.
pub const VIRTUAL_STEP_NANOS: u64 = 1_000;

/// The resolution a virtual clock reports (`clock_res_get`).
pub const VIRTUAL_RESOLUTION_NANOS: u64 = 1_000;

/// Where the guest's clocks come from.
#[derive(Debug, Clone, Default)]
pub(crate) enum Clocks {
    /// The host's clocks (`clock_gettime`), and `poll_oneoff` really sleeps.
    #[default]
    Real,
    /// Virtual time: see [`VirtualClock`].
    Virtual(VirtualClock),
}

/// Virtual time, advanced only by what the guest does.
#[derive(Debug, Clone)]
pub(crate) struct VirtualClock {
    /// The wall clock's reading at virtual time zero, in nanoseconds since the Unix epoch.
    epoch_nanos: u64,
    /// Nanoseconds of virtual time from reads and sleeps.
    elapsed: u64,
    /// The store's fuel at the first read that reported it; fuel consumed since counts as time.
    fuel_at_first_read: Option<u64>,
    /// The most fuel counted so far (fuel can be topped up by the embedder; time never goes back).
    fuel_counted: u64,
    /// Fuel counted before the clock was last anchored (by a snapshot's restore): what the fuel
    /// since `fuel_at_first_read` adds to.
    fuel_offset: u64,
}

impl VirtualClock {
    /// A virtual clock whose wall clock starts `epoch_seconds` after the Unix epoch.
    pub(crate) fn new(epoch_seconds: u64) -> Self {
        VirtualClock {
            epoch_nanos: epoch_seconds.saturating_mul(1_000_000_000),
            elapsed: 0,
            fuel_at_first_read: None,
            fuel_counted: 0,
            fuel_offset: 0,
        }
    }

    /// Accounts for the store's fuel left (`None` when the store does not meter fuel).
    pub(crate) fn observe_fuel(&mut self, fuel_left: Option<u64>) {
        let Some(left) = fuel_left else { return };
        let first = *self.fuel_at_first_read.get_or_insert(left);
        let counted = self.fuel_offset.saturating_add(first.saturating_sub(left));
        self.fuel_counted = self.fuel_counted.max(counted);
    }

    /// The clock's state for a snapshot, the fuel executed up to `fuel_left` counted first:
    /// `[epoch, elapsed, fuel counted, whether fuel is being counted]`.
    pub(crate) fn save(&mut self, fuel_left: Option<u64>) -> [u64; 4] {
        // Before the first clock read nothing is counted yet (an uninterrupted run starts counting
        // at that read, so the resumed one must too).
        let counting = self.fuel_at_first_read.is_some();
        if counting {
            self.observe_fuel(fuel_left);
        }
        [
            self.epoch_nanos,
            self.elapsed,
            self.fuel_counted,
            counting as u64,
        ]
    }

    /// A clock restored from [`VirtualClock::save`], counting the fuel executed from now, when
    /// the store has `fuel_now` left, on top of what was counted before.
    pub(crate) fn restore(words: [u64; 4], fuel_now: Option<u64>) -> Self {
        let [epoch_nanos, elapsed, fuel_counted, counting] = words;
        VirtualClock {
            epoch_nanos,
            elapsed,
            fuel_at_first_read: if counting != 0 { fuel_now } else { None },
            fuel_counted,
            fuel_offset: fuel_counted,
        }
    }

    /// Virtual nanoseconds since time zero.
    fn since_zero(&self) -> u64 {
        self.elapsed.saturating_add(self.fuel_counted)
    }

    /// Reads clock `id` (a WASI clock id): every read advances time by [`VIRTUAL_STEP_NANOS`]. The
    /// realtime clock is offset by the epoch; the others (monotonic and both CPU-time clocks) count
    /// from zero.
    pub(crate) fn read(&mut self, id: u32) -> u64 {
        self.elapsed = self.elapsed.saturating_add(VIRTUAL_STEP_NANOS);
        self.peek(id)
    }

    /// Clock `id`'s time without advancing it (for `poll_oneoff`'s absolute deadlines).
    pub(crate) fn peek(&self, id: u32) -> u64 {
        if id == crate::abi::clock::REALTIME {
            self.epoch_nanos.saturating_add(self.since_zero())
        } else {
            self.since_zero()
        }
    }

    /// Advances time by a sleep of `nanos`.
    pub(crate) fn sleep(&mut self, nanos: u64) {
        self.elapsed = self.elapsed.saturating_add(nanos);
    }
}

/// Where the guest's random bytes come from.
#[derive(Debug, Clone, Default)]
pub(crate) enum Randomness {
    /// The host's `getrandom`.
    #[default]
    Real,
    /// A generator seeded by the embedder.
    Seeded(SeededRandom),
}

/// xoshiro256**: small, fast and good enough for a guest's `random_get` in a reproducible run (it is
/// not a cryptographic generator, and a seeded run does not pretend to be secret).
#[derive(Debug, Clone)]
pub(crate) struct SeededRandom {
    state: [u64; 4],
}

/// One step of splitmix64, which spreads a seed over xoshiro's state (never all zero).
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SeededRandom {
    /// The generator for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let mut x = seed;
        SeededRandom {
            state: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// The generator's state, for a snapshot.
    pub(crate) fn state(&self) -> [u64; 4] {
        self.state
    }

    /// A generator continuing from a saved state (`None` for the all-zero state, which xoshiro
    /// cannot leave).
    pub(crate) fn from_state(state: [u64; 4]) -> Option<Self> {
        (state != [0; 4]).then_some(SeededRandom { state })
    }

    /// Fills `out` with the next bytes of the stream (little-endian words).
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::clock;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        let mut a = [0u8; 37];
        let mut b = [0u8; 37];
        let mut c = [0u8; 37];
        SeededRandom::new(7).fill(&mut a);
        SeededRandom::new(7).fill(&mut b);
        SeededRandom::new(8).fill(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().any(|&byte| byte != 0));
    }

    #[test]
    fn seed_zero_still_produces_varied_output() {
        let mut bytes = [0u8; 64];
        SeededRandom::new(0).fill(&mut bytes);
        assert!(bytes.windows(8).any(|w| w != [0; 8]));
        assert_ne!(bytes[..8], bytes[8..16]);
    }

    #[test]
    fn virtual_time_advances_by_reads_fuel_and_sleeps_only() {
        let mut clock = VirtualClock::new(DEFAULT_EPOCH_SECONDS);
        assert_eq!(clock.read(clock::MONOTONIC), VIRTUAL_STEP_NANOS);
        clock.observe_fuel(Some(1_000_000));
        clock.observe_fuel(Some(999_000));
        assert_eq!(clock.peek(clock::MONOTONIC), VIRTUAL_STEP_NANOS + 1_000);
        clock.sleep(5_000_000_000);
        assert_eq!(
            clock.read(clock::REALTIME),
            DEFAULT_EPOCH_SECONDS * 1_000_000_000 + 2 * VIRTUAL_STEP_NANOS + 1_000 + 5_000_000_000
        );
        // Fuel topped up by the embedder does not turn time back.
        clock.observe_fuel(Some(2_000_000));
        assert_eq!(
            clock.peek(clock::MONOTONIC),
            2 * VIRTUAL_STEP_NANOS + 1_000 + 5_000_000_000
        );
    }
}
