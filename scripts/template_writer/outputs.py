"""The Outputs section: the function's ARN (RotationLambdaARN, as the SAR apps name it) and its
role's."""
from ruamel.yaml.comments import CommentedMap

from .emit import block_fn, comment, fn, get_att, ref
from .rotation_types import is_stack


def outputs(types):
    """The template's Outputs."""
    if is_stack(types):
        value = CommentedMap()
        value["Description"] = "The ARN of the rotation function; give it to RotateSecret or a RotationSchedule."
        value["Value"] = block_fn("Join", "", [fn("If", f"Is{t['name']}", get_att(f"{t['sar_app']}.Arn"), "") for t in types])
        comment(value, "Value", 'Exactly one function exists: the others contribute "".', 4)
    else:
        value = {
            "Description": "The ARN of the rotation function; give it to RotateSecret or a RotationSchedule.",
            "Value": get_att(f"{types[0]['sar_app']}.Arn"),
        }
    return {
        "RotationLambdaRoleARN": {
            "Description": "The ARN of the rotation function's execution role (roleArn when given).",
            "Value": fn("If", "HasRole", ref("roleArn"), get_att("RotationFunctionRole.Arn")),
        },
        "RotationLambdaARN": value,
    }
