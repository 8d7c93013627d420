//! `ward compile MODULE [-o OUT]`: ahead-of-time compilation with Cranelift into a precompiled
//! module (`Engine::precompile_module`), as `wasmtime compile` does. The default output is MODULE
//! with the extension `.cwasm`. `-W` options that change the generated code (fuel, timeouts, Wasm
//! proposals) must be the same when the file is run (`ward run --allow-precompiled`), which
//! otherwise refuses it naming the setting.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use ward::{Config, Engine, Strategy};

use crate::codegen::CodegenArgs;
use crate::config_file::ConfigFile;
use crate::limits::LimitArgs;
use crate::{Outcome, describe_io, read_module};

/// The arguments of `ward compile`.
#[derive(clap::Args)]
pub struct CompileArgs {
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    codegen: CodegenArgs,
    /// The path of the output compiled file; defaults to MODULE with the extension `.cwasm`.
    #[arg(short = 'o', long = "output", value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// The module to compile (.wasm or .wat).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
}

/// `ward compile`.
pub fn run(args: &CompileArgs) -> Result<Outcome> {
    let limits = args.limits.resolve(&ConfigFile::default())?;
    let mut config = Config::new();
    limits.configure(&mut config);
    args.codegen.configure(&mut config)?;
    match args.codegen.chosen_strategy()? {
        None | Some(Strategy::Cranelift) => {}
        Some(_) => bail!("ward compile compiles with Cranelift: use -C compiler=cranelift or none"),
    }
    config.strategy(Strategy::Cranelift);
    let engine = Engine::new(&config)?;
    let shown = args.module.display();
    let binary = read_module(&args.module)?;
    let artifact = engine
        .precompile_module(&binary)
        .with_context(|| format!("failed to compile module \"{shown}\""))?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.module.with_extension("cwasm"));
    std::fs::write(&output, artifact).map_err(|e| {
        anyhow!(
            "failed to write \"{}\": {}",
            output.display(),
            describe_io(&e)
        )
    })?;
    Ok(Outcome::Success)
}
