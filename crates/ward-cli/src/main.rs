fn main() {
    let mut total = (0, 0, 0);
    for path in std::env::args().skip(1) {
        match ward_wast::run_file(std::path::Path::new(&path)) {
            Ok(r) => {
                for f in &r.failures {
                    eprintln!("{path}:{}: {}", f.line, f.message);
                }
                println!("{path}: {} passed, {} failed, {} skipped", r.passed, r.failed, r.skipped);
                total.0 += r.passed;
                total.1 += r.failed;
                total.2 += r.skipped;
            }
            Err(e) => println!("{path}: error {e}"),
        }
    }
    println!("{} passed, {} failed, {} skipped", total.0, total.1, total.2);
}
