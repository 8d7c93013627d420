//! `-C` options (Wasmtime's codegen options): `compiler=interpreter|cranelift|auto` chooses the
//! tier that runs functions. Used by `run` and `wast`.

use anyhow::{Result, bail};
use ward::{Config, Strategy};

/// The `-C` options of a command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CodegenArgs {
    /// Codegen options, as in Wasmtime: compiler=interpreter|cranelift|auto (`auto` starts in
    /// the interpreter and compiles hot functions in the background; `cranelift` and `auto` need
    /// a ward built with the `cranelift` feature, without which `auto` is the interpreter).
    #[arg(
        short = 'C',
        long = "codegen",
        value_name = "KEY=VALUE",
        value_delimiter = ','
    )]
    codegen_options: Vec<String>,
}

impl CodegenArgs {
    /// The tier the options choose (default: the interpreter).
    pub fn strategy(&self) -> Result<Strategy> {
        let mut strategy = Strategy::Interpreter;
        for option in &self.codegen_options {
            match option.split_once('=') {
                Some(("compiler", value)) => {
                    strategy = match value {
                        "interpreter" => Strategy::Interpreter,
                        "cranelift" => Strategy::Cranelift,
                        "auto" => Strategy::Auto,
                        other => bail!(
                            "-C compiler: unknown compiler \"{other}\" (supported: interpreter, \
                             cranelift, auto)"
                        ),
                    }
                }
                _ => bail!(
                    "-C {option}: unknown option (supported: compiler=interpreter|cranelift|auto)"
                ),
            }
        }
        Ok(strategy)
    }

    /// Applies the options to `config`.
    pub fn configure(&self, config: &mut Config) -> Result<()> {
        config.strategy(self.strategy()?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(options: &[&str]) -> CodegenArgs {
        CodegenArgs {
            codegen_options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn compiler_option_chooses_the_strategy() {
        assert_eq!(args(&[]).strategy().unwrap(), Strategy::Interpreter);
        assert_eq!(
            args(&["compiler=cranelift"]).strategy().unwrap(),
            Strategy::Cranelift
        );
        assert_eq!(args(&["compiler=auto"]).strategy().unwrap(), Strategy::Auto);
        assert_eq!(
            args(&["compiler=cranelift", "compiler=interpreter"])
                .strategy()
                .unwrap(),
            Strategy::Interpreter
        );
    }

    #[test]
    fn unknown_codegen_options_are_refused() {
        assert!(args(&["compiler=llvm"]).strategy().is_err());
        assert!(args(&["opt-level=2"]).strategy().is_err());
    }
}
