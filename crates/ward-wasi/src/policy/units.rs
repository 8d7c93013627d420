//! The text forms of durations (`500ms`, `2m`) and byte counts (`64MiB`) that policies and `ward
//! run`'s limit flags share.

use std::time::Duration;

/// Parses `1s`, `500ms`, `2m`, `1h`, `10us`, `5ns`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration (e.g. 1s, 500ms)"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "ns" => value / 1e9,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "\"{text}\": unknown time unit \"{other}\" (use ns, us, ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("\"{text}\" is out of range"))
}

/// Parses a byte count: `65536`, `64KiB`, `64MiB`, `1GiB`, `64K`, `64M`, `1G` (binary) or `64KB`,
/// `64MB`, `1GB` (decimal).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a byte count (e.g. 64MiB)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "ki" | "kib" => 1 << 10,
        "m" | "mi" | "mib" => 1 << 20,
        "g" | "gi" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "\"{text}\": unknown size unit \"{other}\" (use KiB, MiB, GiB, KB, MB or GB)"
            ));
        }
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| format!("\"{text}\" is too large"))
}

/// A duration in the shortest exact form [`parse_duration`] reads back (`1500ms`, `2s`, `7ns`).
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    for (unit, scale) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos.is_multiple_of(scale) {
            return format!("{}{unit}", nanos / scale);
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_durations_read_back_exactly() {
        for duration in [
            Duration::from_secs(2),
            Duration::from_millis(1500),
            Duration::from_nanos(7),
            Duration::from_secs(7200),
            Duration::from_secs(90),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
    }
}
