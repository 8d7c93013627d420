//! `-C` options (Wasmtime's codegen options): `compiler=interpreter|cranelift|auto` chooses the
//! tier that runs functions (default: `auto` where Cranelift is built in); `cache=y|n` keeps Cranelift's code in the on-disk cache. Used by
//! `run`, `wast` and `compile`.

use anyhow::{Result, bail};
use ward::{Config, Strategy};

/// The tier without `-C compiler`: tier-up where Cranelift is built in (the CLI's default
/// feature), as Wasmtime users expect a compiler; the interpreter otherwise.
pub const DEFAULT_STRATEGY: Strategy = if cfg!(feature = "cranelift") {
    Strategy::Auto
} else {
    Strategy::Interpreter
};

/// The `-C` options of a command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CodegenArgs {
    /// Codegen options, as in Wasmtime: compiler=interpreter|cranelift|auto (`auto`, the default
    /// where Cranelift is built in, starts in the interpreter and compiles hot functions in the
    /// background; `cranelift` and `auto` need a ward built with the `cranelift` feature, on by
    /// default, without which `auto` is the interpreter and the default);
    /// cache=y|n (keep Cranelift's machine code in the code cache, `$XDG_CACHE_HOME/ward` or
    /// `~/.cache/ward`, and load it from there).
    #[arg(
        short = 'C',
        long = "codegen",
        value_name = "KEY=VALUE",
        value_delimiter = ','
    )]
    codegen_options: Vec<String>,
}

impl CodegenArgs {
    /// The tier the options choose (default: [`DEFAULT_STRATEGY`]). The code cache holds code
    /// compiled up front, so `cache=y` without a compiler means Cranelift (and is refused with
    /// `auto`, whose code is compiled while the program runs).
    pub fn strategy(&self) -> Result<Strategy> {
        Ok(match (self.chosen_strategy()?, self.cache()?) {
            (None, true) => Strategy::Cranelift,
            (Some(Strategy::Auto), true) => {
                bail!("-C cache=y keeps code compiled up front: use it with -C compiler=cranelift")
            }
            (chosen, _) => chosen.unwrap_or(DEFAULT_STRATEGY),
        })
    }

    /// The tier the options choose, if they name one.
    pub fn chosen_strategy(&self) -> Result<Option<Strategy>> {
        let mut strategy = None;
        for option in &self.codegen_options {
            if option == "cache" || option.starts_with("cache=") {
                continue;
            }
            match option.split_once('=') {
                Some(("compiler", value)) => {
                    strategy = Some(match value {
                        "interpreter" => Strategy::Interpreter,
                        "cranelift" => Strategy::Cranelift,
                        "auto" => Strategy::Auto,
                        other => bail!(
                            "-C compiler: unknown compiler \"{other}\" (supported: interpreter, \
                             cranelift, auto)"
                        ),
                    })
                }
                _ => bail!(
                    "-C {option}: unknown option (supported: compiler=interpreter|cranelift|auto, \
                     cache=y|n)"
                ),
            }
        }
        Ok(strategy)
    }

    /// Whether `-C cache` turns the code cache on (`cache`, `cache=y|yes|true`; `n|no|false` off).
    pub fn cache(&self) -> Result<bool> {
        let mut cache = false;
        for option in &self.codegen_options {
            cache = match option.as_str() {
                "cache" | "cache=y" | "cache=yes" | "cache=true" => true,
                "cache=n" | "cache=no" | "cache=false" => false,
                other => match other.strip_prefix("cache=") {
                    Some(value) => {
                        bail!("-C cache: expected y or n, found \"{value}\"")
                    }
                    None => continue,
                },
            };
        }
        Ok(cache)
    }

    /// Applies the options to `config`.
    pub fn configure(&self, config: &mut Config) -> Result<()> {
        config.strategy(self.strategy()?);
        config.cache(self.cache()?);
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
        assert_eq!(args(&[]).strategy().unwrap(), DEFAULT_STRATEGY);
        assert_eq!(
            DEFAULT_STRATEGY == Strategy::Auto,
            cfg!(feature = "cranelift")
        );
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
    fn cache_option_is_wasmtimes_spelling() {
        assert!(!args(&[]).cache().unwrap());
        assert!(args(&["cache=y"]).cache().unwrap());
        assert!(args(&["cache"]).cache().unwrap());
        assert!(!args(&["cache=y", "cache=n"]).cache().unwrap());
        assert!(args(&["cache=maybe"]).cache().is_err());
        assert_eq!(
            args(&["cache=y", "compiler=cranelift"]).strategy().unwrap(),
            Strategy::Cranelift
        );
        assert_eq!(args(&["cache=y"]).chosen_strategy().unwrap(), None);
    }

    #[test]
    fn unknown_codegen_options_are_refused() {
        assert!(args(&["compiler=llvm"]).strategy().is_err());
        // The cache holds code compiled up front: cache=y alone means Cranelift, with auto it is
        // refused.
        let mut config = Config::new();
        assert!(
            args(&["cache=y", "compiler=auto"])
                .configure(&mut config)
                .is_err()
        );
        assert!(args(&["cache=y"]).configure(&mut config).is_ok());
        assert!(args(&["opt-level=2"]).strategy().is_err());
    }
}
