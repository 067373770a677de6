"""The template writer behind scripts/templates.py: each module builds one part of a SAM or
CloudFormation template as data (mappings, lists, CloudFormation short-form functions), and
emit.py writes the whole through ruamel.yaml.

  rotation_types  the rotation types (packaging/rotation-types.toml) and shared constants
  emit            the YAML side: short-form functions (!Ref, !If, ...), flow lists, folded
                  prose, comments, and the dump itself
  parameters      the Parameters section
  conditions      the Rules and Conditions sections
  role            the execution role and its policy
  functions       Globals, the functions, their invoke permissions and the errors alarm
  outputs         the Outputs section
  documents       whole templates: the one-stack template, a per-type template, the alerts template
  samconfig       the SAM CLI configuration files (TOML, written as text)
"""
