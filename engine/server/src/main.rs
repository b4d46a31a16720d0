//! The `vartalaap` binary: parses the command line and reports errors readably.

use std::process::ExitCode;

use clap::Parser;
use vartalaap::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match vartalaap::serve::run_cli(cli) {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: what failed and why.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
