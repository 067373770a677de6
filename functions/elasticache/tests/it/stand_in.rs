//! The sandbox's ElastiCache (`scripts/moto_server.py`) as a stand-in that can disagree with the
//! function: it records the fields of every ModifyUser request it receives and refuses those it
//! does not model (`NotModeledByTheSandbox`), and it judges passwords by ElastiCache's documented
//! rule (`scripts/elasticache_password_rule.json`, which cites the pages), the same data these
//! tests check the function against, never the function's own constants. Last, the calibration
//! script that compares the stand-in with the real API runs here, unchanged, against the sandbox.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::testbed::Bed;
use aws_sdk_elasticache::error::ProvideErrorMetadata;
use aws_sdk_elasticache::types::{AuthenticationMode, InputAuthenticationType};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::{PasswordPolicy, Step};
use rotation_elasticache::{check_policy, PASSWORD_DEFAULTS, REFUSED_CHARACTERS};
use rotation_testkit::{sandbox_var, unique, Moto, SANDBOX_CERTIFICATE_NAME};
use serde_json::{json, Value};

/// ElastiCache's password rule for RBAC users, as documented (the file's `sources`: the user
/// guide's Role-Based Access Control page, "Passwords must be 16-128 printable characters" and
/// "The following nonalphanumeric characters are not allowed: , "" / @", and the API reference's
/// ModifyUser and CreateUser, "You are allowed up to two"). Read from the file the sandbox's
/// ModifyUser reads.
#[derive(Debug)]
struct DocumentedRule {
    length: RangeInclusive<usize>,
    printable: RangeInclusive<u32>,
    excluded: Vec<char>,
    passwords: RangeInclusive<usize>,
}

impl DocumentedRule {
    fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/elasticache_password_rule.json"
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("the rule file"))
            .expect("the rule file is JSON");
        let n = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("{k} in the rule file")) as usize
        };
        let sources = v["sources"].to_string();
        assert!(
            sources.contains("docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html"),
            "the rule cites the ElastiCache user guide"
        );
        Self {
            length: n("min_length")..=n("max_length"),
            printable: n("printable_first") as u32..=n("printable_last") as u32,
            excluded: v["excluded"]
                .as_array()
                .expect("excluded")
                .iter()
                .map(|c| c.as_str().and_then(|s| s.chars().next()).expect("a char"))
                .collect(),
            passwords: n("min_passwords")..=n("max_passwords"),
        }
    }

    /// True when the documented rule allows `password`.
    fn allows(&self, password: &str) -> bool {
        self.length.contains(&password.chars().count())
            && password
                .chars()
                .all(|c| self.printable.contains(&(c as u32)) && !self.excluded.contains(&c))
    }
}

/// One ModifyUser request as the stand-in recorded it.
#[derive(Debug, PartialEq, Eq)]
struct Call {
    fields: Vec<String>,
    password_count: u64,
    error: Option<String>,
}

/// The ModifyUser requests the stand-in received for `user_id`, in order.
async fn modify_user_calls(user_id: &str) -> Vec<Call> {
    let (status, body) = Moto::from_env()
        .request(
            "GET",
            &format!("/moto-api/sandbox/elasticache/modify-user?user_id={user_id}"),
            None,
            "application/json",
            "",
        )
        .await
        .expect("the stand-in answers");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| Call {
            fields: c["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .map(|f| f.as_str().expect("a name").to_string())
                .collect(),
            password_count: c["password_count"].as_u64().expect("a count"),
            error: c["error"].as_str().map(str::to_string),
        })
        .collect()
}

fn user_id(user_arn: &str) -> &str {
    user_arn.rsplit(':').next().expect("an ARN")
}

