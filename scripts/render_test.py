#!/usr/bin/env python3
"""Renders every rotation type's stack offline with SAM's own translator (samtranslator, in the
tools venv) and checks what would be deployed. For each type, both template.yaml (with
rotationType) and the type's SAR-shaped template under packaging/templates/, each with the
minimal parameters (the ones the type requires) and with every optional parameter given:

  - exactly one Lambda function: the SAR app's logical ID, the type's binary, bootstrap on
    provided.al2023, ROTATION_STRATEGY and exactly the environment variables the type needs,
    with their values: MASTER_SECRET_ARNS (multi-user types only) is masterSecretArn followed by
    additionalMasterSecretArns, comma-separated; ELASTICACHE_USER_ARNS the user ARNs and
    SECRET_ARN secretArn or "" (ElastiCache only); RUST_LOG is logLevel, "" by default;
    ALLOW_PLAINTEXT_FALLBACK never on the DocumentDB/MongoDB function; no AWS_* variable (read
    by the SDK, which takes an empty value as given) is ever empty: AWS_ENDPOINT_URL_RDS is
    absent when rdsEndpoint is empty and holds it when given;
  - exactly one invoke permission, on that function, with SourceAccount;
  - the RotationLambdaARN output resolving to that function;
  - exactly the permissions the type needs and no others: Secrets Manager actions only on
    secrets that name this function (AllowRotationLambdaArn), and for ElastiCache with secretArn
    on that secret only, plus GetRandomPassword; KMS only for the given keys; the superuser
    secrets (masterSecretArn and additionalMasterSecretArns) read and described by multi-user
    types, masterSecretArn read by the generic template (as its SAR app does) only when given;
    rds:Describe* only for types that use the RDS API, the Redshift lookups only for Redshift
    multi-user, and elasticache:DescribeUsers/ModifyUser only for ElastiCache, on exactly the
    users given; the VPC config and policy only with subnets and security groups;
  - with alarmTopicArn, one CloudWatch alarm on the function's Errors and no EventBridge rule
    (the account-wide rule is in packaging/alerts/SecretsManagerRotationAlerts.yaml, checked
    here too: one rule on RotationFailed and RotationAbandoned to its required topic);
  - the template's parameter constraints and Rules accept those parameters, and refuse: one VPC
    list without the other; a multi-user type without masterSecretArn (not a single-user type),
    or with a partial ARN or an empty additional entry; ElastiCache without elastiCacheUserArns,
    with an empty entry or a wildcard ARN, or with a partial secretArn.

`render_test.py --bundle DIR` makes the same checks on a release bundle's templates
(scripts/package.sh), whose functions' code is the zip beside each.

Run with the tools venv's Python: the last line counts passes and failures.
"""
import json
import logging
import os
import re
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

logging.disable(logging.WARNING)  # samtranslator's metrics chatter
ROOT = Path(__file__).resolve().parent.parent
TYPES = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    if not ok:
        print(f"FAIL {name}: {detail}")


class NoManagedPolicies:
    def load(self):
        return {}


def render(path, params):
    """The template at `path` translated by SAM with `params`, CodeUri pointed at S3 keys named
    after each function's binary (its crate's directory holds the binary), or, in a release
    bundle's template (no build metadata), after the zip its CodeUri names."""
    template = json.loads(json.dumps(cfn_yaml.load(str(path))))
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            code_uri = resource["Properties"]["CodeUri"]
            build = resource.get("Metadata", {}).get("BuildProperties")
            if build is None:
                assert code_uri == f"{name}.zip", code_uri
                resource["Properties"]["CodeUri"] = f"s3://render/{code_uri}"
                continue
            binary = build["Binary"]
            crates = {t["binary"]: t["crate"] for t in TYPES}
            assert code_uri.rstrip("/").endswith(f"functions/{crates[binary]}"), code_uri
            resource["Properties"]["CodeUri"] = f"s3://render/{binary}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, params, NoManagedPolicies())


