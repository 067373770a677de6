//! The command line: `rotation-ctl COMMAND SECRET [options]`.

use crate::error::{CtlError, Result};

/// The usage text.
pub const USAGE: &str =
    "usage: rotation-ctl COMMAND SECRET [--function NAME_OR_ARN] [--output text|json] [--force]

commands:
  inspect SECRET     versions, labels, password fingerprints, rotation settings, and a stale
                     AWSPENDING with the step its rotation stopped in (from the function's logs)
  preflight SECRET   invoke the rotation function's preflight; exit 1 if a check fails
                     (add --previous to also try AWSPREVIOUS's credentials)
  resume SECRET      run the steps of the rotation in progress again through the function
  abort SECRET       take AWSPENDING off the rotation in progress, only when no client can be
                     locked out by it (the function's preflight decides; --force overrides)
  rollback SECRET    move AWSCURRENT back to AWSPREVIOUS, only when AWSPREVIOUS still logs in
                     and no rotation is in progress

The function is the secret's rotation function unless --function names another. AWS
credentials, region and endpoints come from the usual AWS environment and profile.";

/// A command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `inspect`.
    Inspect,
    /// `preflight`.
    Preflight,
    /// `resume`.
    Resume,
    /// `abort`.
    Abort,
    /// `rollback`.
    Rollback,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// For people: tables and sentences.
    Text,
    /// One JSON document on stdout, for scripts.
    Json,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The command.
    pub command: Command,
    /// The secret's name or ARN.
    pub secret: String,
    /// `--function`.
    pub function: Option<String>,
    /// `--output`.
    pub output: Output,
    /// `--force` (abort only).
    pub force: bool,
    /// `--previous` (preflight only).
    pub previous: bool,
}

/// Parses the arguments after the program name. `Ok(None)`: help was asked for.
pub fn parse(args: &[String]) -> Result<Option<Args>> {
    let usage = |m: String| Err(CtlError::Usage(m));
    let mut command = None;
    let mut secret = None;
    let mut function = None;
    let mut output = Output::Text;
    let mut force = false;
    let mut previous = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match inline.clone().or_else(|| it.next().cloned()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(CtlError::Usage(format!("{name} needs a value"))),
            }
        };
        match flag {
            "-h" | "--help" | "help" => return Ok(None),
            "--function" => function = Some(value("--function")?),
            "--output" | "-o" => {
                output = match value("--output")?.as_str() {
                    "text" => Output::Text,
                    "json" => Output::Json,
                    other => return usage(format!("--output is text or json, not {other}")),
                }
            }
            "--force" | "--previous" if inline.is_some() => {
                return usage(format!("{flag} takes no value"))
            }
            "--force" => force = true,
            "--previous" => previous = true,
            f if f.starts_with('-') => return usage(format!("unknown option {f}")),
            word if command.is_none() => {
                command = Some(match word {
                    "inspect" => Command::Inspect,
                    "preflight" => Command::Preflight,
                    "resume" => Command::Resume,
                    "abort" => Command::Abort,
                    "rollback" => Command::Rollback,
                    other => return usage(format!("unknown command {other}")),
                })
            }
            word if secret.is_none() => secret = Some(word.to_string()),
            word => return usage(format!("unexpected argument {word}")),
        }
    }
    let Some(command) = command else {
        return usage("no command given".into());
    };
    let Some(secret) = secret else {
        return usage("no secret given (its name or ARN)".into());
    };
    if force && command != Command::Abort {
        return usage("--force is an option of abort only".into());
    }
    if previous && command != Command::Preflight {
        return usage("--previous is an option of preflight only".into());
    }
    Ok(Some(Args {
        command,
        secret,
        function,
        output,
        force,
        previous,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Option<Args>> {
        parse(
            &line
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn commands_secrets_and_options() {
        let a = args("abort my-secret --force --output json")
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.command, a.secret.as_str(), a.force, a.output),
            (Command::Abort, "my-secret", true, Output::Json)
        );
        let a = args("preflight arn:aws:x --function=f --previous")
            .unwrap()
            .unwrap();
        assert_eq!(a.function.as_deref(), Some("f"));
        assert!(a.previous);
        assert!(args("--help").unwrap().is_none());
    }

    #[test]
    fn mistakes_are_named() {
        for (line, needle) in [
            ("", "no command"),
            ("inspect", "no secret"),
            ("explode s", "unknown command explode"),
            ("inspect s t", "unexpected argument t"),
            ("inspect s --output yaml", "text or json"),
            ("inspect s --function", "--function needs a value"),
            ("resume s --force", "abort only"),
            ("abort s --previous", "preflight only"),
            ("inspect s --verbose", "unknown option --verbose"),
            ("abort s --force=false", "--force takes no value"),
        ] {
            let e = args(line).unwrap_err().to_string();
            assert!(e.contains(needle), "{line}: {e}");
        }
    }
}
