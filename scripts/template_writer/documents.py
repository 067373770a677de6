"""Whole templates: the one-stack template (every type, chosen by rotationType), a per-type
template (one SAR app's), and the account-wide alerts template."""
from ruamel.yaml.comments import CommentedMap

from .conditions import conditions, rules
from .emit import comment, dump, flow, get_att, prose, ref
from .functions import errors_alarm, function, globals_section, permission
from .outputs import outputs
from .parameters import parameters
from .role import add_role
from .rotation_types import GENERATED, VERSION, is_stack


def application(types):
    """The head of a template: its description and the SAR application metadata."""
    if is_stack(types):
        description = ("Secrets Manager rotation functions in Rust, drop-in replacements for the SAR "
                       "rotation apps. Same parameters, same secret JSON, output RotationLambdaARN.")
        app = {
            "Name": "secrets-rotation-rs",
            "Description": "Secrets Manager rotation functions in Rust (one stack, the rotation type chosen by rotationType).",
        }
    else:
        t = types[0]
        description = (f"Conducts a Secrets Manager secret rotation for {t['subject']}: a Rust drop-in "
                       f"replacement for the SAR app {t['sar_app']}, with its parameters. Output RotationLambdaARN.")
        app = {
            "Name": t["sar_app"],
            "Description": f"Secrets Manager rotation for {t['subject']}, in Rust (replaces the SAR app of the same name).",
        }
    app["Author"] = "secrets-rotation-rs"
    app["SpdxLicenseId"] = "Apache-2.0"
    if not is_stack(types):
        app["ReadmeUrl"] = "../../README.md"
    app["Labels"] = flow("secretsmanager", "rotation", "rust")
    app["SemanticVersion"] = VERSION
    return prose(description), {"AWS::ServerlessRepo::Application": app}


def resources(types):
    """The Resources section: the role, each type's function, each invoke permission, the alarm."""
    code_prefix = "" if is_stack(types) else "../../"
    out = CommentedMap()
    add_role(out, types)
    for t in types:
        out[t["sar_app"]] = function(t, types, code_prefix)
    for t in types:
        name, resource = permission(t, types)
        out[name] = resource
    out["RotationFunctionErrorsAlarm"] = errors_alarm()
    for key in list(out)[1:]:
        comment(out, key, "\n", 2)
    return out


def template(types):
    """The YAML text of the template covering `types` (all: the one-stack template)."""
    description, metadata = application(types)
    document = CommentedMap()
    document["AWSTemplateFormatVersion"] = "2010-09-09"
    document["Transform"] = "AWS::Serverless-2016-10-31"
    document["Description"] = description
    document["Metadata"] = metadata
    document["Parameters"] = parameters(types)
    document["Rules"] = rules(types)
    document["Conditions"] = conditions(types)
    document["Globals"] = globals_section()
    document["Resources"] = resources(types)
    document["Outputs"] = outputs(types)
    return dump(document, GENERATED)


def alerts():
    """The YAML text of the alerts template, deployed once per account and region (not per
    rotation stack): Secrets Manager's RotationFailed and RotationAbandoned events of every
    secret, whichever function rotates it, to one SNS topic. Plain CloudFormation, no SAM
    transform."""
    document = CommentedMap()
    document["AWSTemplateFormatVersion"] = "2010-09-09"
    document["Description"] = prose(
        "secrets-rotation-rs alerts, deployed once per account and region: Secrets Manager's "
        "RotationFailed and RotationAbandoned events (every secret of the account and region, "
        "whichever function rotates it) to an SNS topic. The rotation stacks' alarmTopicArn adds "
        f"only a CloudWatch alarm on their own function's errors. Version {VERSION}.")
    document["Parameters"] = {"alarmTopicArn": {
        "Type": "String",
        "AllowedPattern": "^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$",
        "ConstraintDescription": "an SNS topic ARN.",
        "Description": prose(
            "Required: the SNS topic to notify. Its access policy must let events.amazonaws.com "
            "publish to it (and cloudwatch.amazonaws.com, when the rotation stacks' alarmTopicArn "
            "names the same topic)."),
    }}
    document["Resources"] = {"RotationFailureRule": {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": "A Secrets Manager rotation failed or was abandoned (Secrets Manager events, via CloudTrail).",
            "EventPattern": {
                "source": flow("aws.secretsmanager"),
                "detail-type": flow("AWS Service Event via CloudTrail"),
                "detail": {"eventName": flow("RotationFailed", "RotationAbandoned")},
            },
            "Targets": [{"Id": "alarmTopic", "Arn": ref("alarmTopicArn")}],
        },
    }}
    document["Outputs"] = {"RotationFailureRuleArn": {
        "Description": "The ARN of the EventBridge rule.",
        "Value": get_att("RotationFailureRule.Arn"),
    }}
    return dump(document, "Generated by scripts/templates.py: edit it, not this.")
