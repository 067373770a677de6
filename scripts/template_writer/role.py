"""The execution role the templates create (unless roleArn names one): the Lambda basics and a
policy with exactly the rights the stack's rotation type needs."""
from ruamel.yaml.comments import CommentedSeq

from .emit import block_fn, comment, flow, fn, no_value, ref, sub
from .rotation_types import is_stack

# The column of a policy statement's dash in the template (Resources > role > Properties >
# Policies > PolicyDocument > Statement), where its comment goes.
STATEMENT_COLUMN = 14


def master_secret_arns():
    """masterSecretArn followed by additionalMasterSecretArns, comma-separated: MASTER_SECRET_ARNS,
    and (split) the superuser secrets the role may read. Only when HasAdditionalMasterSecrets:
    the "" default would add an empty entry."""
    return fn("Join", ",", [ref("masterSecretArn"), fn("Join", ",", ref("additionalMasterSecretArns"))])


def kms_via_secrets_manager():
    """The condition that a KMS call comes through Secrets Manager (in any partition)."""
    return {"StringEquals": {"kms:ViaService": sub("secretsmanager.${AWS::Region}.${AWS::URLSuffix}")}}


def when(condition_name, statement):
    """A statement present only when `condition_name` holds."""
    return block_fn("If", condition_name, statement, no_value())


def secrets_statement(types):
    """Read and update the secrets whose rotation names this function (with ElastiCache: only
    secretArn, when given)."""
    secrets = sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*")
    if any(t["elasticache"] for t in types):
        secrets = block_fn("If", "PinnedToSecret", ref("secretArn"), secrets)
    return {
        "Effect": "Allow",
        "Action": [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
        ],
        "Resource": secrets,
        "Condition": {"StringEquals": {
            "secretsmanager:resource/AllowRotationLambdaArn":
                sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}"),
        }},
    }


def statements(types):
    """The policy's statements, each commented with why it is there."""
    stack = is_stack(types)
    out = CommentedSeq()

    def add(statement, note=None, condition_name=None):
        """Appends a statement, behind `condition_name` in the one-stack template (only the types
        that need it get it), plain in a per-type template."""
        if condition_name is not None and stack:
            statement = when(condition_name, statement)
        out.append(statement)
        if note:
            comment(out, len(out) - 1, note, STATEMENT_COLUMN)

    add(secrets_statement(types), "Only secrets whose rotation names this function.")
    add({"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"})
    add(when("HasKmsKey", {
        "Effect": "Allow",
        "Action": flow("kms:Decrypt", "kms:GenerateDataKey"),
        "Resource": ref("kmsKeyArn"),
        "Condition": kms_via_secrets_manager(),
    }))
    if any(t["superuser"] for t in types):
        add(when("GrantMasterSecrets", {
            "Effect": "Allow",
            "Action": flow("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"),
            "Resource": block_fn("If", "HasAdditionalMasterSecrets",
                                 fn("Split", ",", master_secret_arns()), ref("masterSecretArn")),
        }), "Multi-user types: the superuser secrets (masterSecretArn, and\n"
            "additionalMasterSecretArns when given, as MASTER_SECRET_ARNS tells the function):\n"
            "read them, and describe them (the function resolves the secret's masterarn to a\n"
            "full ARN, and reads the tags of an RDS- or Redshift-managed one).")
    if any(t["master_params"] and not t["superuser"] for t in types):
        add(when("GrantGenericMasterSecret", {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": ref("masterSecretArn"),
        }), "Generic: masterSecretArn, when given, readable as in its SAR app (the generic\n"
            "function itself reads no other secret).")
    if any(t["rds_api"] for t in types):
        add({
            "Effect": "Allow",
            "Action": ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBClusterEndpoints"],
            "Resource": "*",
        }, "RDS multi-user types only: the RDS lookups (managed master secrets, replicas\n"
           "and readers, host checks). Describe calls are not resource-scoped here because\n"
           "the instances and clusters are named by the secrets at run time.", "UsesRdsApi")
    if any(t["redshift_api"] for t in types):
        add({
            "Effect": "Allow",
            "Action": ["redshift:DescribeClusters", "redshift-serverless:ListNamespaces",
                       "redshift-serverless:ListWorkgroups"],
            "Resource": "*",
        }, "Redshift multi-user only: where a Redshift-managed admin secret's cluster or\n"
           "Serverless workgroup listens. List calls cannot be resource-scoped, and the\n"
           "cluster is named by the secret's tag at run time.", "UsesRedshiftApi")
    if any(t["elasticache"] for t in types):
        add({
            "Effect": "Allow",
            "Action": flow("elasticache:DescribeUsers", "elasticache:ModifyUser"),
            "Resource": ref("elastiCacheUserArns"),
        }, "ElastiCache only: describe and set the passwords of exactly the users in\n"
           "elastiCacheUserArns (required; each ARN names the user's region). The Service\n"
           "Authorization Reference (list_amazonelasticache) gives both DescribeUsers (List)\n"
           "and ModifyUser (Write) the required resource type user\n"
           "(arn:PARTITION:elasticache:REGION:ACCOUNT:user:USER_ID), so neither needs \"*\";\n"
           "the function asks DescribeUsers for one UserId, the secret's.", "GrantElastiCacheUsers")
    if any(t["master_params"] for t in types):
        add(when("GrantMasterKmsKey", {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": ref("masterSecretKmsKeyArn"),
            "Condition": kms_via_secrets_manager(),
        }))
    return out


def role(types):
    """The RotationFunctionRole resource."""
    return {
        "Type": "AWS::IAM::Role",
        "Condition": "CreateRole",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            },
            "PermissionsBoundary": fn("If", "HasBoundary", ref("permissionsBoundaryArn"), no_value()),
            "ManagedPolicyArns": [
                sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
                block_fn("If", "HasVpc",
                         sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
                         no_value()),
            ],
            "Policies": [{
                "PolicyName": "SecretsManagerRotation",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements(types)},
            }],
        },
    }


def add_role(resources, types):
    """Adds the role to the Resources mapping (a CommentedMap), with its comment."""
    resources["RotationFunctionRole"] = role(types)
    comment(resources, "RotationFunctionRole",
            "One execution role for whichever function the stack creates (none when roleArn is given).", 2)
