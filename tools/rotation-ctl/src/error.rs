//! The tool's one error type. Messages name the secret, version or function and what to do;
//! never a secret value.

/// Why a command could not run (as opposed to a check that failed, which is a report).
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The command line is wrong.
    #[error("{0}\n\n{usage}", usage = crate::usage::USAGE)]
    Usage(String),
    /// A Secrets Manager call failed.
    #[error("Secrets Manager {operation} failed: {detail}")]
    SecretsManager {
        /// The API operation.
        operation: &'static str,
        /// The SDK's error with its context (service code and message).
        detail: String,
    },
    /// The Lambda Invoke call failed (not the function: the call).
    #[error("invoking {function} failed: {detail}")]
    Invoke {
        /// The function name or ARN.
        function: String,
        /// The SDK's error with its context.
        detail: String,
    },
    /// A Lambda call other than Invoke failed (GetFunctionConfiguration: the function's ARN
    /// and timeout).
    #[error("Lambda {operation} of {function} failed: {detail} (it needs lambda:{operation} on the function, and the function in this region)")]
    Lambda {
        /// The API operation.
        operation: &'static str,
        /// The function name or ARN.
        function: String,
        /// The SDK's error with its context.
        detail: String,
    },
    /// The function answered with an error.
    #[error("{function} answered {error_type}: {message}")]
    Function {
        /// The function name or ARN.
        function: String,
        /// The function's `errorType`.
        error_type: String,
        /// The function's `errorMessage`.
        message: String,
    },
    /// The secret's state does not allow the command, or the function's answer is not one
    /// this tool understands.
    #[error("{0}")]
    Refused(String),
}

/// The tool's results.
pub type Result<T> = std::result::Result<T, CtlError>;

/// The SDK error with its context (code and message), as the tool reports it.
pub fn sdk_detail<E: std::error::Error>(e: &E) -> String {
    // DisplayErrorContext walks the source chain: the service's code and message.
    format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(e)
    )
}
