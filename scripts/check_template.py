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
    app SecretsManagerRotationTemplate does), and described (for the RDS tags of a managed
    master secret) by the types that use the RDS or Redshift API only, as
    packaging/rotation-types.toml says; the RDS, Redshift and ElastiCache APIs likewise;
  - every KMS statement is limited to calls made through Secrets Manager (kms:ViaService), named
    with AWS::URLSuffix so every partition matches; `architecture` offers only x86_64;
  - every invoke permission carries SourceAccount;
  - every environment variable the template sets is in the README's configuration table;
  - no AWS_* variable (the SDK reads them and takes an empty value as given: an empty endpoint
    panics it) is set from an optional parameter without a guard: in every template, each is
    absent (AWS::NoValue) or non-empty with every parameter at its default, and holds the
    parameter's value when one is given;
  - samconfig.toml builds with the cargo-lambda beta feature, lints on validate, and its example
    profiles name only template parameters and a known rotationType;
  - one stack per rotation type: no default stack name, and a deploy profile with its own stack
    name for every type, in samconfig.toml and packaging/templates/samconfig.toml (which also
    builds the per-type templates with the beta feature);
  - the README pins the build tools scripts/lib.sh pins, and examples/secrets/ holds a sample
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
    """Resolves Ref to parameters, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition."""
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            return params.get(arg, f"<{arg}>")
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
            return sep.join(str(evaluate(i, params, conditions)) for i in items)
    if isinstance(node, list):
        return [evaluate(x, params, conditions) for x in node]
    return node


def condition(name, params, conditions):
    return bool(evaluate(conditions[name], params, conditions))


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
    defaults = {k: v.get("Default", "") for k, v in parameters.items()}
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

    grants = []  # (guard, actions, resource) of every statement
    for statement in statements(template):
        body = statement
        guard = None
        if isinstance(statement, dict) and "Fn::If" in statement:
            guard, body, _ = statement["Fn::If"]
        actions = body["Action"] if isinstance(body["Action"], list) else [body["Action"]]
        grants.append((guard, actions, body.get("Resource")))
        if any(a.startswith("kms:") for a in actions):
            via = body.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            check(f"KMS statement on {body['Resource']} has kms:ViaService", via is not None)
            check(f"KMS statement on {body['Resource']}: ViaService in every partition (AWS::URLSuffix)",
                  "${AWS::URLSuffix}" in str(via), str(via))

    def granted(action, resource, rotation_type):
        params = dict(defaults, rotationType=rotation_type, masterSecretArn="arn:m")
        return any(
            action in actions
            and (resource is None or res == resource)
            and (guard is None or condition(guard, params, conditions))
            for guard, actions, res in grants
        )

    master = {"Ref": "masterSecretArn"}
    for rotation_type in parameters["rotationType"]["AllowedValues"]:
        takes = TYPES[rotation_type]["master_params"]
        pg_multi = TYPES[rotation_type]["rds_api"]
        redshift = TYPES[rotation_type]["redshift_api"]
        check(
            f"{rotation_type}: masterSecretArn readable: {takes}",
            granted("secretsmanager:GetSecretValue", master, rotation_type) == takes,
        )
        check(
            f"{rotation_type}: superuser secret describable: {pg_multi or redshift}",
            granted("secretsmanager:DescribeSecret", master, rotation_type) == (pg_multi or redshift),
        )
        cache = TYPES[rotation_type]["elasticache"]
        for action in ["elasticache:DescribeUsers", "elasticache:ModifyUser"]:
            check(
                f"{rotation_type}: {action}: {cache}",
                granted(action, None, rotation_type) == cache,
            )
        for action in ["redshift:DescribeClusters", "redshift-serverless:ListNamespaces",
                       "redshift-serverless:ListWorkgroups"]:
            check(
                f"{rotation_type}: {action}: {redshift}",
                granted(action, None, rotation_type) == redshift,
            )
        for action in ["rds:DescribeDBInstances", "rds:DescribeDBClusters"]:
            check(
                f"{rotation_type}: {action}: {pg_multi}",
                granted(action, None, rotation_type) == pg_multi,
            )

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

    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)`", readme, re.MULTILINE))
    variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        env = resource.get("Properties", {}).get("Environment", {})
        variables |= set(env.get("Variables", {}))
    missing = sorted(variables - documented)
    check("every environment variable is in the README's table", not missing, str(missing))

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

    # The deployer's first screen: the build tools it pins are the ones the test command uses,
    # and every rotation type has a sample secret in the shape its function reads.
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
