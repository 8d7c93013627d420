//! Memory measurements in a child process: a test runs itself alone in a fresh process of its test
//! binary, so that the peak RSS it reports is not inflated by the other tests running in parallel.

// Each test file uses its own subset.
#![allow(dead_code)]

/// Set in the child process.
const CHILD: &str = "WARD_TEST_RSS_CHILD";

/// This process's peak resident set size (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("the kernel reports VmHWM in KiB")
}

/// In the parent: runs test `name` alone in a child process of this test binary and returns the
/// child's peak RSS in KiB and its standard output. In the child (which then does the work and ends
/// with [`report_peak_rss`]): `None`.
pub fn measure_in_child(name: &str) -> Option<(u64, String)> {
    if std::env::var_os(CHILD).is_some() {
        return None;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs itself");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kib = stdout
        .lines()
        .find_map(|l| l.split_once("peak-rss-kib="))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("the child reports its peak RSS: {stdout}"));
    Some((kib, stdout))
}

/// The child's last word: its peak RSS, for [`measure_in_child`].
pub fn report_peak_rss() {
    println!("peak-rss-kib={}", peak_rss_kib());
}
