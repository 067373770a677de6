#!/usr/bin/env python3
"""Renders every rotation type's stack offline with SAM's own translator (samtranslator, in the
tools venv) and checks what would be deployed. For each type, both template.yaml (with
rotationType) and the type's SAR-shaped template under packaging/templates/, each with the
minimal parameters and with every optional ARN and the VPC given:

  - exactly one Lambda function: the SAR app's logical ID, the type's binary, bootstrap on
    provided.al2023, ROTATION_STRATEGY and exactly the environment variables the type needs;
    no AWS_* variable (read by the SDK, which takes an empty value as given) is ever empty:
    AWS_ENDPOINT_URL_RDS is absent when rdsEndpoint is empty and holds it when given;
  - exactly one invoke permission, on that function, with SourceAccount;
  - the RotationLambdaARN output resolving to that function;
  - exactly the permissions the type needs and no others: Secrets Manager actions only on
    secrets that name this function (AllowRotationLambdaArn) plus GetRandomPassword; KMS only
    for the given keys; masterSecretArn only for the types that take it (multi-user, and the
    generic template as its SAR app does) and only when given; rds:Describe* only for types
    that use the RDS API, the Redshift lookups only for Redshift multi-user, and
    elasticache:DescribeUsers/ModifyUser only for ElastiCache, on the users given (by default
    every user of the account); the VPC config and policy only with subnets and security groups;
  - the template's Rules accept those parameters, and refuse one VPC list without the other.

Run with the tools venv's Python: the last line counts passes and failures.
"""
import json
import logging
import os
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
    after each function's binary (its crate's directory holds the binary)."""
    template = json.loads(json.dumps(cfn_yaml.load(str(path))))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            code_uri = resource["Properties"]["CodeUri"]
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
    the stack before creating anything when one does not)."""
    value, _ = resolver(template, params)
    return all(
        bool(value(a["Assert"]))
        for rule in template.get("Rules", {}).values()
        for a in rule["Assertions"]
    )


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


def expected_statements(t, params):
    master, master_key, key = (
        params.get("masterSecretArn"),
        params.get("masterSecretKmsKeyArn"),
        params.get("kmsKeyArn"),
    )
    out = [
        (
            (
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ),
            "secret:*",
        ),
        (("secretsmanager:GetRandomPassword",), "*"),
    ]
    if key:
        out.append((("kms:Decrypt", "kms:GenerateDataKey"), key))
    if t["master_params"] and master:
        out.append((("secretsmanager:GetSecretValue",), master))
        if t["superuser"] and (t["rds_api"] or t["redshift_api"]):
            out.append((("secretsmanager:DescribeSecret",), master))
    if t["rds_api"]:
        out.append(
            (("rds:DescribeDBClusterEndpoints", "rds:DescribeDBClusters", "rds:DescribeDBInstances"), "*")
        )
    if t["redshift_api"]:
        out.append(
            (("redshift-serverless:ListNamespaces", "redshift-serverless:ListWorkgroups",
              "redshift:DescribeClusters"), "*")
        )
    if t["elasticache"]:
        users = params.get("elastiCacheUserArns")
        out.append(
            (("elasticache:DescribeUsers", "elasticache:ModifyUser"),
             resource_key(users.split(",") if users else {"Fn::Sub": "arn:${AWS::Partition}:elasticache:*:${AWS::AccountId}:user:*"}))
        )
    if t["master_params"] and master_key:
        out.append((("kms:Decrypt",), master_key))
    return sorted(out)


def resource_key(resource):
    if isinstance(resource, str):
        return resource
    text = json.dumps(resource)
    return "secret:*" if ":secret:*" in text else text


def expected_environment(t, params):
    env = {"SECRETS_MANAGER_ENDPOINT", "EXCLUDE_CHARACTERS", "PASSWORD_LENGTH", "EXCLUDE_NUMBERS",
           "EXCLUDE_PUNCTUATION", "EXCLUDE_UPPERCASE", "EXCLUDE_LOWERCASE",
           "REQUIRE_EACH_INCLUDED_TYPE", "RUST_LOG", "EMIT_METRICS", "ROTATION_TYPE"}
    if t["strategy"]:
        env.add("ROTATION_STRATEGY")
    if t["tls"]:
        env.add("EXTRA_CA_CERTS")
    if t["engines"]:
        env.add("ALLOW_PLAINTEXT_FALLBACK")
    if t["rds_api"]:
        env.add("VERIFY_RDS_IDENTIFIERS")
        if params.get("rdsEndpoint"):
            env.add("AWS_ENDPOINT_URL_RDS")
    env |= set(t["env"])
    return env


