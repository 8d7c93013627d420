//! `ward policy`: `check FILE` validates a capability policy; `from-flags [RUN OPTIONS] [MODULE
//! [ARGS]]` prints the policy a `ward run` command line grants, as TOML that `--policy` reads back.
//! Both use the library's `Policy` (`from_toml`, `to_toml`) and `wasi_options.rs`'s conversion of
//! flags, the same code `ward run` uses. Called by `main.rs`.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Parser;

use crate::wasi_options::{policy_from_flags, read_policy};
use crate::{Cli, Command, Outcome};

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Check that FILE is a valid policy (its keys, values and directories): exit 0, or 1 with the
    /// first error on one line.
    Check {
        /// The policy (TOML).
        file: PathBuf,
    },
    /// Print the policy equivalent to a `ward run` command line: the options `ward run` takes
    /// (--dir, --dir-ro, --env, -S, -W, --fuel, --deterministic, ...), then optionally the module and
    /// the guest's arguments.
    FromFlags {
        /// `ward run`'s options, then optionally MODULE and its arguments.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "RUN OPTIONS"
        )]
        flags: Vec<OsString>,
    },
}

pub fn run(command: PolicyCommand) -> Result<Outcome> {
    match command {
        PolicyCommand::Check { file } => {
            read_policy(&file)?;
            println!("policy \"{}\" is valid", file.display());
            Ok(Outcome::Success)
        }
        PolicyCommand::FromFlags { flags } => from_flags(flags),
    }
}

/// A module path that stands in when the command line names none (`ward run` requires one).
const NO_MODULE: &str = "\u{0}no-module";

fn from_flags(flags: Vec<OsString>) -> Result<Outcome> {
    let parse = |extra: Option<&str>| {
        let mut argv: Vec<OsString> = vec!["ward".into(), "run".into()];
        argv.extend(flags.iter().cloned());
        argv.extend(extra.map(OsString::from));
        Cli::try_parse_from(argv)
    };
    let cli = match parse(None) {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            parse(Some(NO_MODULE)).map_err(|e| anyhow!("{}", first_line(&e.to_string())))?
        }
        Err(e) => e.exit(),
    };
    let Some(Command::Run(args)) = cli.command else {
        unreachable!("parsed as `ward run`")
    };
    if args.policy.is_some() {
        return Err(anyhow!(
            "--policy cannot be converted: `ward policy from-flags` writes the policy a command line \
             grants without one"
        ));
    }
    let file = args.config_file()?;
    let limits = args.limits.resolve(&file)?;
    let wasi_options = args.wasi_options(&file)?;
    let guest_args = if args.invoke.is_none() {
        args.guest_args()?
    } else {
        Vec::new()
    };
    let policy = policy_from_flags(&args, &wasi_options, &limits.policy_limits(), guest_args)?;
    print!("{}", policy.to_toml());
    Ok(Outcome::Success)
}

fn first_line(text: &str) -> &str {
    text.lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
}
