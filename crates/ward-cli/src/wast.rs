//! `ward wast`: runs spec scripts and reports pass/fail counts, one line per script as it finishes
//! (so a long run shows progress) and a total line at the end. On a terminal, the script running is
//! also shown on stderr while it runs (one slow script would otherwise look like a hang).
//!
//! Arguments are scripts or directories (searched for `.wast` files, in name order); `--filter`
//! keeps the scripts whose path contains one of its substrings, and `--fail-fast` stops after the
//! first script with a failure. Scripts run with every proposal on (see `ward-wast`). Called by
//! `main.rs`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use crate::{Outcome, describe_io};

/// The options of `ward wast`.
#[derive(clap::Args)]
pub struct WastArgs {
    /// Script files, or directories to search for .wast files.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Stop after the first script with a failure (the scripts after it are not run).
    #[arg(long)]
    fail_fast: bool,
    /// Run only the scripts whose path contains SUBSTRING (repeatable: any may match).
    #[arg(long, value_name = "SUBSTRING")]
    filter: Vec<String>,
    #[command(flatten)]
    codegen: crate::codegen::CodegenArgs,
}

/// Runs the scripts `args` selects.
pub fn run(args: &WastArgs) -> Result<Outcome> {
    let mut scripts = Vec::new();
    for path in &args.paths {
        collect_scripts(path, &mut scripts)?;
    }
    let scripts: Vec<PathBuf> = scripts
        .into_iter()
        .filter(|script| {
            let shown = script.display().to_string();
            args.filter.is_empty() || args.filter.iter().any(|f| shown.contains(f.as_str()))
        })
        .collect();
    if scripts.is_empty() {
        bail!(
            "no script to run: no .wast file matches --filter {}",
            args.filter.join(", ")
        );
    }
    let mut config = ward_wast::spec_config();
    args.codegen.configure(&mut config)?;
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let (mut compiled, mut interpreted) = (0, 0);
    let show_running = std::io::stderr().is_terminal();
    for (index, path) in scripts.iter().enumerate() {
        let shown = path.display();
        if show_running {
            eprint!("running {shown} ({} of {})", index + 1, scripts.len());
        }
        let result = ward_wast::run_file_with_config(path, &config);
        if show_running {
            // Back to the start of the line, and clear it.
            eprint!("\r\x1b[K");
        }
        let file_failed = match result {
            Ok(report) => {
                for failure in &report.failures {
                    eprintln!("{shown}:{}: {}", failure.line, failure.message);
                }
                println!(
                    "{shown}: {} passed, {} failed, {} skipped",
                    report.passed, report.failed, report.skipped
                );
                passed += report.passed;
                failed += report.failed;
                skipped += report.skipped;
                compiled += report.compiled_functions;
                interpreted += report.interpreted_functions;
                report.failed > 0
            }
            Err(e) => {
                eprintln!("{e}");
                println!("{shown}: 0 passed, 1 failed, 0 skipped");
                failed += 1;
                true
            }
        };
        let left = scripts.len() - index - 1;
        if file_failed && args.fail_fast && left > 0 {
            eprintln!("stopping at the first failing script (--fail-fast): {left} not run");
            break;
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if args.codegen.strategy()? == ward::Strategy::Cranelift {
        println!("functions: {compiled} compiled by Cranelift, {interpreted} interpreted");
    }
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// Adds `path` to `scripts`, or the `.wast` files under it (in name order) if it is a directory.
fn collect_scripts(path: &Path, scripts: &mut Vec<PathBuf>) -> Result<()> {
    if !path.is_dir() {
        scripts.push(path.to_path_buf());
        return Ok(());
    }
    let read_error = |e: std::io::Error| {
        anyhow!(
            "failed to read directory \"{}\": {}",
            path.display(),
            describe_io(&e)
        )
    };
    let mut entries = std::fs::read_dir(path)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_scripts(&entry, scripts)?;
        } else if entry.extension().is_some_and(|ext| ext == "wast") {
            scripts.push(entry);
        }
    }
    Ok(())
}