def verify(label, t, path, params):
    rendered = render(path, params)
    check(f"{label}: the template's rules accept the parameters", rules_hold(rendered, params))
    resources, outputs = deployed(rendered, params)
    functions = {n: r for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    check(f"{label}: one function", list(functions) == [t["sar_app"]], str(list(functions)))
    if list(functions) != [t["sar_app"]]:
        return
    f = functions[t["sar_app"]]["Properties"]
    check(f"{label}: binary", f["Code"]["S3Key"] == t["binary"], str(f["Code"]))
    check(f"{label}: handler and runtime", (f["Handler"], f["Runtime"]) == ("bootstrap", "provided.al2023"),
          f"{f['Handler']} {f['Runtime']}")
    check(f"{label}: memory and timeout defaults", (f["MemorySize"], f["Timeout"]) == ("128", "30") or (f["MemorySize"], f["Timeout"]) == (128, 30),
          f"{f['MemorySize']} {f['Timeout']}")
    env = f["Environment"]["Variables"]
    want_env = expected_environment(t, params)
    check(f"{label}: environment", set(env) == want_env, str(sorted(set(env) ^ want_env)))
    empty = sorted(k for k, v in env.items() if k.startswith("AWS_") and v in ("", None))
    check(f"{label}: no empty AWS_* variable", not empty, str(empty))
    if "AWS_ENDPOINT_URL_RDS" in want_env:
        check(f"{label}: AWS_ENDPOINT_URL_RDS is rdsEndpoint",
              env.get("AWS_ENDPOINT_URL_RDS") == params["rdsEndpoint"], str(env.get("AWS_ENDPOINT_URL_RDS")))
    check(f"{label}: strategy", env.get("ROTATION_STRATEGY", "") == t["strategy"], str(env.get("ROTATION_STRATEGY")))
    check(f"{label}: ROTATION_TYPE is the type", env.get("ROTATION_TYPE") == t["name"], str(env.get("ROTATION_TYPE")))

    # alarmTopicArn: a rule on the rotation failure events and an alarm on the function's
    # errors, both to the topic; neither without it.
    topic = params.get("alarmTopicArn")
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    check(f"{label}: alarms only with alarmTopicArn", (len(rules), len(alarms)) == ((1, 1) if topic else (0, 0)),
          f"{len(rules)} rules, {len(alarms)} alarms")
    if topic and rules and alarms:
        rule, alarm = rules[0], alarms[0]
        check(f"{label}: the rule matches RotationFailed and RotationAbandoned and notifies the topic",
              rule["EventPattern"]["detail"]["eventName"] == ["RotationFailed", "RotationAbandoned"]
              and rule["EventPattern"]["source"] == ["aws.secretsmanager"]
              and [x["Arn"] for x in rule["Targets"]] == [topic], json.dumps(rule))
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
            if any(a.startswith("secretsmanager:") and a != "secretsmanager:GetRandomPassword" for a in actions) \
                    and resource_key(s["Resource"]) == "secret:*":
                cond = json.dumps(s.get("Condition", {}))
                check(f"{label}: rotated secrets only through AllowRotationLambdaArn",
                      "secretsmanager:resource/AllowRotationLambdaArn" in cond, cond)
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


def main():
    minimal = {"functionName": "rotation"}
    full = dict(
        minimal,
        kmsKeyArn="arn:aws:kms:us-east-1:111122223333:key/k1",
        masterSecretArn="arn:aws:secretsmanager:us-east-1:111122223333:secret:master",
        masterSecretKmsKeyArn="arn:aws:kms:us-east-1:111122223333:key/k2",
        vpcSubnetIds="subnet-1,subnet-2",
        vpcSecurityGroupIds="sg-1",
        alarmTopicArn="arn:aws:sns:us-east-1:111122223333:rotation-alarms",
        rdsEndpoint="https://vpce-1.rds.us-east-1.vpce.amazonaws.com",
        elastiCacheUserArns="arn:aws:elasticache:us-east-1:111122223333:user:u-1,arn:aws:elasticache:us-east-1:111122223333:user:u-2",
    )
    renders = 0
    for t in TYPES:
        per_type = ROOT / "packaging" / "templates" / f"{t['sar_app']}.yaml"
        for name, params in (("minimal", minimal), ("full", full)):
            stack_params = dict(params, rotationType=t["name"])
            own = {k: v for k, v in params.items()
                   if (k not in ("masterSecretArn", "masterSecretKmsKeyArn") or t["master_params"])
                   and (k != "rdsEndpoint" or t["rds_api"])
                   and (k != "elastiCacheUserArns" or t["elasticache"])}
            verify(f"template.yaml {t['name']} {name}", t, ROOT / "template.yaml", stack_params)
            verify(f"{per_type.name} {name}", t, per_type, own)
            renders += 2
        # One VPC list without the other: refused by the rules, never a function outside the VPC.
        for path, extra in ((ROOT / "template.yaml", {"rotationType": t["name"]}), (per_type, {})):
            template = render(path, dict(minimal, **extra))
            for given in ({"vpcSubnetIds": "subnet-1"}, {"vpcSecurityGroupIds": "sg-1"},
                          {"vpcSubnetIds": "subnet-1,", "vpcSecurityGroupIds": "sg-1"}):
                params = dict(minimal, **extra, **given)
                check(f"{path.name} {t['name']} {sorted(given)}: refused by the VPC rule",
                      not rules_hold(template, params))
    failed = results.count(False)
    print(f"render: {renders} renders of {len(TYPES)} rotation types, {len(results) - failed} checks passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
