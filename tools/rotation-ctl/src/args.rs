//! The command line: `rotation-ctl COMMAND SECRET [options]`.

use crate::error::{CtlError, Result};

/// A command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `attach`.
    Attach,
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
    /// `verify`.
    Verify,
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
    /// `--fingerprints` (inspect only).
    pub fingerprints: bool,
    /// The rotation schedule given to `attach` (`--days`, `--schedule`, `--duration`).
    pub schedule: Schedule,
    /// `--rotations N` (verify only): how many rotations to run, 1 to [`MAX_ROTATIONS`].
    pub rotations: u32,
}

/// The most rotations one `verify` runs: each can take four invocations of the function, each
/// up to its timeout, and changes a real password.
pub const MAX_ROTATIONS: u32 = 20;

/// The rotation rules `attach` sets; all `None`: keep the secret's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    /// `--days N`: `AutomaticallyAfterDays`, 1 to 1000.
    pub days: Option<i64>,
    /// `--schedule EXPR`: `ScheduleExpression` (`rate(...)` or `cron(...)`).
    pub expression: Option<String>,
    /// `--duration H`: the rotation window, `Nh` with N from 1 to 24.
    pub duration: Option<String>,
}

impl Schedule {
    /// True when no rule was given.
    pub fn is_empty(&self) -> bool {
        self.days.is_none() && self.expression.is_none() && self.duration.is_none()
    }
}

/// `--duration`: `3` or `3h`, 1 to 24 hours, as Secrets Manager's `Duration` (`3h`).
fn duration(text: &str) -> Result<String> {
    let hours = text.strip_suffix('h').unwrap_or(text);
    match hours.parse::<u8>() {
        Ok(h) if (1..=24).contains(&h) => Ok(format!("{h}h")),
        _ => Err(CtlError::Usage(format!(
            "--duration is a number of hours from 1 to 24 (e.g. 4 or 4h), not {text}"
        ))),
    }
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
    let mut fingerprints = false;
    let mut schedule = Schedule::default();
    let mut rotations = None;
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
            "--days" => {
                let text = value("--days")?;
                match text.parse::<i64>() {
                    Ok(d) if (1..=1000).contains(&d) => schedule.days = Some(d),
                    _ => {
                        return usage(format!(
                            "--days is a whole number from 1 to 1000, not {text}"
                        ))
                    }
                }
            }
            "--rotations" => {
                let text = value("--rotations")?;
                match text.parse::<u32>() {
                    Ok(n) if (1..=MAX_ROTATIONS).contains(&n) => rotations = Some(n),
                    _ => {
                        return usage(format!(
                            "--rotations is a whole number from 1 to {MAX_ROTATIONS}, not {text}"
                        ))
                    }
                }
            }
            "--schedule" => schedule.expression = Some(value("--schedule")?),
            "--duration" => schedule.duration = Some(duration(&value("--duration")?)?),
            "--force" | "--previous" | "--fingerprints" if inline.is_some() => {
                return usage(format!("{flag} takes no value"))
            }
            "--force" => force = true,
            "--previous" => previous = true,
            "--fingerprints" => fingerprints = true,
            f if f.starts_with('-') => return usage(format!("unknown option {f}")),
            word if command.is_none() => {
                command = Some(match word {
                    "attach" => Command::Attach,
                    "inspect" => Command::Inspect,
                    "preflight" => Command::Preflight,
                    "resume" => Command::Resume,
                    "abort" => Command::Abort,
                    "rollback" => Command::Rollback,
                    "verify" => Command::Verify,
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
    if fingerprints && command != Command::Inspect {
        return usage("--fingerprints is an option of inspect only".into());
    }
    if rotations.is_some() && command != Command::Verify {
        return usage("--rotations is an option of verify only".into());
    }
    if !schedule.is_empty() && command != Command::Attach {
        return usage("--days, --schedule and --duration are options of attach only".into());
    }
    if schedule.days.is_some() && schedule.expression.is_some() {
        return usage("give --days or --schedule, not both".into());
    }
    if schedule.duration.is_some() && schedule.days.is_none() && schedule.expression.is_none() {
        return usage("--duration needs --days or --schedule".into());
    }
    if command == Command::Attach && function.is_none() {
        return usage(
            "attach needs --function NAME_OR_ARN (the rotation function to attach)".into(),
        );
    }
    Ok(Some(Args {
        command,
        secret,
        function,
        output,
        force,
        previous,
        fingerprints,
        schedule,
        rotations: rotations.unwrap_or(1),
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
        let a = parse(
            &[
                "attach",
                "s",
                "--function",
                "f",
                "--schedule",
                "rate(10 days)",
                "--duration",
                "3",
            ]
            .map(String::from),
        )
        .unwrap()
        .unwrap();
        assert_eq!(a.command, Command::Attach);
        assert_eq!(
            a.schedule,
            Schedule {
                days: None,
                expression: Some("rate(10 days)".into()),
                duration: Some("3h".into()),
            }
        );
        let a = args("attach s --function f --days 30").unwrap().unwrap();
        assert_eq!(a.schedule.days, Some(30));
        assert!(args("attach s --function f")
            .unwrap()
            .unwrap()
            .schedule
            .is_empty());
        let a = args("verify s --rotations 3 --output json")
            .unwrap()
            .unwrap();
        assert_eq!((a.command, a.rotations), (Command::Verify, 3));
        assert_eq!(args("verify s").unwrap().unwrap().rotations, 1);
        assert!(
            args("inspect s --fingerprints")
                .unwrap()
                .unwrap()
                .fingerprints
        );
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
            ("attach s", "needs --function"),
            ("attach s --function f --days 0", "from 1 to 1000"),
            ("attach s --function f --days 3 --schedule x", "not both"),
            (
                "attach s --function f --duration 3",
                "needs --days or --schedule",
            ),
            (
                "attach s --function f --days 3 --duration 25",
                "from 1 to 24",
            ),
            ("inspect s --days 3", "attach only"),
            ("preflight s --fingerprints", "inspect only"),
            ("inspect s --rotations 2", "verify only"),
            ("verify s --rotations 0", "from 1 to 20"),
            ("verify s --rotations 21", "from 1 to 20"),
            ("verify s --rotations two", "from 1 to 20"),
            ("verify s --rotations", "--rotations needs a value"),
        ] {
            let e = args(line).unwrap_err().to_string();
            assert!(e.contains(needle), "{line}: {e}");
        }
    }
}
