"""The Parameters section: every parameter the SAR apps take (same names, same meaning) and this
project's own, each in the templates of the types it applies to."""
from .emit import flow, prose, quoted
from .rotation_types import ELASTICACHE_USER_ARN, SECRET_ARN, is_stack

# The parameters, in order: (name, applies_to, fields). applies_to: "all", "plaintext_fallback",
# "master" (types with master_params), "superuser" (multi-user types), "rds_api",
# "elasticache", "env" (only types whose env names it), or "stack" (the one-stack template only).
# Fields of None are chosen by special_parameter() for the types in the template.
PARAMETERS = [
    ("rotationType", "stack", None),
    ("endpoint", "all", {
        "Type": "String",
        "Default": "",
        "Description": "The Secrets Manager endpoint to use (as in the SAR apps). Empty: the "
                       "regional endpoint.",
    }),
    ("functionName", "all", {
        "Type": "String",
        "Description": "The name of the Lambda function.",
    }),
    ("invokingServicePrincipal", "all", {
        "Type": "String",
        "Default": "secretsmanager.amazonaws.com",
        "Description": "The service principal for the invoking service.",
    }),
    ("vpcSubnetIds", "all", {
        "Type": "CommaDelimitedList",
        "Default": "",
        "Description": "A comma-separated list of VPC subnet IDs applied to the database network.",
    }),
    ("vpcSecurityGroupIds", "all", {
        "Type": "CommaDelimitedList",
        "Default": "",
        "Description": "A comma-separated list of security group IDs applied to the database.",
    }),
    ("kmsKeyArn", "all", {
        "Type": "String",
        "Default": "",
        "Description": "The ARN of the KMS key that Secrets Manager uses to encrypt the secret.",
    }),
    ("excludeCharacters", "all", None),
    ("masterSecretArn", "master", None),
    ("additionalMasterSecretArns", "superuser", {
        "Type": "CommaDelimitedList",
        "Default": "",
        "AllowedPattern": f"^({SECRET_ARN})?$",
        "ConstraintDescription": "each entry must be a full Secrets Manager secret ARN (with its "
                                 "six-character suffix).",
        "Description": "Multi-user types: more superuser secrets this function may use, for a "
                       "stack that deliberately serves several superusers (full ARNs, "
                       "comma-separated). The function is told masterSecretArn and these "
                       "(MASTER_SECRET_ARNS) as the superuser secrets it may use; the role may "
                       "read and describe each of them. masterSecretKmsKeyArn names one key: a "
                       "secret here under another customer key needs that key's grant too "
                       "(roleArn).",
    }),
    ("masterSecretKmsKeyArn", "master", None),
    ("extraCaCertificates", "all", {
        "Type": "String",
        "Default": "",
        "Description": "Extra trusted CA certificates, PEM text or the path of a PEM file, e.g. "
                       "in a Lambda layer (/opt/certs/ca.pem): Lambda limits all environment "
                       "variables together to 4 KB. The AWS API clients (Secrets Manager, and "
                       "RDS, Redshift or ElastiCache where used) trust them beside the Amazon "
                       "roots compiled in: a TLS-inspecting proxy's or a private endpoint's CA. "
                       "Database and ElastiCache connections trust them beside the OS and "
                       "Mozilla roots and the RDS CA bundle, e.g. your RDS region's CA.",
    }),
    ("allowPlaintextFallback", "plaintext_fallback", {
        "Type": "String",
        "Default": "false",
        "AllowedValues": ["true", "false"],
        "Description": "PostgreSQL, MySQL, MariaDB and Redshift functions: when a secret has no "
                       "ssl key and the server answers that it has no TLS, connect without TLS "
                       "(logged as a warning). That answer can be forged by anyone on the network"
                       " path, so the default is false (TLS required). Never applies to the "
                       "superuser secret or to RDS and Redshift hosts. (The DocumentDB / MongoDB "
                       "function never falls back to plaintext and has no such parameter.)",
    }),
    ("rdsEndpoint", "rds_api", {
        "Type": "String",
        "Default": "",
        "Description": "RDS multi-user types (PostgreSQL, MySQL, MariaDB): the RDS API endpoint "
                       "(AWS_ENDPOINT_URL_RDS), e.g. an interface VPC endpoint's URL. Empty: the "
                       "regional endpoint, and the variable is not set at all. The function calls"
                       " the RDS API only for RDS-managed master secrets, replica or reader "
                       "hosts, and host checks.",
    }),
    ("verifyRdsIdentifiers", "rds_api", {
        "Type": "String",
        "Default": "true",
        "AllowedValues": ["true", "false"],
        "Description": "RDS multi-user types: when a secret has dbInstanceIdentifier or "
                       "dbClusterIdentifier, check with the RDS API that host really is that "
                       "instance's or cluster's endpoint before the superuser is used. Turn off "
                       "only if the function cannot reach the RDS API.",
    }),
    ("allowEngineKey", "env", {
        "Type": "String",
        "Default": "false",
        "AllowedValues": ["true", "false"],
        "Description": "Generic only: rotate secrets that have an engine key. By default the "
                       "generic function refuses them, because changing a database secret's "
                       "password without changing the database's locks every client out.",
    }),
    ("cloneActsAsOriginal", "env", {
        "Type": "String",
        "Default": "false",
        "AllowedValues": ["true", "false"],
        "Description": "PostgreSQL multi-user: sessions of the _clone user act as the original "
                       "role, so objects either creates have one owner.",
    }),
    ("usernameCharacterLimit", "env", {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^([1-9][0-9]*)?$",
        "Description": "MySQL and MariaDB multi-user: USERNAME_CHARACTER_LIMIT, a stricter limit "
                       "on the _clone user name than the server's (empty: the server's, MySQL 32 "
                       "and MariaDB 80 characters). The official function reads it with a default"
                       " of 16.",
    }),
    ("allowPasswordInServerLog", "env", {
        "Type": "String",
        "Default": "false",
        "AllowedValues": ["true", "false"],
        "Description": "MySQL and MariaDB: ALLOW_PASSWORD_IN_SERVER_LOG, send a new password as "
                       "plaintext even when a server log would record it (the general query log "
                       "of a session that cannot set sql_log_off, or the server_audit plugin). It"
                       " matters only where the server refuses hashed passwords (MariaDB with a "
                       "strict password-validation plugin) or takes only plaintext (MySQL single "
                       "user, caching_sha2 accounts). Default false: such a rotation fails with "
                       "PasswordWouldBeLogged and changes nothing; true: it rotates and that log "
                       "holds the password.",
    }),
    ("maxWaitingTimeForActiveInSeconds", "env", {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^([1-9][0-9]*)?$",
        "Description": "ElastiCache: MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS, how long a step "
                       "waits for the user to be active (empty: 15, inside the default 30 s "
                       "timeout; at most 840). A step that waits in vain fails with "
                       "ServiceNotReady and Secrets Manager retries it.",
    }),
    ("waitingRetryIntervalInSeconds", "env", {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^([1-9][0-9]*)?$",
        "Description": "ElastiCache: WAITING_RETRY_INTERVAL_IN_SECONDS, seconds between two "
                       "DescribeUsers calls while waiting (empty: 2).",
    }),
    ("userName", "env", {
        "Type": "String",
        "Default": "",
        "Description": "ElastiCache: USER_NAME, when set the only user name this function rotates"
                       " (as the official function checks it); a secret for another user is "
                       "refused.",
    }),
    ("elastiCacheUserArns", "elasticache", None),
    ("secretArn", "elasticache", {
        "Type": "String",
        "Default": "",
        "AllowedPattern": f"^({SECRET_ARN})?$",
        "ConstraintDescription": "a full Secrets Manager secret ARN (with its six-character "
                                 "suffix), or empty.",
        "Description": "ElastiCache: optional, the one secret this function rotates (SECRET_ARN),"
                       " as the official function is pinned to one secret. When given, the role's"
                       " Secrets Manager rights are on that secret only, and the function is told"
                       " it. Empty: any secret whose rotation names this function.",
    }),
    ("runtime", "all", {
        "Type": "String",
        "Default": "provided.al2023",
        "AllowedValues": ["provided.al2023", "provided.al2", "python3.7", "python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14"],
        "Description": "The Lambda OS-only runtime. The binary is linked against glibc 2.26, so "
                       "one artifact runs on both Amazon Linux runtimes; provided.al2's lifecycle"
                       " dates are in Lambda's runtime table "
                       "(docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). The "
                       "python3.x values that the SAR apps and HostedRotationLambda take are "
                       "accepted and mean provided.al2023.",
    }),
    ("architecture", "all", {
        "Type": "String",
        "Default": "x86_64",
        "AllowedValues": ["x86_64"],
        "Description": "Instruction set. Only x86_64 binaries are built and tested; arm64 cannot "
                       "be built on this project's build machines, so it is not offered.",
    }),
    ("memorySize", "all", {
        "Type": "Number",
        "Default": 128,
        "MinValue": 128,
        "MaxValue": 10240,
        "Description": "Memory of the function in MB. 128 is plenty (peak RSS is under 10 MB); "
                       "more memory also means more CPU, which shortens TLS handshakes and "
                       "password hashing a little.",
    }),
    ("timeout", "all", {
        "Type": "Number",
        "Default": 30,
        "MinValue": 15,
        "MaxValue": 900,
        "Description": "Function timeout in seconds. The default leaves room for the slowest "
                       "step: a 5 s database connect timeout per login, 10 s statement limits, "
                       "and finishSecret's verification login, with Secrets Manager retrying a "
                       "failed step.",
    }),
    ("passwordLength", "all", {
        "Type": "String",
        "Default": "",
        "Description": "PASSWORD_LENGTH (empty = 32).",
    }),
    ("excludeNumbers", "all", {
        "Type": "String",
        "Default": "",
        "AllowedValues": ["", "true", "false"],
        "Description": "EXCLUDE_NUMBERS (empty = false).",
    }),
    ("excludePunctuation", "all", {
        "Type": "String",
        "Default": "",
        "AllowedValues": ["", "true", "false"],
        "Description": "EXCLUDE_PUNCTUATION (empty = false).",
    }),
    ("excludeUppercase", "all", {
        "Type": "String",
        "Default": "",
        "AllowedValues": ["", "true", "false"],
        "Description": "EXCLUDE_UPPERCASE (empty = false).",
    }),
    ("excludeLowercase", "all", {
        "Type": "String",
        "Default": "",
        "AllowedValues": ["", "true", "false"],
        "Description": "EXCLUDE_LOWERCASE (empty = false).",
    }),
    ("requireEachIncludedType", "all", {
        "Type": "String",
        "Default": "",
        "AllowedValues": ["", "true", "false"],
        "Description": "REQUIRE_EACH_INCLUDED_TYPE (empty = true).",
    }),
    ("logLevel", "all", {
        "Type": "String",
        "Default": "",
        "AllowedValues": ["", "error", "warn", "info", "debug", "trace"],
        "Description": "RUST_LOG, the level of the JSON logs (no level ever logs a secret value)."
                       " Empty: the function follows Lambda's own application log level "
                       "(AWS_LAMBDA_LOG_LEVEL, set when the function's logging configuration uses"
                       " the JSON format with an application log level), and otherwise info.",
    }),
    ("emitMetrics", "all", {
        "Type": "String",
        "Default": "true",
        "AllowedValues": ["true", "false"],
        "Description": "EMIT_METRICS: one CloudWatch embedded-metric-format line per invocation "
                       "(namespace SecretsRotation: Duration, Successes, Failures by rotation "
                       "type and step, and by errorType). No API call or permission is needed; "
                       "false turns it off.",
    }),
    ("alarmTopicArn", "all", {
        "Type": "String",
        "Default": "",
        "Description": "Optional: an SNS topic to notify when this function answers an invocation"
                       " with an error (a CloudWatch alarm on its Errors; the topic's policy must"
                       " let cloudwatch.amazonaws.com publish). Secrets Manager's RotationFailed "
                       "/ RotationAbandoned events of the whole account and region are alerted "
                       "once, by packaging/alerts/SecretsManagerRotationAlerts.yaml (deploy it "
                       "once per account and region), not by every rotation stack.",
    }),
    ("roleArn", "all", {
        "Type": "String",
        "Default": "",
        "Description": "An existing execution role to use instead of the one this template "
                       "creates.",
    }),
    ("permissionsBoundaryArn", "all", {
        "Type": "String",
        "Default": "",
        "Description": "A permissions boundary for the role this template creates.",
    }),
]

