"""The Rules section (checked by CloudFormation before anything is created) and the Conditions
section (which resources, statements and values a stack gets)."""
from ruamel.yaml.comments import CommentedMap

from .emit import block_fn, comment, condition, flow, fn, list_not_empty, not_empty, prose, ref
from .rotation_types import is_stack


def assertion(check, description):
    """A rule's one assertion."""
    return [{"Assert": check, "AssertDescription": prose(description)}]


def rules(types):
    """The template's Rules. In the one-stack template a rule for some types carries a
    RuleCondition on rotationType."""
    stack = is_stack(types)
    out = CommentedMap()
    # Rules cannot use Fn::Join; a list with an empty entry, as the "" default is, counts as not given.
    out["VpcSubnetsAndSecurityGroupsTogether"] = {"Assertions": assertion(
        block_fn("Or",
                 fn("And", fn("Contains", ref("vpcSubnetIds"), ""), fn("Contains", ref("vpcSecurityGroupIds"), "")),
                 fn("And", fn("Not", fn("Contains", ref("vpcSubnetIds"), "")),
                    fn("Not", fn("Contains", ref("vpcSecurityGroupIds"), "")))),
        "Give both vpcSubnetIds and vpcSecurityGroupIds (a function in a VPC needs both), or "
        "neither; no empty entries.")}
    comment(out, "VpcSubnetsAndSecurityGroupsTogether",
            "Lambda in a VPC needs subnets and security groups. Given one list without the other,\n"
            "the stack is refused before anything is created, instead of quietly creating a\n"
            "function outside the VPC.", 2)
    multi = [t["name"] for t in types if t["superuser"]]
    if multi:
        when = {"RuleCondition": fn("Contains", flow(*multi), ref("rotationType"))} if stack else {}
        out["MasterSecretArnRequired"] = {**when, "Assertions": assertion(
            fn("Not", fn("Equals", ref("masterSecretArn"), "")),
            "Multi-user rotation needs masterSecretArn, the full ARN of the superuser secret the "
            "rotated secrets name in masterarn: without it the function may not read that secret "
            "and every rotation fails.")}
        comment(out, "MasterSecretArnRequired",
                "Without it the stack deployed and the first setSecret failed with AccessDenied.", 2)
        out["AdditionalMasterSecretArnsWithoutEmptyEntries"] = {**when, "Assertions": assertion(
            block_fn("Or",
                     fn("EachMemberEquals", ref("additionalMasterSecretArns"), ""),
                     fn("Not", fn("Contains", ref("additionalMasterSecretArns"), ""))),
            "additionalMasterSecretArns is a comma-separated list of full secret ARNs, without "
            "empty entries (or empty).")}
    if any(t["elasticache"] for t in types):
        when = {"RuleCondition": fn("Equals", ref("rotationType"), "ElastiCacheUser")} if stack else {}
        out["ElastiCacheUserArnsRequired"] = {**when, "Assertions": assertion(
            fn("Not", fn("Contains", ref("elastiCacheUserArns"), "")),
            "ElastiCache rotation needs elastiCacheUserArns, the ARNs of the users this function may "
            "describe and modify (comma-separated, no empty entries): the role may change the "
            "password of those users only.")}
    return out


def any_of(types, flag):
    """The condition that the stack's type has `flag`: None when no type in the template has it,
    True in a per-type template (no condition needed), else an expression on the Is<type> conditions."""
    chosen = [t for t in types if t[flag]]
    if not chosen:
        return None
    if not is_stack(types):
        return True
    if len(chosen) == 1:
        return condition(f"Is{chosen[0]['name']}")
    return fn("Or", *[condition(f"Is{t['name']}") for t in chosen])


def conditions(types):
    """The template's Conditions."""
    stack = is_stack(types)
    out = CommentedMap()
    if stack:
        for t in types:
            out[f"Is{t['name']}"] = fn("Equals", ref("rotationType"), t["name"])
    flags = {}
    for name, flag in (("TakesMasterSecret", "master_params"), ("IsMultiUser", "superuser"),
                       ("UsesRdsApi", "rds_api"), ("UsesRedshiftApi", "redshift_api"),
                       ("UsesElastiCacheApi", "elasticache")):
        flags[flag] = any_of(types, flag)
        if stack and flags[flag] is not None:
            out[name] = flags[flag]

    def given_and(name, guard, value):
        """`value` alone in a per-type template, `!And [!Condition guard, value]` in the stack."""
        out[name] = fn("And", condition(guard), value) if stack else value

    if flags["elasticache"] is not None:
        given_and("PinnedToSecret", "UsesElastiCacheApi", not_empty(ref("secretArn")))
        comment(out, "PinnedToSecret", "secretArn pins the ElastiCache function (and its role) to one secret.", 2)
        if stack:
            out["GrantElastiCacheUsers"] = fn("And", condition("UsesElastiCacheApi"), list_not_empty("elastiCacheUserArns"))
            comment(out, "GrantElastiCacheUsers",
                    "elastiCacheUserArns is required for ElastiCache (a rule); its \"\" default for the\n"
                    "other types must never reach a policy.", 2)
    if flags["rds_api"] is not None:
        out["HasRdsEndpoint"] = not_empty(ref("rdsEndpoint"))
        comment(out, "HasRdsEndpoint",
                "The SDK takes AWS_ENDPOINT_URL_RDS=\"\" as an endpoint: an empty parameter must leave\n"
                "the variable out, not set it empty.", 2)
    if flags["master_params"] is not None:
        if flags["superuser"] is not None:
            given_and("GrantMasterSecrets", "IsMultiUser", not_empty(ref("masterSecretArn")))
            comment(out, "GrantMasterSecrets",
                    "Multi-user: masterSecretArn is required (a rule); the additional superuser secrets\n"
                    "join it only when given (the \"\" default is one empty entry).", 2)
            out["HasAdditionalMasterSecrets"] = list_not_empty("additionalMasterSecretArns")
        generic = [t for t in types if t["master_params"] and not t["superuser"]]
        if generic:
            given_and("GrantGenericMasterSecret", f"Is{generic[0]['name']}", not_empty(ref("masterSecretArn")))
        given_and("GrantMasterKmsKey", "TakesMasterSecret", not_empty(ref("masterSecretKmsKeyArn")))
    out["UseAl2"] = fn("Equals", ref("runtime"), "provided.al2")
    out["HasSubnets"] = list_not_empty("vpcSubnetIds")
    comment(out, "HasSubnets", "A function in a VPC needs both lists; a rule refuses a stack given only one of them.", 2)
    out["HasSecurityGroups"] = list_not_empty("vpcSecurityGroupIds")
    out["HasVpc"] = fn("And", condition("HasSubnets"), condition("HasSecurityGroups"))
    out["HasKmsKey"] = not_empty(ref("kmsKeyArn"))
    out["HasAlarmTopic"] = not_empty(ref("alarmTopicArn"))
    out["HasRole"] = not_empty(ref("roleArn"))
    out["CreateRole"] = fn("Equals", ref("roleArn"), "")
    out["HasBoundary"] = not_empty(ref("permissionsBoundaryArn"))
    return out