/// Waits (briefly: the sandbox settles in 0.3 s) until DescribeUsers says `active`.
async fn until_active(bed: &Bed, id: &str) {
    for _ in 0..50 {
        let out = bed.ec.describe_users().user_id(id).send().await.unwrap();
        if out.users()[0].status() == Some("active") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("user {id} never active again");
}

/// The fields the function means to send: the user and its passwords, nothing that changes
/// permissions or the authentication mode.
const MEANT: [&str; 2] = ["Passwords", "UserId"];

#[tokio::test]
async fn a_rotation_sends_modify_user_with_exactly_user_id_and_passwords() {
    let bed = Bed::new().await;
    for endpoint in [true, false] {
        let (_, user_arn, arn) = bed
            .user_with_secret("fields", "Initial-Pa55word-0001", endpoint)
            .await;
        for round in 1..=2 {
            let run = bed.rotate(&arn).await;
            assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        }
        bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
        bed.stage_logs_in(&arn, AWSPREVIOUS).await.unwrap();
        let calls = modify_user_calls(user_id(&user_arn)).await;
        // One per setSecret; without an endpoint finishSecret's guard sets the pair again.
        assert_eq!(calls.len(), if endpoint { 2 } else { 4 }, "{calls:?}");
        for call in &calls {
            assert_eq!(
                call,
                &Call {
                    fields: MEANT.map(String::from).to_vec(),
                    password_count: 2,
                    error: None,
                },
                "endpoint {endpoint}"
            );
        }
    }
}

/// The guard behind the test above: a request with any ModifyUser field the stand-in does not
/// model is refused (the test above would see the error, and the field in the record), never
/// accepted with the field dropped; the user keeps its passwords.
#[tokio::test]
async fn the_stand_in_refuses_every_modify_user_field_it_does_not_model() {
    let bed = Bed::new().await;
    let (name, user_arn) = bed.user("unmodeled", "Initial-Pa55word-0001").await;
    let id = user_id(&user_arn).to_string();
    let passwords = || Some(vec!["Another-Pa55word-0002".to_string()]);
    let mode = AuthenticationMode::builder()
        .r#type(InputAuthenticationType::Password)
        .passwords("Another-Pa55word-0002")
        .build();
    let requests = [
        (
            "AccessString",
            bed.ec.modify_user().access_string("on ~* +@all"),
        ),
        (
            "AppendAccessString",
            bed.ec.modify_user().append_access_string("+@admin"),
        ),
        (
            "NoPasswordRequired",
            bed.ec.modify_user().no_password_required(false),
        ),
        ("Engine", bed.ec.modify_user().engine("redis")),
        (
            "AuthenticationMode.Type",
            bed.ec.modify_user().authentication_mode(mode),
        ),
    ];
    for (field, request) in requests {
        let err = request
            .user_id(&id)
            .set_passwords(passwords())
            .send()
            .await
            .expect_err(field);
        assert_eq!(
            err.code(),
            Some("NotModeledByTheSandbox"),
            "{field}: {err:?}"
        );
        let message = err.message().unwrap_or_default();
        let top = field.split('.').next().unwrap();
        assert!(message.contains(top), "{field}: {message}");
        assert!(!message.contains("Another-Pa55word"), "{message}");
        let last = modify_user_calls(&id).await.pop().expect("recorded");
        assert!(last.fields.iter().any(|f| f == field), "{field}: {last:?}");
        assert_eq!(last.error.as_deref(), Some("NotModeledByTheSandbox"));
    }
    bed.redis.login(&name, "Initial-Pa55word-0001").unwrap();
    assert_eq!(
        bed.redis.login(&name, "Another-Pa55word-0002"),
        Err("WRONGPASS".into())
    );
}

/// The function's password rule against the documented one: it must never generate or send a
/// password the documented rule refuses (it may be stricter: it refuses a space, which the
/// statement does not name). Before this test the function let `,` through: its default
/// EXCLUDE_CHARACTERS (`/@"'\`) generated a comma in about 3 passwords in 10 (32 characters
/// drawn from 89).
#[test]
fn the_functions_password_rule_keeps_to_the_documented_one() {
    let rule = DocumentedRule::load();
    for c in &rule.excluded {
        assert!(
            REFUSED_CHARACTERS.contains(*c),
            "the function lets {c:?} through"
        );
        assert!(
            PASSWORD_DEFAULTS.exclude_characters.contains(*c),
            "the default policy can generate {c:?}"
        );
    }
    let policy = |vars: Vec<(&str, String)>| {
        PasswordPolicy::from_lookup(PASSWORD_DEFAULTS, move |k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
    };
    let (min, max) = (*rule.length.start(), *rule.length.end());
    for (length, ok) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
        let result = check_policy(&policy(vec![("PASSWORD_LENGTH", length.to_string())]));
        assert_eq!(result.is_ok(), ok, "PASSWORD_LENGTH {length}");
    }
    // An EXCLUDE_CHARACTERS without any one of the documented characters stops start-up.
    for missing in &rule.excluded {
        let exclude: String = rule.excluded.iter().filter(|c| *c != missing).collect();
        let err = check_policy(&policy(vec![("EXCLUDE_CHARACTERS", exclude)]))
            .expect_err("a policy that can generate a refused character");
        assert_eq!(err.error_type(), "ConfigurationError");
    }
    check_policy(&policy(vec![(
        "EXCLUDE_CHARACTERS",
        rule.excluded.iter().collect(),
    )]))
    .unwrap();
}

/// A pending password the documented rule refuses (a comma, here) is refused by setSecret
/// before any ModifyUser: the stand-in records no call, and the user keeps its password.
/// Before the fix the function sent it, and the stand-in answered InvalidParameterValue
/// (`ElastiCacheApiError`).
#[tokio::test]
async fn a_pending_password_elasticache_refuses_is_never_sent() {
    let bed = Bed::new().await;
    let rule = DocumentedRule::load();
    let (name, user_arn, arn) = bed
        .user_with_secret("comma", "Initial-Pa55word-0001", true)
        .await;
    for c in &rule.excluded {
        let token = bed.start_and_create(&arn).await;
        let refused = format!("Pending{c}Pa55word-000001");
        assert!(!rule.allows(&refused));
        let tampered = bed
            .tamper_pending(&arn, &token, "password", json!(refused))
            .await;
        let err = bed
            .fails_changing_no_label(&arn, &tampered, Step::Set)
            .await;
        assert!(
            err.starts_with("SetSecretFailed: ") && err.contains("ElastiCache would refuse"),
            "{c:?}: {err}"
        );
        assert!(!err.contains(&refused), "{err}");
        assert_eq!(modify_user_calls(user_id(&user_arn)).await, vec![], "{c:?}");
        bed.redis.login(&name, "Initial-Pa55word-0001").unwrap();
        // Start the next rotation afresh (the tampered one stays pending otherwise).
        bed.driver
            .client()
            .update_secret_version_stage()
            .secret_id(&arn)
            .version_stage(rotation_core::labels::AWSPENDING)
            .remove_from_version_id(&tampered)
            .send()
            .await
            .unwrap();
    }
}

/// The stand-in's password check is the documented rule: it accepts the rule's edges and
/// refuses each thing the rule refuses, with InvalidParameterValue, as the service answers.
#[tokio::test]
async fn the_stand_in_judges_passwords_by_the_documented_rule() {
    let bed = Bed::new().await;
    let rule = DocumentedRule::load();
    let (_, user_arn) = bed.user("rule", "Initial-Pa55word-0001").await;
    let id = user_id(&user_arn).to_string();
    let (min, max) = (*rule.length.start(), *rule.length.end());
    // Every printable character the rule allows, and its shortest and longest lengths.
    let allowed: String = (*rule.printable.start()..=*rule.printable.end())
        .filter_map(char::from_u32)
        .filter(|c| !rule.excluded.contains(c))
        .collect();
    let accepted = vec![
        vec![allowed[..min].to_string()],
        vec![allowed.chars().cycle().take(max).collect::<String>()],
        vec![
            allowed[allowed.len() - min..].to_string(),
            allowed[..min].to_string(),
        ],
    ];
    let mut refused: Vec<Vec<String>> = rule
        .excluded
        .iter()
        .map(|c| vec![format!("{}{c}", &allowed[..min])])
        .collect();
    refused.push(vec![allowed[..min - 1].to_string()]);
    refused.push(vec![allowed.chars().cycle().take(max + 1).collect()]);
    refused.push(vec![format!("{}\t", &allowed[..min])]);
    refused.push(vec![format!("{}é", &allowed[..min])]);
    let too_many = *rule.passwords.end() + 1;
    refused.push(
        (0..too_many)
            .map(|i| format!("{}{i}", &allowed[..min]))
            .collect(),
    );
    for passwords in accepted {
        assert!(passwords.iter().all(|p| rule.allows(p)));
        bed.ec
            .modify_user()
            .user_id(&id)
            .set_passwords(Some(passwords.clone()))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{:?}: {e:?}",
                    passwords.iter().map(String::len).collect::<Vec<_>>()
                )
            });
        until_active(&bed, &id).await;
    }
    for passwords in refused {
        let err = bed
            .ec
            .modify_user()
            .user_id(&id)
            .set_passwords(Some(passwords.clone()))
            .send()
            .await
            .expect_err("refused by the documented rule");
        assert_eq!(
            err.code(),
            Some("InvalidParameterValue"),
            "{:?}: {err:?}",
            passwords
                .iter()
                .map(|p| p.chars().count())
                .collect::<Vec<_>>()
        );
    }
}

