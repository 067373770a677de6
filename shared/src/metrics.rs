//! CloudWatch metrics in the embedded metric format (EMF): one JSON line per invocation on
//! stdout, which CloudWatch Logs turns into metrics without any API call or permission. Namespace
//! [`NAMESPACE`]; dimensions the rotation type with the step, and the rotation type with the
//! `errorType` (`None` on success); metrics `Duration` (ms), `Successes` and `Failures` (0 or 1).
//! Nothing secret: the line holds the type, step, outcome, error type and duration only.
//! `EMIT_METRICS=false` turns it off.

use serde_json::json;

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "SecretsRotation";

/// What one invocation did, for its metrics line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvocationMetrics<'a> {
    /// `ROTATION_TYPE` (the template sets the `rotationType`).
    pub rotation_type: &'a str,
    /// The step, as the event names it (`unknown` for an event that does not parse).
    pub step: &'a str,
    /// The outcome (`done`, `skipped-already-current`, ..., or `error`).
    pub outcome: &'a str,
    /// The `errorType` of a failure.
    pub error_type: Option<&'a str>,
    /// How long the invocation took, in milliseconds.
    pub duration_ms: f64,
}

impl InvocationMetrics<'_> {
    /// The EMF line, stamped `timestamp_ms` (milliseconds since the Unix epoch).
    pub fn emf_line(&self, timestamp_ms: u64) -> String {
        let failed = self.error_type.is_some();
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["RotationType", "Step"], ["RotationType", "ErrorType"]],
                    "Metrics": [
                        {"Name": "Duration", "Unit": "Milliseconds"},
                        {"Name": "Successes", "Unit": "Count"},
                        {"Name": "Failures", "Unit": "Count"}
                    ]
                }]
            },
            "RotationType": self.rotation_type,
            "Step": self.step,
            "ErrorType": self.error_type.unwrap_or("None"),
            "Outcome": self.outcome,
            "Duration": self.duration_ms,
            "Successes": u8::from(!failed),
            "Failures": u8::from(failed),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line");
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_failure_is_one_emf_line_with_its_error_type_as_a_dimension() {
        let m = InvocationMetrics {
            rotation_type: "PostgreSQLSingleUser",
            step: "setSecret",
            outcome: "error",
            error_type: Some("AuthenticationFailed"),
            duration_ms: 12.5,
        };
        let v = parse(&m.emf_line(1_764_000_000_000));
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_764_000_000_000u64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        // Every dimension and metric named in the directive is a member of the line, as EMF
        // requires (CloudWatch drops the line otherwise).
        for set in directive["Dimensions"].as_array().unwrap() {
            for d in set.as_array().unwrap() {
                assert!(v[d.as_str().unwrap()].is_string(), "{d}");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(v[metric["Name"].as_str().unwrap()].is_number(), "{metric}");
        }
        assert_eq!(
            (
                v["ErrorType"].as_str(),
                v["Failures"].as_u64(),
                v["Successes"].as_u64()
            ),
            (Some("AuthenticationFailed"), Some(1), Some(0))
        );
        assert_eq!(v["Duration"], 12.5);
    }

    #[test]
    fn a_success_counts_one_success_and_error_type_none() {
        let m = InvocationMetrics {
            rotation_type: "Generic",
            step: "finishSecret",
            outcome: "done",
            error_type: None,
            duration_ms: 3.0,
        };
        let v = parse(&m.emf_line(1));
        assert_eq!(
            (
                v["ErrorType"].as_str(),
                v["Failures"].as_u64(),
                v["Successes"].as_u64()
            ),
            (Some("None"), Some(0), Some(1))
        );
        assert_eq!(v["Outcome"], "done");
    }
}