# The order of a parameter's fields in the template.
FIELD_ORDER = ["Type", "Default", "AllowedValues", "AllowedPattern", "MinValue", "MaxValue",
               "ConstraintDescription", "Description"]


def exclude_defaults(types):
    """Each type's EXCLUDE_CHARACTERS default with the engines that have it, in list order:
    `/@"'\\ generic, MySQL and MariaDB; ...` (a trailing space is spelled out)."""
    groups = {}
    for t in types:
        labels = groups.setdefault(t["exclude"], [])
        if t["label"] not in labels:
            labels.append(t["label"])
    parts = []
    for chars, labels in groups.items():
        shown = chars.rstrip(" ") + (" and space" if chars.endswith(" ") else "")
        names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        parts.append(f"{shown} {names}")
    return "; ".join(parts)


def applies(scope, name, types):
    """Whether parameter `name` with `scope` belongs in a template covering `types`."""
    if scope == "all":
        return True
    if scope == "stack":
        return is_stack(types)
    if scope in ("elasticache", "plaintext_fallback", "superuser", "rds_api"):
        return any(t[scope] for t in types)
    if scope == "master":
        return any(t["master_params"] for t in types)
    if scope == "env":
        return any(name in t["env"].values() for t in types)
    raise ValueError(scope)


def parameter(fields):
    """One parameter's mapping: its fields in FIELD_ORDER, AllowedValues as a flow list,
    the Description as prose."""
    unknown = set(fields) - set(FIELD_ORDER)
    if unknown:
        raise ValueError(f"unknown parameter fields {sorted(unknown)}")
    out = {}
    for field in FIELD_ORDER:
        if field not in fields:
            continue
        value = fields[field]
        if field == "AllowedValues":
            value = flow(*value)
        elif field == "Description":
            value = prose(value)
        out[field] = value
    return out


