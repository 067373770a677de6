//! `rotation-ctl`: the operator's tool for this toolkit's rotation functions (see [`usage::USAGE`]).
//! It runs with the operator's own AWS credentials; it never prints a secret value, and its
//! text output never holds a raw control character ([`term`]).
#![deny(clippy::all)]

mod args;
mod attach;
mod commands;
mod error;
mod function;
mod logs;
mod outcome;
mod secret;
mod term;
mod usage;
mod verify;

use std::process::ExitCode;

use args::Output;
use error::CtlError;

fn main() -> ExitCode {
    // An empty AWS_* variable means unset (the SDK would take an empty endpoint as given and
    // fail): remove them while no other thread exists.
    for (name, value) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n.starts_with("AWS_") && value.to_string_lossy().trim().is_empty() {
            std::env::remove_var(&name);
        }
    }
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match args::parse(&argv) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", usage::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            if argv.iter().any(|a| a == "json" || a == "--output=json") {
                let error = serde_json::json!({"type": kind(&e), "message": e.to_string()});
                println!("{}", serde_json::json!({"ok": false, "error": error}));
            } else {
                print_error(&e);
            }
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            term::say(&format!("rotation-ctl: cannot start: {e}"));
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let clients = outcome::Clients {
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        };
        commands::run(&clients, &args).await
    });
    match (result, args.output) {
        (Ok(done), Output::Text) => {
            print!("{}", done.text.render());
            exit(done.ok)
        }
        (Ok(mut done), Output::Json) => {
            // Every answer says whether it succeeded, as the exit code does.
            if let Some(object) = done.json.as_object_mut() {
                object.insert("ok".into(), serde_json::Value::Bool(done.ok));
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&done.json).unwrap_or_default()
            );
            exit(done.ok)
        }
        (Err(e), output) => {
            let code = if matches!(e, CtlError::Refused(_)) {
                1
            } else {
                2
            };
            match output {
                Output::Text => print_error(&e),
                Output::Json => println!(
                    "{}",
                    serde_json::json!({"ok": false, "error": {"type": kind(&e), "message": e.to_string()}})
                ),
            }
            ExitCode::from(code)
        }
    }
}

/// An error on stderr, escaped (the usage text after a usage error is the tool's own).
fn print_error(e: &CtlError) {
    match e {
        CtlError::Usage(message) => {
            term::say(&format!("rotation-ctl: {message}"));
            eprintln!("\n{}", usage::USAGE);
        }
        other => term::say(&format!("rotation-ctl: {other}")),
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A stable name for each error, for `--output json`.
fn kind(e: &CtlError) -> &'static str {
    match e {
        CtlError::Usage(_) => "Usage",
        CtlError::SecretsManager { .. } => "SecretsManagerError",
        CtlError::Invoke { .. } => "InvokeError",
        CtlError::Lambda { .. } => "LambdaError",
        CtlError::Function { .. } => "FunctionError",
        CtlError::Refused(_) => "Refused",
    }
}
