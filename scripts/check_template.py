#!/usr/bin/env python3
"""Checks on template.yaml that the linters cannot make: the contract a migrating user relies on.

Run with the tools venv's Python (it has cfn-lint, whose YAML loader reads the short-form
intrinsic functions). Each check prints PASS or FAIL; the last line counts them.

  - rotationType has no default, so a stack made from a SAR app's parameters is refused
    instead of silently deploying the generic function against a database secret;
  - every runtime value SAR and HostedRotationLambda users pass (python3.x) is accepted and
    resolves to provided.al2023; provided.al2 stays selectable by name;
  - the stack outputs RotationLambdaARN and the execution role's ARN;
  - masterSecretArn is read by the types that take it only (multi-user, and generic as its SAR
    app SecretsManagerRotationTemplate does); the multi-user types read and describe every
    superuser secret they are told of (masterSecretArn and additionalMasterSecretArns, in
    MASTER_SECRET_ARNS), and only those; the RDS, Redshift and ElastiCache APIs only for the
    types packaging/rotation-types.toml gives them, ElastiCache's on exactly the users in
    elastiCacheUserArns, and its Secrets Manager rights on secretArn alone when given;
  - masterSecretArn is required by a rule exactly for the multi-user types (no default in their
    own templates, so CloudFormation and `sam deploy --guided` ask for it; the generic template
    keeps it optional), elastiCacheUserArns exactly for ElastiCache; no generated deploy
    profile pre-fills either;
  - the environment contract: MASTER_SECRET_ARNS on exactly the multi-user functions,
    ELASTICACHE_USER_ARNS and SECRET_ARN on exactly the ElastiCache function,
    ALLOW_PLAINTEXT_FALLBACK (and its parameter) never for DocumentDB/MongoDB; RUST_LOG is
    logLevel, whose default "" leaves the level to Lambda's;
  - no rotation stack creates the account-wide EventBridge rule: the alerts template
    (packaging/alerts/) does, once, and the test command lints and scans it;
  - every KMS statement is limited to calls made through Secrets Manager (kms:ViaService), named
    with AWS::URLSuffix so every partition matches; `architecture` offers only x86_64;
  - every invoke permission carries SourceAccount;
  - every environment variable the template sets is in the configuration table (docs/configuration.md);
  - no AWS_* variable (the SDK reads them and takes an empty value as given: an empty endpoint
    panics it) is set from an optional parameter without a guard: in every template, each is
    absent (AWS::NoValue) or non-empty with every parameter at its default, and holds the
    parameter's value when one is given;
  - samconfig.toml builds with the cargo-lambda beta feature, lints on validate, and its example
    profiles name only template parameters and a known rotationType;
  - one stack per rotation type: no default stack name, and a deploy profile with its own stack
    name for every type, in samconfig.toml and packaging/templates/samconfig.toml (which also
    builds the per-type templates with the beta feature);
  - the README's deploy steps pin the build tools scripts/lib.sh pins, docs/deploying.md shows the
    alerts template and how to deploy it, and examples/secrets/ holds a sample
    secret per rotation type in the shape its function reads.
"""
import json
import re
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
TYPES = {
    t["name"]: t
    for t in tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
}
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")


def evaluate(node, params, conditions):
    """Resolves Ref to parameters (a CommaDelimitedList's value is a list), Fn::If, Fn::Equals,
    Fn::Not, Fn::And, Fn::Or, Fn::Join, Fn::Split, Fn::Contains, Fn::EachMemberEquals,
    Condition."""
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            return params.get(arg, f"<{arg}>")
        if key == "Fn::Split":
            return evaluate(arg[1], params, conditions).split(arg[0])
        if key == "Fn::Contains":
            return evaluate(arg[1], params, conditions) in evaluate(arg[0], params, conditions)
        if key == "Fn::EachMemberEquals":
            want = evaluate(arg[1], params, conditions)
            return all(m == want for m in evaluate(arg[0], params, conditions))
        if key == "Condition":
            return condition(arg, params, conditions)
        if key == "Fn::If":
            name, then, other = arg
            chosen = then if condition(name, params, conditions) else other
            return evaluate(chosen, params, conditions)
        if key == "Fn::Equals":
            a, b = (evaluate(x, params, conditions) for x in arg)
            return a == b
        if key == "Fn::Not":
            return not evaluate(arg[0], params, conditions)
        if key == "Fn::And":
            return all(evaluate(x, params, conditions) for x in arg)
        if key == "Fn::Or":
            return any(evaluate(x, params, conditions) for x in arg)
        if key == "Fn::Join":
            sep, items = arg
            items = evaluate(items, params, conditions)
            return sep.join(x for i in items for x in flat(evaluate(i, params, conditions)))
    if isinstance(node, list):
        return [evaluate(x, params, conditions) for x in node]
    return node


