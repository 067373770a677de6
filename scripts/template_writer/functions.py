"""Globals (what every function shares), the rotation functions, their invoke permissions and
the alarm on their errors."""
from ruamel.yaml.comments import CommentedMap

from .emit import block_fn, comment, flow, fn, get_att, no_value, prose, ref
from .role import master_secret_arns
from .rotation_types import is_stack

# The environment every function gets, from the parameters of the same meaning.
SHARED_ENVIRONMENT = {
    "SECRETS_MANAGER_ENDPOINT": "endpoint",
    "EXCLUDE_CHARACTERS": "excludeCharacters",
    "PASSWORD_LENGTH": "passwordLength",
    "EXCLUDE_NUMBERS": "excludeNumbers",
    "EXCLUDE_PUNCTUATION": "excludePunctuation",
    "EXCLUDE_UPPERCASE": "excludeUppercase",
    "EXCLUDE_LOWERCASE": "excludeLowercase",
    "REQUIRE_EACH_INCLUDED_TYPE": "requireEachIncludedType",
    "RUST_LOG": "logLevel",
    "EMIT_METRICS": "emitMetrics",
}

# The checkov findings that do not apply to a rotation function, each with its reason.
CHECKOV_SKIPS = [
    ("CKV_AWS_116",
     "Secrets Manager invokes rotation functions synchronously; a dead-letter queue only receives "
     "failed asynchronous invocations, so it would never be used. A failed step is retried by "
     "Secrets Manager and reported in the secret's rotation status."),
    ("CKV_AWS_115",
     "Reserved concurrency would take capacity from the account and, set low, throttle rotations "
     "of different secrets; every step is idempotent and safe to run twice at once, so no limit "
     "is needed for correctness."),
    ("CKV_AWS_173",
     "The environment holds no secret (endpoint, password-policy knobs, log level, public CA "
     "certificates); Lambda encrypts it at rest with its service key. A customer key would add a "
     "KMS call to every cold start and a key policy to every deployment."),
]


def globals_section():
    """The Globals section: runtime, architecture, sizing, VPC and the shared environment."""
    function = CommentedMap()
    function["Runtime"] = fn("If", "UseAl2", ref("runtime"), "provided.al2023")
    comment(function, "Runtime",
            "provided.al2 when asked for by name; every other value (provided.al2023, python3.x)\n"
            "means provided.al2023.", 4)
    function["Architectures"] = flow(ref("architecture"))
    function["Handler"] = "bootstrap"
    function["MemorySize"] = ref("memorySize")
    function["Timeout"] = ref("timeout")
    function["VpcConfig"] = block_fn(
        "If", "HasVpc",
        {"SubnetIds": ref("vpcSubnetIds"), "SecurityGroupIds": ref("vpcSecurityGroupIds")},
        no_value())
    function["Environment"] = {"Variables": {var: ref(param) for var, param in SHARED_ENVIRONMENT.items()}}
    return {"Function": function}


def environment(t):
    """A type's own environment variables (beside the shared ones in Globals)."""
    env = {"ROTATION_TYPE": t["name"]}
    if t["strategy"]:
        env["ROTATION_STRATEGY"] = t["strategy"]
    # Every function's AWS API clients read it; database and cache connections too.
    env["EXTRA_CA_CERTS"] = ref("extraCaCertificates")
    if t["plaintext_fallback"]:
        env["ALLOW_PLAINTEXT_FALLBACK"] = ref("allowPlaintextFallback")
    for var, param in t["env"].items():
        env[var] = ref(param)
    if t["superuser"]:
        # The superuser secrets the function may use: full ARNs, comma-separated.
        env["MASTER_SECRET_ARNS"] = fn("If", "HasAdditionalMasterSecrets", master_secret_arns(), ref("masterSecretArn"))
    if t["elasticache"]:
        env["ELASTICACHE_USER_ARNS"] = fn("Join", ",", ref("elastiCacheUserArns"))
        env["SECRET_ARN"] = ref("secretArn")
    if t["rds_api"]:
        env["AWS_ENDPOINT_URL_RDS"] = fn("If", "HasRdsEndpoint", ref("rdsEndpoint"), no_value())
        env["VERIFY_RDS_IDENTIFIERS"] = ref("verifyRdsIdentifiers")
    return env


def function(t, types, code_prefix):
    """A type's function resource (behind its Is<type> condition in the one-stack template).
    code_prefix leads from the template's directory to the repository root."""
    condition = {"Condition": f"Is{t['name']}"} if is_stack(types) else {}
    return {
        "Type": "AWS::Serverless::Function",
        **condition,
        "Metadata": {
            "BuildMethod": "rust-cargolambda",
            "BuildProperties": {"Binary": t["binary"]},
            "checkov": {"skip": [{"id": check, "comment": prose(reason, width=80)} for check, reason in CHECKOV_SKIPS]},
        },
        "Properties": {
            "FunctionName": ref("functionName"),
            "Role": fn("If", "HasRole", ref("roleArn"), get_att("RotationFunctionRole.Arn")),
            "Description": prose(f"Conducts a Secrets Manager secret rotation for {t['subject']}, in Rust."),
            "CodeUri": f"{code_prefix}functions/{t['crate']}",
            "Environment": {"Variables": environment(t)},
        },
    }


def permission(t, types):
    """The permission for the invoking service (Secrets Manager) to call a type's function."""
    if is_stack(types):
        return f"{t['sar_app']}InvokePermission", {
            "Type": "AWS::Lambda::Permission",
            "Condition": f"Is{t['name']}",
            "Properties": permission_properties(t),
        }
    return "RotationFunctionInvokePermission", {
        "Type": "AWS::Lambda::Permission",
        "Properties": permission_properties(t),
    }


def permission_properties(t):
    """An invoke permission's properties: the invoking service, from this account only."""
    return {
        "FunctionName": get_att(f"{t['sar_app']}.Arn"),
        "Action": "lambda:InvokeFunction",
        "Principal": ref("invokingServicePrincipal"),
        "SourceAccount": ref("AWS::AccountId"),
    }


def errors_alarm():
    """With alarmTopicArn: this function's errors go to the topic. Secrets Manager's rotation
    failure events cover every secret of the account and region, so their rule is not here (one
    per stack would send one alert per stack for each failure) but in the alerts template."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Condition": "HasAlarmTopic",
        "Properties": {
            "AlarmDescription": "The rotation function answered an invocation with an error (see its log group).",
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": ref("functionName")}],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": flow(ref("alarmTopicArn")),
        },
    }