def parameters(types):
    """The Parameters section of a template covering `types`."""
    out = {}
    for name, scope, fields in PARAMETERS:
        if applies(scope, name, types):
            out[name] = parameter(fields if fields is not None else special_parameter(name, types))
    return out


def special_parameter(name, types):
    """The fields of the parameters whose text depends on the types in the template."""
    if name == "rotationType":
        return {
            "Type": "String",
            "AllowedValues": [t["name"] for t in types],
            "Description": "Required, no default: which rotation function this stack creates (the "
                           "SAR app it replaces, as in HostedRotationLambda's RotationType). "
                           "Generic rotates a JSON secret's password without touching any database.",
        }
    if name == "excludeCharacters":
        if is_stack(types):
            return {
                "Type": "String",
                "Default": "",
                "Description": "A string of the characters that you don't want in the password. "
                               f"Empty: the type's default ({exclude_defaults(types)}).",
            }
        return {
            "Type": "String",
            "Default": quoted(types[0]["exclude"]),
            "Description": "A string of the characters that you don't want in the password.",
        }
    if name in ("masterSecretArn", "masterSecretKmsKeyArn"):
        return master_parameter(name, types)
    if name == "elastiCacheUserArns":
        return elasticache_users_parameter(types)
    raise ValueError(name)