def resolver(template, params):
    parameters = {
        name: params.get(name, spec.get("Default", ""))
        for name, spec in template.get("Parameters", {}).items()
    }
    conditions = template.get("Conditions", {})
    cache = {}

    def condition(name):
        if name not in cache:
            cache[name] = bool(value(conditions[name]))
        return cache[name]

    def value(node):
        if isinstance(node, list):
            return [v for v in (value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                if arg in parameters:
                    p = parameters[arg]
                    kind = template["Parameters"][arg]["Type"]
                    return p.split(",") if kind == "CommaDelimitedList" else p
                return {"Ref": arg}
            if key == "Condition":
                return condition(arg)
            if key == "Fn::If":
                return value(arg[1] if condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                a, b = value(arg[0]), value(arg[1])
                return a == b
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::And":
                return all(value(a) for a in arg)
            if key == "Fn::Or":
                return any(value(a) for a in arg)
            if key == "Fn::Contains":
                return value(arg[1]) in value(arg[0])
            if key == "Fn::EachMemberEquals":
                return all(member == value(arg[1]) for member in value(arg[0]))
            if key == "Fn::Split":
                joined = value(arg[1])
                return joined.split(arg[0]) if isinstance(joined, str) else {"Fn::Split": [arg[0], joined]}
            if key == "Fn::Join":
                parts = value(arg[1])
                if all(isinstance(p, str) for p in parts):
                    return arg[0].join(parts)
                return {"Fn::Join": [arg[0], parts]}
        return {k: v for k, v in ((k, value(v)) for k, v in node.items()) if v is not NO_VALUE}

    return value, condition


NO_VALUE = object()


def rules_hold(template, params):
    """Whether every assertion of the template's Rules holds for `params` (CloudFormation refuses
    the stack before creating anything when one does not); a rule whose RuleCondition is false
    is skipped, as CloudFormation does."""
    value, _ = resolver(template, params)
    return all(
        bool(value(a["Assert"]))
        for rule in template.get("Rules", {}).values()
        if "RuleCondition" not in rule or bool(value(rule["RuleCondition"]))
        for a in rule["Assertions"]
    )


def constraints_hold(template, params):
    """Whether CloudFormation takes `params` at all: every parameter without a Default is given,
    and every value meets AllowedValues and AllowedPattern (for a CommaDelimitedList, each entry,
    space-trimmed)."""
    for name, spec in template.get("Parameters", {}).items():
        if name not in params and "Default" not in spec:
            return False
        given = str(params.get(name, spec.get("Default", "")))
        values = [v.strip() for v in given.split(",")] if spec["Type"] == "CommaDelimitedList" else [given]
        if "AllowedValues" in spec and given not in [str(v) for v in spec["AllowedValues"]]:
            return False
        if "AllowedPattern" in spec and not all(re.fullmatch(spec["AllowedPattern"], v) for v in values):
            return False
    return True


def accepted(template, params):
    return constraints_hold(template, params) and rules_hold(template, params)


def deployed(template, params):
    value, condition = resolver(template, params)
    resources = {
        name: value(r)
        for name, r in template["Resources"].items()
        if "Condition" not in r or condition(r["Condition"])
    }
    outputs = {
        name: value(o["Value"])
        for name, o in template.get("Outputs", {}).items()
        if "Condition" not in o or condition(o["Condition"])
    }
    return resources, outputs


def listed(value):
    """A comma-separated parameter value as its entries (none for "")."""
    return [v.strip() for v in value.split(",")] if value else []


def expected_statements(t, params):
    master, master_key, key = (
        params.get("masterSecretArn"),
        params.get("masterSecretKmsKeyArn"),
        params.get("kmsKeyArn"),
    )
    pinned = t["elasticache"] and params.get("secretArn")
    out = [
        (
            (
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ),
            (params["secretArn"],) if pinned else ("secret:*",),
        ),
        (("secretsmanager:GetRandomPassword",), ("*",)),
    ]
    if key:
        out.append((("kms:Decrypt", "kms:GenerateDataKey"), (key,)))
    if t["superuser"] and master:
        # Every superuser secret the function is told of: read, and described (masterarn
        # resolved to a full ARN; a managed secret's tags).
        superusers = [master] + listed(params.get("additionalMasterSecretArns", ""))
        out.append((("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"), tuple(superusers)))
    elif t["master_params"] and master:
        out.append((("secretsmanager:GetSecretValue",), (master,)))
    if t["rds_api"]:
        out.append(
            (("rds:DescribeDBClusterEndpoints", "rds:DescribeDBClusters", "rds:DescribeDBInstances"), ("*",))
        )
    if t["redshift_api"]:
        out.append(
            (("redshift-serverless:ListNamespaces", "redshift-serverless:ListWorkgroups",
              "redshift:DescribeClusters"), ("*",))
        )
    if t["elasticache"]:
        # Exactly the users given: elastiCacheUserArns is required.
        out.append(
            (("elasticache:DescribeUsers", "elasticache:ModifyUser"),
             tuple(listed(params["elastiCacheUserArns"])))
        )
    if t["master_params"] and master_key:
        out.append((("kms:Decrypt",), (master_key,)))
    return sorted(out)


def resource_key(resource):
    """A statement's Resource as a tuple of ARNs ("secret:*" for every secret of the account)."""
    if isinstance(resource, list):
        return tuple(x for r in resource for x in resource_key(r))
    if isinstance(resource, str):
        return (resource,)
    text = json.dumps(resource)
    return ("secret:*",) if ":secret:*" in text else (text,)


def expected_environment(t, params):
    """{name: value} of the variables the type's function gets, None where the value is not
    checked here."""
    env = dict.fromkeys(["SECRETS_MANAGER_ENDPOINT", "EXCLUDE_CHARACTERS", "PASSWORD_LENGTH",
                         "EXCLUDE_NUMBERS", "EXCLUDE_PUNCTUATION", "EXCLUDE_UPPERCASE",
                         "EXCLUDE_LOWERCASE", "REQUIRE_EACH_INCLUDED_TYPE", "EMIT_METRICS"])
    env["ROTATION_TYPE"] = t["name"]
    env["RUST_LOG"] = params.get("logLevel", "")
    if t["strategy"]:
        env["ROTATION_STRATEGY"] = t["strategy"]
    env["EXTRA_CA_CERTS"] = None
    if t["plaintext_fallback"]:
        env["ALLOW_PLAINTEXT_FALLBACK"] = params.get("allowPlaintextFallback", "false")
    if t["superuser"]:
        env["MASTER_SECRET_ARNS"] = ",".join(
            [params["masterSecretArn"]] + listed(params.get("additionalMasterSecretArns", "")))
    if t["elasticache"]:
        env["ELASTICACHE_USER_ARNS"] = ",".join(listed(params["elastiCacheUserArns"]))
        env["SECRET_ARN"] = params.get("secretArn", "")
    if t["rds_api"]:
        env["VERIFY_RDS_IDENTIFIERS"] = None
        if params.get("rdsEndpoint"):
            env["AWS_ENDPOINT_URL_RDS"] = params["rdsEndpoint"]
    for var in t["env"]:
        env.setdefault(var, None)
    return env


def verify(label, t, path, params, code=None):
    """`code`: the S3 key the function's code must come from (default: the type's binary,
    as source templates build it)."""
    rendered = render(path, params)
    check(f"{label}: CloudFormation takes the parameters (constraints and rules)",
          accepted(rendered, params),
          f"constraints {constraints_hold(rendered, params)}, rules {rules_hold(rendered, params)}")
    resources, outputs = deployed(rendered, params)
    functions = {n: r for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    check(f"{label}: one function", list(functions) == [t["sar_app"]], str(list(functions)))
    if list(functions) != [t["sar_app"]]:
        return
    f = functions[t["sar_app"]]["Properties"]
    check(f"{label}: code", f["Code"]["S3Key"] == (code or t["binary"]), str(f["Code"]))
    check(f"{label}: handler and runtime", (f["Handler"], f["Runtime"]) == ("bootstrap", "provided.al2023"),
          f"{f['Handler']} {f['Runtime']}")
    check(f"{label}: memory and timeout defaults", (f["MemorySize"], f["Timeout"]) == ("128", "30") or (f["MemorySize"], f["Timeout"]) == (128, 30),
          f"{f['MemorySize']} {f['Timeout']}")
    env = f["Environment"]["Variables"]
    want_env = expected_environment(t, params)
    check(f"{label}: environment", set(env) == set(want_env), str(sorted(set(env) ^ set(want_env))))
    for name, want in want_env.items():
        if want is not None:
            check(f"{label}: {name} is {want!r}", env.get(name) == want, repr(env.get(name)))
    empty = sorted(k for k, v in env.items() if k.startswith("AWS_") and v in ("", None))
    check(f"{label}: no empty AWS_* variable", not empty, str(empty))

    # alarmTopicArn: an alarm on the function's errors to the topic, none without it; never the
    # account-wide EventBridge rule (that is the alerts template's, deployed once).
    topic = params.get("alarmTopicArn")
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    check(f"{label}: no EventBridge rule, and an alarm only with alarmTopicArn",
          (len(rules), len(alarms)) == ((0, 1) if topic else (0, 0)),
          f"{len(rules)} rules, {len(alarms)} alarms")
    if topic and alarms:
        alarm = alarms[0]
        check(f"{label}: the alarm watches this function's Errors and notifies the topic",
              alarm["MetricName"] == "Errors" and alarm["AlarmActions"] == [topic]
              and alarm["Dimensions"] == [{"Name": "FunctionName", "Value": params["functionName"]}],
              json.dumps(alarm))
    vpc = f.get("VpcConfig")
    want_vpc = bool(params.get("vpcSubnetIds")) and bool(params.get("vpcSecurityGroupIds"))
    check(f"{label}: VPC config only with subnets and security groups", bool(vpc) == want_vpc, str(vpc))

    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    check(f"{label}: one invoke permission", len(permissions) == 1, str(len(permissions)))
    if permissions:
        p = permissions[0]
        check(f"{label}: permission on the function",
              p["FunctionName"] == {"Fn::GetAtt": [t["sar_app"], "Arn"]} and "SourceAccount" in p, json.dumps(p))

    arn = outputs.get("RotationLambdaARN")
    if isinstance(arn, dict) and "Fn::Join" in arn:
        parts = [x for x in arn["Fn::Join"][1] if x != ""]
        arn = parts[0] if len(parts) == 1 else arn
    check(f"{label}: RotationLambdaARN", arn == {"Fn::GetAtt": [t["sar_app"], "Arn"]}, json.dumps(arn))

    roles = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    check(f"{label}: one role", len(roles) == 1, str(len(roles)))
    if not roles:
        return
    role = roles[0]
    statements = []
    for policy in role.get("Policies", []):
        for s in policy["PolicyDocument"]["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            statements.append((tuple(sorted(actions)), resource_key(s["Resource"])))
            if "secretsmanager:PutSecretValue" in actions:
                cond = s.get("Condition", {})
                check(f"{label}: rotated secrets only through AllowRotationLambdaArn",
                      list(cond) == ["StringEquals"]
                      and list(cond["StringEquals"]) == ["secretsmanager:resource/AllowRotationLambdaArn"],
                      json.dumps(cond))
            if any(a.startswith("kms:") for a in actions):
                check(f"{label}: KMS through Secrets Manager only", "kms:ViaService" in json.dumps(s.get("Condition", {})), json.dumps(s))
    want = expected_statements(t, params)
    check(f"{label}: exactly the needed permissions", sorted(statements) == want,
          f"got {sorted(statements)}, want {want}")
    managed = [json.dumps(m) for m in role.get("ManagedPolicyArns", [])]
    check(f"{label}: managed policies",
          len(managed) == (2 if want_vpc else 1)
          and "AWSLambdaBasicExecutionRole" in managed[0]
          and (not want_vpc or "AWSLambdaVPCAccessExecutionRole" in managed[1]), str(managed))


def verify_alerts():
    """packaging/alerts/SecretsManagerRotationAlerts.yaml: deployed once per account and region,
    one EventBridge rule on Secrets Manager's RotationFailed and RotationAbandoned events to the
    topic it requires, and nothing else."""
    path = ROOT / "packaging" / "alerts" / "SecretsManagerRotationAlerts.yaml"
    template = json.loads(json.dumps(cfn_yaml.load(str(path))))
    label = path.name
    check(f"{label}: no SAM transform (plain CloudFormation)", "Transform" not in template)
    topic = "arn:aws:sns:us-east-1:111122223333:rotation-alarms"
    check(f"{label}: alarmTopicArn required", not constraints_hold(template, {}))
    check(f"{label}: alarmTopicArn refuses what is not a topic ARN",
          not constraints_hold(template, {"alarmTopicArn": "rotation-alarms"}))
    check(f"{label}: a topic ARN is taken", accepted(template, {"alarmTopicArn": topic}))
    resources, _ = deployed(template, {"alarmTopicArn": topic})
    types = sorted(r["Type"] for r in resources.values())
    check(f"{label}: exactly one EventBridge rule", types == ["AWS::Events::Rule"], str(types))
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    if rules:
        rule = rules[0]
        check(f"{label}: the rule matches RotationFailed and RotationAbandoned and notifies the topic",
              rule["EventPattern"] == {"source": ["aws.secretsmanager"],
                                       "detail-type": ["AWS Service Event via CloudTrail"],
                                       "detail": {"eventName": ["RotationFailed", "RotationAbandoned"]}}
              and [x["Arn"] for x in rule["Targets"]] == [topic]
              and rule.get("State", "ENABLED") == "ENABLED", json.dumps(rule))


def refusals(t, path, extra, minimal):
    """The parameters each template must refuse (or, for types that do not need them, take)."""
    label = f"{path.name} {t['name']}"
    template = render(path, dict(minimal, **extra))
    base = dict(minimal, **extra)
    # One VPC list without the other: refused by the rules, never a function outside the VPC.
    for given in ({"vpcSubnetIds": "subnet-1"}, {"vpcSecurityGroupIds": "sg-1"},
                  {"vpcSubnetIds": "subnet-1,", "vpcSecurityGroupIds": "sg-1"}):
        check(f"{label} {sorted(given)}: refused by the VPC rule", not rules_hold(template, dict(base, **given)))
    without_master = {k: v for k, v in base.items() if k != "masterSecretArn"}
    if t["superuser"]:
        check(f"{label}: refused without masterSecretArn", not accepted(template, without_master))
        check(f"{label}: masterSecretArn \"\" refused by the rule",
              not rules_hold(template, dict(base, masterSecretArn="")))
        check(f"{label}: a partial masterSecretArn (no suffix) refused",
              not constraints_hold(template, dict(base, masterSecretArn=PARTIAL_SECRET)))
        for bad in (f"{ADDITIONAL[0]},,{ADDITIONAL[1]}", f"{ADDITIONAL[0]},"):
            check(f"{label}: additionalMasterSecretArns {bad!r} (an empty entry) refused by the rule",
                  not rules_hold(template, dict(base, additionalMasterSecretArns=bad)))
        check(f"{label}: a partial additional ARN refused",
              not constraints_hold(template, dict(base, additionalMasterSecretArns=PARTIAL_SECRET)))
    elif "masterSecretArn" in template["Parameters"]:
        check(f"{label}: taken without masterSecretArn", accepted(template, without_master))
    if t["elasticache"]:
        without_users = {k: v for k, v in base.items() if k != "elastiCacheUserArns"}
        check(f"{label}: refused without elastiCacheUserArns", not accepted(template, without_users))
        for bad in ("", f"{USERS[0]},,{USERS[1]}", f"{USERS[0]},"):
            check(f"{label}: elastiCacheUserArns {bad!r} refused by the rule",
                  not rules_hold(template, dict(base, elastiCacheUserArns=bad)))
        for wildcard in ("arn:aws:elasticache:*:111122223333:user:u-1", "arn:aws:elasticache:us-east-1:111122223333:user:*",
                         "arn:aws:elasticache:us-east-1:111122223333:user:u-*"):
            check(f"{label}: a wildcard user ARN {wildcard} refused",
                  not constraints_hold(template, dict(base, elastiCacheUserArns=wildcard)))
        check(f"{label}: a partial secretArn refused",
              not constraints_hold(template, dict(base, secretArn=PARTIAL_SECRET)))
    elif "elastiCacheUserArns" in template["Parameters"]:
        check(f"{label}: taken without elastiCacheUserArns", accepted(template, base))


MASTER = "arn:aws:secretsmanager:us-east-1:111122223333:secret:master-AbCdEf"
ADDITIONAL = ["arn:aws:secretsmanager:us-east-1:111122223333:secret:master2-GhIjKl",
              "arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/master3-MnOpQr"]
PARTIAL_SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:master"
USERS = ["arn:aws:elasticache:us-east-1:111122223333:user:u-1",
         "arn:aws:elasticache:us-east-1:111122223333:user:u-2"]


def main():
    bundle = None
    if sys.argv[1:2] == ["--bundle"] and len(sys.argv) == 3:
        bundle = Path(sys.argv[2])
    elif sys.argv[1:]:
        sys.exit("usage: render_test.py [--bundle DIR]")
    full = dict(
        functionName="rotation",
        kmsKeyArn="arn:aws:kms:us-east-1:111122223333:key/k1",
        masterSecretArn=MASTER,
        additionalMasterSecretArns=",".join(ADDITIONAL),
        masterSecretKmsKeyArn="arn:aws:kms:us-east-1:111122223333:key/k2",
        vpcSubnetIds="subnet-1,subnet-2",
        vpcSecurityGroupIds="sg-1",
        alarmTopicArn="arn:aws:sns:us-east-1:111122223333:rotation-alarms",
        rdsEndpoint="https://vpce-1.rds.us-east-1.vpce.amazonaws.com",
        elastiCacheUserArns=",".join(USERS),
        secretArn="arn:aws:secretsmanager:us-east-1:111122223333:secret:cache-user-StUvWx",
        logLevel="debug",
    )
    renders = 0
    for t in TYPES:
        per_type = ROOT / "packaging" / "templates" / f"{t['sar_app']}.yaml"
        # Minimal: what the type requires and nothing else.
        minimal = {"functionName": "rotation"}
        if t["superuser"]:
            minimal["masterSecretArn"] = MASTER
        if t["elasticache"]:
            minimal["elastiCacheUserArns"] = USERS[0]
        for name, params in (("minimal", minimal), ("full", full)):
            stack_params = dict(params, rotationType=t["name"])
            own = {k: v for k, v in params.items()
                   if (k not in ("masterSecretArn", "masterSecretKmsKeyArn") or t["master_params"])
                   and (k != "additionalMasterSecretArns" or t["superuser"])
                   and (k != "rdsEndpoint" or t["rds_api"])
                   and (k not in ("elastiCacheUserArns", "secretArn") or t["elasticache"])}
            if bundle:
                # The release bundle's template: the same checks, its code the zip beside it.
                path = bundle / f"{t['sar_app']}.yaml"
                verify(f"bundle {path.name} {name}", t, path, own, code=f"{t['sar_app']}.zip")
                renders += 1
                continue
            verify(f"template.yaml {t['name']} {name}", t, ROOT / "template.yaml", stack_params)
            verify(f"{per_type.name} {name}", t, per_type, own)
            renders += 2
        if bundle:
            refusals(t, bundle / f"{t['sar_app']}.yaml", {}, minimal)
            check(f"bundle: {t['sar_app']}.zip is there", (bundle / f"{t['sar_app']}.zip").is_file())
            continue
        refusals(t, ROOT / "template.yaml", {"rotationType": t["name"]}, minimal)
        refusals(t, per_type, {}, minimal)
    if bundle:
        for alerts in (ROOT / "packaging" / "alerts").glob("*.yaml"):
            check(f"bundle: {alerts.name} as in packaging/alerts/",
                  (bundle / alerts.name).is_file() and (bundle / alerts.name).read_bytes() == alerts.read_bytes())
    else:
        verify_alerts()
    failed = results.count(False)
    print(f"render: {renders} renders of {len(TYPES)} rotation types, {len(results) - failed} checks passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