/// `scripts/elasticache_calibrate.py`, as a deployer runs it against the real API, runs here
/// against the sandbox: a scratch user in a group, the function's ModifyUser sequence with AUTH
/// checked by redis-cli after each, the documented rule's edges probed, the user deleted.
#[tokio::test]
async fn the_calibration_script_passes_against_the_sandbox() {
    let bed = Bed::new().await;
    let group = format!("calib-group-{}", unique().to_lowercase());
    bed.ec
        .create_user_group()
        .user_group_id(&group)
        .engine("redis")
        .send()
        .await
        .expect("CreateUserGroup on the sandbox");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/elasticache_calibrate.py"
    );
    let endpoint = Moto::from_env().endpoint().to_string();
    let out = tokio::process::Command::new(sandbox_var("SANDBOX_PYTHON"))
        .arg(script)
        .args(["--user-group", &group, "--region", rotation_testkit::REGION])
        .args(["--endpoint-url", endpoint.as_str()])
        .args(["--redis-host", "127.0.0.1"])
        .args(["--redis-port", &bed.redis.port.to_string()])
        .args(["--redis-ca", bed.redis.ca.as_str()])
        .args(["--redis-sni", SANDBOX_CERTIFICATE_NAME])
        .args(["--interval", "0.1", "--probe-rules"])
        .output()
        .await
        .expect("the tools venv's python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().last(),
        Some("calibration: 32 checks passed"),
        "{stdout}"
    );
    for seen in [
        "modifying -> active",
        "AUTH with P0 refused",
        "deleting -> gone",
    ] {
        assert!(stdout.contains(seen), "{seen}: {stdout}");
    }
    let users = bed.ec.describe_users().send().await.unwrap();
    assert!(
        users
            .users()
            .iter()
            .all(|u| !u.user_id().unwrap_or_default().starts_with("calib-")
                || u.status() == Some("deleting")),
        "the scratch user is deleted"
    );
}
