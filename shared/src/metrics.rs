//! CloudWatch metrics in the embedded metric format (EMF): one JSON line per invocation on
//! stdout, which CloudWatch Logs turns into metrics without any API call or permission. Namespace
//! [`NAMESPACE`]; dimensions the function's name and rotation type with the step, and the
//! function's name and rotation type with the `errorType` (`None` on success), so two stacks of
//! one type keep their own figures; metrics `Duration` (ms), `Successes` and `Failures` (0 or
//! 1). The step dimension takes a fixed set of values ([`MetricStep`]): whatever an invoker
//! sends cannot create new metrics. Nothing secret: the line holds the function's name, the
//! type, step, outcome, error type and duration only. `EMIT_METRICS=false` turns it off.

use serde_json::json;

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "SecretsRotation";

/// The `Step` dimension: one of the four steps, the preflight, or `invalid` for anything else
/// an event names (a metric dimension is a new custom metric per value, so an invoker must not
/// be able to choose it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricStep {
    /// `createSecret`.
    Create,
    /// `setSecret`.
    Set,
    /// `testSecret`.
    Test,
    /// `finishSecret`.
    Finish,
    /// The preflight event.
    Preflight,
    /// A missing, empty or unknown step.
    Invalid,
}

impl MetricStep {
    /// The dimension for the event's `Step` value.
    pub fn of(step: &str) -> Self {
        match step {
            "createSecret" => Self::Create,
            "setSecret" => Self::Set,
            "testSecret" => Self::Test,
            "finishSecret" => Self::Finish,
            crate::preflight::PREFLIGHT => Self::Preflight,
            _ => Self::Invalid,
        }
    }

    /// The dimension's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
            Self::Preflight => crate::preflight::PREFLIGHT,
            Self::Invalid => "invalid",
        }
    }
}

/// What one invocation did, for its metrics line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvocationMetrics<'a> {
    /// The function's name (Lambda's `AWS_LAMBDA_FUNCTION_NAME`, through the runtime's
    /// context); `unknown` when empty (a dimension value cannot be empty).
    pub function_name: &'a str,
    /// `ROTATION_TYPE` (the template sets the `rotationType`).
    pub rotation_type: &'a str,
    /// The step.
    pub step: MetricStep,
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
                    "Dimensions": [
                        ["FunctionName", "RotationType", "Step"],
                        ["FunctionName", "RotationType", "ErrorType"]
                    ],
                    "Metrics": [
                        {"Name": "Duration", "Unit": "Milliseconds"},
                        {"Name": "Successes", "Unit": "Count"},
                        {"Name": "Failures", "Unit": "Count"}
                    ]
                }]
            },
            "FunctionName": Some(self.function_name).filter(|n| !n.is_empty()).unwrap_or("unknown"),
            "RotationType": self.rotation_type,
            "Step": self.step.as_str(),
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
            function_name: "pg-rotation",
            rotation_type: "PostgreSQLSingleUser",
            step: MetricStep::Set,
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
            function_name: "",
            rotation_type: "Generic",
            step: MetricStep::Finish,
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
        assert_eq!(
            v["FunctionName"], "unknown",
            "a dimension value is never empty"
        );
    }

    #[test]
    fn every_dimension_set_names_the_function_and_the_step_is_bounded() {
        let m = InvocationMetrics {
            function_name: "pg-rotation",
            rotation_type: "PostgreSQLSingleUser",
            step: MetricStep::of("setSecret"),
            outcome: "done",
            error_type: None,
            duration_ms: 1.0,
        };
        let v = parse(&m.emf_line(1));
        for set in v["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            .as_array()
            .unwrap()
        {
            assert!(
                set.as_array().unwrap().contains(&"FunctionName".into()),
                "{set}"
            );
        }
        assert_eq!(
            (v["FunctionName"].as_str(), v["Step"].as_str()),
            (Some("pg-rotation"), Some("setSecret"))
        );
        for step in [
            "createSecret",
            "setSecret",
            "testSecret",
            "finishSecret",
            "preflight",
        ] {
            assert_eq!(MetricStep::of(step).as_str(), step);
        }
        for invented in [
            "",
            "createsecret",
            "x\u{1b}[2J",
            "finishSecret ",
            &"a".repeat(300),
        ] {
            assert_eq!(
                MetricStep::of(invented),
                MetricStep::Invalid,
                "{invented:?}"
            );
            assert_eq!(MetricStep::of(invented).as_str(), "invalid");
        }
    }
}