def master_parameter(name, types):
    """masterSecretArn / masterSecretKmsKeyArn: what they mean for the types in the template."""
    multi = any(t["superuser"] for t in types)
    generic = any(t["master_params"] and not t["superuser"] for t in types)
    if name == "masterSecretKmsKeyArn":
        return {
            "Type": "String",
            "Default": "",
            "Description": "Optional. The KMS key of the masterSecretArn secret (decrypt through "
                           "Secrets Manager only).",
        }
    pattern = {
        "AllowedPattern": f"^({SECRET_ARN})?$",
        "ConstraintDescription": "a full Secrets Manager secret ARN (with its six-character suffix).",
    }
    if multi and generic:
        return {
            "Type": "String",
            "Default": "",
            **pattern,
            "Description": "Multi-user types: required, the full ARN of the superuser secret that "
                           "the masterarn key of the rotated secrets names (a rule refuses the stack "
                           "without it). The role may read and describe it, and the function is told "
                           "it may use it (MASTER_SECRET_ARNS, with additionalMasterSecretArns). "
                           "Generic: optional, as in the SAR app SecretsManagerRotationTemplate; the "
                           "generic function reads no other secret, so give it only to a deployment "
                           "that was written for that app. Other types: ignored.",
        }
    if multi:
        # No default: CloudFormation (and `sam deploy --guided`) asks for it, and the rule
        # refuses an empty value.
        return {
            "Type": "String",
            **pattern,
            "Description": "Required: the full ARN of the superuser secret that the masterarn key "
                           "of the rotated secrets names. The role may read and describe it, and "
                           "the function is told it may use it (MASTER_SECRET_ARNS, with "
                           "additionalMasterSecretArns).",
        }
    return {
        "Type": "String",
        "Default": "",
        "Description": "Optional, as in the SAR app SecretsManagerRotationTemplate: a secret the "
                       "function may read. The generic function reads no secret but the one it "
                       "rotates, so leave it empty unless a deployment written for that app passes it.",
    }


def elasticache_users_parameter(types):
    """elastiCacheUserArns: required for the ElastiCache type (no default in its own template; a
    rule refuses an empty list in both)."""
    default = {"Default": ""} if is_stack(types) else {}
    return {
        "Type": "CommaDelimitedList",
        **default,
        "AllowedPattern": f"^({ELASTICACHE_USER_ARN})?$",
        "ConstraintDescription": "each entry must be an ElastiCache user ARN "
                                 "(arn:PARTITION:elasticache:REGION:ACCOUNT:user:USER_ID), no wildcard.",
        "Description": "ElastiCache: required, the ARNs of exactly the users this function may "
                       "describe and modify: the role's elasticache:DescribeUsers and ModifyUser "
                       "are on these only, and the function is told them (ELASTICACHE_USER_ARNS).",
    }