def flat(value):
    return [str(x) for x in value] if isinstance(value, list) else [str(value)]


def condition(name, params, conditions):
    return bool(evaluate(conditions[name], params, conditions))


def values(template, given=None):
    """Every parameter's value: given, else its default; a CommaDelimitedList's as its list of
    entries (as CloudFormation passes it: "" is one empty entry)."""
    out = {}
    for name, spec in template["Parameters"].items():
        value = str((given or {}).get(name, spec.get("Default", "")))
        out[name] = [v.strip() for v in value.split(",")] if spec["Type"] == "CommaDelimitedList" else value
    return out


def rules_hold(template, params):
    """Whether every Rules assertion whose RuleCondition holds (or that has none) holds."""
    conditions = template.get("Conditions", {})
    return all(
        bool(evaluate(a["Assert"], params, conditions))
        for rule in template.get("Rules", {}).values()
        if "RuleCondition" not in rule or evaluate(rule["RuleCondition"], params, conditions)
        for a in rule["Assertions"]
    )


def env_of(resource):
    return resource.get("Properties", {}).get("Environment", {}).get("Variables", {})


def statements(template):
    role = template["Resources"]["RotationFunctionRole"]["Properties"]
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            yield statement


def refs(node):
    """The names every Ref in `node` names."""
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return {node["Ref"]}
        return set().union(*(refs(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node)) if node else set()
    return set()


def sdk_variables_are_never_empty(path):
    template = cfn_yaml.load(str(path))
    parameters = template["Parameters"]
    conditions = template.get("Conditions", {})
    defaults = values(template)
    if "rotationType" in parameters:
        defaults["rotationType"] = parameters["rotationType"]["AllowedValues"][0]
    for logical, resource in template["Resources"].items():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, node in variables.items():
            if not name.startswith("AWS_"):
                continue
            label = f"{path.name} {logical} {name}"
            value = evaluate(node, defaults, conditions)
            check(f"{label}: absent or set with parameters at their defaults",
                  value == "<AWS::NoValue>" or (isinstance(value, str) and value != ""), repr(value))
            for parameter in sorted(refs(node) & set(parameters)):
                given = "https://given.example"
                value = evaluate(node, dict(defaults, **{parameter: given}), conditions)
                check(f"{label}: {parameter} given is its value", value == given, repr(value))


def main():
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    parameters = template["Parameters"]
    conditions = template["Conditions"]
    defaults = {k: v.get("Default", "") for k, v in parameters.items()}

    check("rotationType has no default", "Default" not in parameters["rotationType"])

    runtime = parameters["runtime"]
    allowed = list(runtime["AllowedValues"])
    pythons = [f"python3.{minor}" for minor in range(7, 15)]
    check(
        "runtime accepts python3.7 to python3.14",
        all(p in allowed for p in pythons),
        f"allowed: {allowed}",
    )
    check("runtime defaults to provided.al2023", runtime.get("Default") == "provided.al2023")
    expression = template["Globals"]["Function"]["Runtime"]
    for value in allowed:
        params = dict(defaults, runtime=value, rotationType="Generic")
        want = "provided.al2" if value == "provided.al2" else "provided.al2023"
        got = evaluate(expression, params, conditions)
        check(f"runtime {value} deploys {want}", got == want, f"got {got}")

    outputs = template["Outputs"]
    check("output RotationLambdaARN", "RotationLambdaARN" in outputs)
    check("output RotationLambdaRoleARN", "RotationLambdaRoleARN" in outputs)

    grants = []  # (guard, actions, resource, statement) of every statement
    for statement in statements(template):
        body = statement
        guard = None
        if isinstance(statement, dict) and "Fn::If" in statement:
            guard, body, _ = statement["Fn::If"]
        actions = body["Action"] if isinstance(body["Action"], list) else [body["Action"]]
        grants.append((guard, actions, body.get("Resource"), body))
        if any(a.startswith("kms:") for a in actions):
            via = body.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            check(f"KMS statement on {body['Resource']} has kms:ViaService", via is not None)
            check(f"KMS statement on {body['Resource']}: ViaService in every partition (AWS::URLSuffix)",
                  "${AWS::URLSuffix}" in str(via), str(via))

    master, extra = "arn:aws:secretsmanager:r:111122223333:secret:m-AbCdEf", ["arn:a1", "arn:a2"]
    users = ["arn:aws:elasticache:r:111122223333:user:u1", "arn:aws:elasticache:r:111122223333:user:u2"]

    def granted(action, rotation_type, **given):
        """The resources `action` is granted on for `rotation_type` with `given` parameters
        (on top of the defaults): a set of ARNs ("<...>" for an expression)."""
        params = dict(values(template, given), rotationType=rotation_type)
        out = set()
        for guard, actions, resource, _ in grants:
            if action in actions and (guard is None or condition(guard, params, conditions)):
                value = evaluate(resource, params, conditions)
                out |= set(flat(value)) if isinstance(value, (str, list)) else {json.dumps(value)}
        return out

    def everything(resources):
        return any("*" in r for r in resources)

    for rotation_type in parameters["rotationType"]["AllowedValues"]:
        kind = TYPES[rotation_type]
        takes, multi = kind["master_params"], kind["superuser"]
        rds, redshift, cache = kind["rds_api"], kind["redshift_api"], kind["elasticache"]
        check(f"{rotation_type}: masterSecretArn readable: {takes}",
              (master in granted("secretsmanager:GetSecretValue", rotation_type, masterSecretArn=master)) == takes)
        check(f"{rotation_type}: masterSecretArn describable: {multi}",
              (master in granted("secretsmanager:DescribeSecret", rotation_type, masterSecretArn=master)) == multi)
        given = dict(masterSecretArn=master, additionalMasterSecretArns=",".join(extra))
        for action in ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]:
            # The ARNs named, leaving out the rotated secrets' own statement (secret:*).
            named = {g for g in granted(action, rotation_type, **given) if not everything([g])}
            want = {master, *extra} if multi else ({master} if takes and "GetSecretValue" in action else set())
            check(f"{rotation_type}: {action} with additionalMasterSecretArns: exactly {sorted(want)}",
                  named == want, str(sorted(named)))
        for action in ["elasticache:DescribeUsers", "elasticache:ModifyUser"]:
            got = granted(action, rotation_type, elastiCacheUserArns=",".join(users))
            check(f"{rotation_type}: {action}: {'exactly the given users' if cache else 'none'}",
                  got == (set(users) if cache else set()), str(sorted(got)))
            check(f"{rotation_type}: {action}: nothing with the default (empty) user list",
                  not granted(action, rotation_type), str(granted(action, rotation_type)))
        pinned = "arn:aws:secretsmanager:r:111122223333:secret:rotated-AbCdEf"
        put = granted("secretsmanager:PutSecretValue", rotation_type, secretArn=pinned)
        check(f"{rotation_type}: secretArn given: Secrets Manager writes {'on it alone' if cache else 'unchanged'}",
              put == {pinned} if cache else (len(put) == 1 and pinned not in put), str(put))
        for guard, actions, resource, body in grants:
            if "secretsmanager:PutSecretValue" in actions:
                cond = body.get("Condition", {})
                check(f"{rotation_type}: the rotated secrets' statement keeps AllowRotationLambdaArn",
                      list(cond) == ["StringEquals"]
                      and list(cond["StringEquals"]) == ["secretsmanager:resource/AllowRotationLambdaArn"],
                      json.dumps(cond))
        for action in ["redshift:DescribeClusters", "redshift-serverless:ListNamespaces",
                       "redshift-serverless:ListWorkgroups"]:
            check(f"{rotation_type}: {action}: {redshift}", bool(granted(action, rotation_type)) == redshift)
        for action in ["rds:DescribeDBInstances", "rds:DescribeDBClusters"]:
            check(f"{rotation_type}: {action}: {rds}", bool(granted(action, rotation_type)) == rds)

        # Rules: masterSecretArn required exactly for the multi-user types, elastiCacheUserArns
        # exactly for ElastiCache; the generic type keeps masterSecretArn optional.
        base = dict(values(template, {"masterSecretArn": master, "elastiCacheUserArns": users[0]}),
                    rotationType=rotation_type)
        check(f"{rotation_type}: the rules take masterSecretArn and elastiCacheUserArns given",
              rules_hold(template, base))
        check(f"{rotation_type}: masterSecretArn required: {multi}",
              rules_hold(template, dict(base, masterSecretArn="")) != multi)
        check(f"{rotation_type}: elastiCacheUserArns required: {cache}",
              rules_hold(template, dict(base, elastiCacheUserArns=[""])) != cache)

        # The environment contract, per function.
        function = template["Resources"][kind["sar_app"]]
        env = env_of(function)
        check(f"{rotation_type}: MASTER_SECRET_ARNS: {multi}", ("MASTER_SECRET_ARNS" in env) == multi)
        if multi:
            params = dict(values(template, given), rotationType=rotation_type)
            got = evaluate(env["MASTER_SECRET_ARNS"], params, conditions)
            check(f"{rotation_type}: MASTER_SECRET_ARNS is masterSecretArn and the additional ARNs, comma-separated",
                  got == ",".join([master, *extra]), repr(got))
            alone = evaluate(env["MASTER_SECRET_ARNS"], dict(values(template, {"masterSecretArn": master}),
                                                              rotationType=rotation_type), conditions)
            check(f"{rotation_type}: MASTER_SECRET_ARNS is masterSecretArn alone by default", alone == master, repr(alone))
        check(f"{rotation_type}: ELASTICACHE_USER_ARNS and SECRET_ARN: {cache}",
              {"ELASTICACHE_USER_ARNS", "SECRET_ARN"} <= set(env) if cache
              else not {"ELASTICACHE_USER_ARNS", "SECRET_ARN"} & set(env))
        check(f"{rotation_type}: ALLOW_PLAINTEXT_FALLBACK: {kind['plaintext_fallback']}",
              ("ALLOW_PLAINTEXT_FALLBACK" in env) == kind["plaintext_fallback"])
        if "mongo" in kind["engines"]:
            # Whatever the type list says: the MongoDB function has the fallback hard-coded off.
            check(f"{rotation_type}: the DocumentDB/MongoDB function is never told to fall back to plaintext",
                  "ALLOW_PLAINTEXT_FALLBACK" not in env and not kind["plaintext_fallback"])

    check("logLevel: default empty (Lambda's level, else info)", parameters["logLevel"].get("Default") == "")
    check("logLevel: \"\" and the five levels allowed",
          parameters["logLevel"].get("AllowedValues") == ["", "error", "warn", "info", "debug", "trace"],
          str(parameters["logLevel"].get("AllowedValues")))
    check("RUST_LOG is logLevel",
          template["Globals"]["Function"]["Environment"]["Variables"].get("RUST_LOG") == {"Ref": "logLevel"})

    permissions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission"
    ]
    check(
        "one invoke permission per rotation type, each with SourceAccount",
        len(permissions) == len(parameters["rotationType"]["AllowedValues"])
        and all("SourceAccount" in p for p in permissions),
    )

    configuration = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)`", configuration, re.MULTILINE))
    variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        env = resource.get("Properties", {}).get("Environment", {})
        variables |= set(env.get("Variables", {}))
    missing = sorted(variables - documented)
    check("every environment variable is in docs/configuration.md's table", not missing, str(missing))

    for path in [ROOT / "template.yaml", *sorted((ROOT / "packaging" / "templates").glob("*.yaml"))]:
        sdk_variables_are_never_empty(path)

    import shlex

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    check("samconfig: build uses the cargo-lambda beta feature",
          config["default"]["build"]["parameters"].get("beta_features") is True)
    check("samconfig: validate lints", config["default"]["validate"]["parameters"].get("lint") is True)
    for env, sections in config.items():
        if not isinstance(sections, dict):
            continue
        overrides = sections.get("deploy", {}).get("parameters", {}).get("parameter_overrides")
        if overrides is None:
            continue
        pairs = dict(item.split("=", 1) for item in shlex.split(overrides))
        unknown = sorted(set(pairs) - set(parameters))
        check(f"samconfig {env}: only template parameters", not unknown, str(unknown))
        check(f"samconfig {env}: a known rotationType",
              pairs.get("rotationType") in parameters["rotationType"]["AllowedValues"],
              str(pairs.get("rotationType")))

    check("architecture offers only what is built and tested (x86_64)",
          parameters["architecture"].get("AllowedValues") == ["x86_64"],
          str(parameters["architecture"].get("AllowedValues")))

    # One stack per rotation type: no default stack name (a second type deployed with it would
    # replace the first and break every secret attached to it), one profile per type, each with
    # its own stack name, in both SAM configurations (the per-type templates read theirs).
    types = tomllib.loads((ROOT / "packaging" / "rotation-types.toml").read_text())["type"]
    per_type_config = tomllib.loads((ROOT / "packaging" / "templates" / "samconfig.toml").read_text())
    check("packaging/templates/samconfig.toml: build uses the cargo-lambda beta feature",
          per_type_config["default"]["build"]["parameters"].get("beta_features") is True)
    for label, cfg in [("samconfig.toml", config), ("packaging/templates/samconfig.toml", per_type_config)]:
        default = cfg.get("default", {})
        check(f"{label}: no default stack name",
              all("stack_name" not in section.get("parameters", {}) for section in default.values()
                  if isinstance(section, dict)))
        names = [cfg.get(t["name"], {}).get("deploy", {}).get("parameters", {}).get("stack_name") for t in types]
        check(f"{label}: a deploy profile with a stack name for every rotation type", all(names), str(names))
        stacks = [cfg[env]["deploy"]["parameters"]["stack_name"] for env in cfg
                  if isinstance(cfg[env], dict) and "stack_name" in cfg[env].get("deploy", {}).get("parameters", {})]
        check(f"{label}: every profile has its own stack name", len(stacks) == len(set(stacks)), str(stacks))
    for t in types:
        own = cfn_yaml.load(str(ROOT / "packaging" / "templates" / f"{t['sar_app']}.yaml"))["Parameters"]
        overrides = per_type_config[t["name"]]["deploy"]["parameters"]["parameter_overrides"]
        pairs = dict(item.split("=", 1) for item in shlex.split(overrides))
        unknown = sorted(set(pairs) - set(own))
        check(f"packaging/templates/samconfig.toml {t['name']}: only its template's parameters", not unknown, str(unknown))

    # What a type requires is asked for, never pre-filled: no default in the type's own template
    # (the generic template keeps masterSecretArn optional, as its SAR app does), a rule that
    # refuses it empty, and no generated deploy profile that sets it.
    for t in types:
        path = ROOT / "packaging" / "templates" / f"{t['sar_app']}.yaml"
        own = cfn_yaml.load(str(path))
        label = f"packaging/templates/{path.name}"
        required = [name for name, flag in (("masterSecretArn", "superuser"), ("elastiCacheUserArns", "elasticache"))
                    if t[flag]]
        for name in required:
            check(f"{label}: {name} has no default", name in own["Parameters"] and "Default" not in own["Parameters"][name])
            given = values(own, {name: "x"})
            check(f"{label}: a rule refuses {name} empty",
                  rules_hold(own, given) and not rules_hold(own, dict(given, **{name: values(own, {name: ""})[name]})))
            for cfg_label, cfg in [("samconfig.toml", config), ("packaging/templates/samconfig.toml", per_type_config)]:
                overrides = cfg[t["name"]]["deploy"]["parameters"]["parameter_overrides"]
                check(f"{cfg_label} {t['name']}: {name} not pre-filled (--guided asks for it)",
                      f"{name}=" not in overrides, overrides)
        if t["master_params"] and not t["superuser"]:
            check(f"{label}: masterSecretArn optional (default empty), as in its SAR app",
                  own["Parameters"].get("masterSecretArn", {}).get("Default") == "")
        env = env_of(own["Resources"][t["sar_app"]])
        if "mongo" in t["engines"]:
            check(f"{label}: no allowPlaintextFallback (the MongoDB function never falls back)",
                  "allowPlaintextFallback" not in own["Parameters"] and "ALLOW_PLAINTEXT_FALLBACK" not in env)
        check(f"{label}: allowPlaintextFallback and ALLOW_PLAINTEXT_FALLBACK: {t['plaintext_fallback']}",
              ("allowPlaintextFallback" in own["Parameters"]) == ("ALLOW_PLAINTEXT_FALLBACK" in env)
              == t["plaintext_fallback"])
        check(f"{label}: MASTER_SECRET_ARNS: {t['superuser']}", ("MASTER_SECRET_ARNS" in env) == t["superuser"])
        check(f"{label}: ELASTICACHE_USER_ARNS: {t['elasticache']}", ("ELASTICACHE_USER_ARNS" in env) == t["elasticache"])

    # The account-wide rule on Secrets Manager's rotation failure events exists once, in the
    # alerts template; a rotation stack has only its function's alarm.
    alerts_path = ROOT / "packaging" / "alerts" / "SecretsManagerRotationAlerts.yaml"
    rotation_templates = [ROOT / "template.yaml", *sorted((ROOT / "packaging" / "templates").glob("*.yaml"))]
    for path in rotation_templates:
        kinds = [r["Type"] for r in cfn_yaml.load(str(path))["Resources"].values()]
        check(f"{path.name}: no EventBridge rule (the alerts template has the account-wide one)",
              "AWS::Events::Rule" not in kinds and kinds.count("AWS::CloudWatch::Alarm") == 1, str(kinds))
    alerts = cfn_yaml.load(str(alerts_path)) if alerts_path.exists() else {"Parameters": {}, "Resources": {}}
    rules = [r for r in alerts["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    check("alerts template: one EventBridge rule on RotationFailed and RotationAbandoned",
          len(rules) == 1 and rules[0]["Properties"]["EventPattern"]["detail"]["eventName"]
          == ["RotationFailed", "RotationAbandoned"])
    check("alerts template: alarmTopicArn required (no default)",
          "alarmTopicArn" in alerts["Parameters"] and "Default" not in alerts["Parameters"]["alarmTopicArn"])
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    check("test.sh: cfn-lint and checkov run on the alerts template",
          re.search(r"^cfn-lint .*packaging/alerts/", test_sh, re.MULTILINE) is not None
          and re.search(r"checkov.*\n?.*packaging/alerts/", test_sh) is not None)
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    check("docs/deploying.md: the alerts template, and how to deploy it",
          "packaging/alerts/SecretsManagerRotationAlerts.yaml" in deploying)

    # The deployer's first screen (the README's deploy steps): the build tools it pins are the
    # ones the test command uses, and every rotation type has a sample secret in the shape its
    # function reads.
    readme = (ROOT / "README.md").read_text()
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    for tool in ("cargo-lambda", "ziglang", "aws-sam-cli"):
        pin = re.search(rf'"{tool}==([^"]+)"', lib).group(1)
        check(f"README: {tool} pinned as in scripts/lib.sh ({pin})", f"{tool}=={pin}" in readme)
    for t in types:
        path = ROOT / "examples" / "secrets" / f"{t['name']}.json"
        sample = json.loads(path.read_text()) if path.exists() else {}
        check(f"examples/secrets/{t['name']}.json: a sample secret", bool(sample))
        check(f"examples/secrets/{t['name']}.json: an engine its function accepts",
              sample.get("engine") in t["engines"] if t["engines"] else "engine" not in sample,
              str(sample.get("engine")))
        check(f"examples/secrets/{t['name']}.json: masterarn exactly for multi-user types",
              ("masterarn" in sample) == t["superuser"])
        check(f"examples/secrets/{t['name']}.json: username and password",
              isinstance(sample.get("username"), str) and isinstance(sample.get("password"), str))

    failed = results.count(False)
    print(f"template: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
