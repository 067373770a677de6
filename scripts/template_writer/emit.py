"""The YAML side of the templates: CloudFormation's short-form functions, flow lists, folded
prose, comments, and the dump through ruamel.yaml.

A template is built from plain dicts and lists, ruamel's CommentedMap / CommentedSeq where a
comment or a flow list is wanted, and Fn for every intrinsic function (`!Ref x`, `!If [...]`).
"""
import io
import textwrap

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString

# Prose longer than this is written as a folded block scalar (`>-`) wrapped at this width.
PROSE_WIDTH = 90


class Fn:
    """A CloudFormation intrinsic function in short form: `!<name> argument`. The argument is a
    scalar (`!Ref x`) or a list, written in flow style (`!If [a, b, c]`) unless flow is False."""

    def __init__(self, name, argument, flow=True):
        self.name = name
        self.argument = argument
        self.flow = flow


def fn(name, *arguments, flow=True):
    """An intrinsic function taking a list: fn("If", "HasRole", ref("roleArn"), "")."""
    return Fn(name, list(arguments), flow)


def block_fn(name, *arguments):
    """An intrinsic function whose list is written one item a line (for long or nested ones)."""
    return Fn(name, list(arguments), flow=False)


def ref(name):
    """!Ref name"""
    return Fn("Ref", name)


def get_att(name):
    """!GetAtt Resource.Attribute"""
    return Fn("GetAtt", name)


def sub(text):
    """!Sub text"""
    return Fn("Sub", text)


def condition(name):
    """!Condition name (a condition used inside another)."""
    return Fn("Condition", name)


def no_value():
    """!Ref AWS::NoValue: the property is left out."""
    return ref("AWS::NoValue")


def not_empty(value):
    """!Not [!Equals [value, ""]]"""
    return fn("Not", fn("Equals", value, ""))


def list_not_empty(name):
    """A list parameter is given: its entries joined are not "" (the "" default is one empty entry)."""
    return not_empty(fn("Join", "", ref(name)))


def flow(*items):
    """A list written in flow style: [a, b, c]."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def prose(text, width=PROSE_WIDTH):
    """Text for a reader (a Description): plain when short, else a folded block scalar (`>-`)
    wrapped at `width`; YAML folds the lines back into the one-line text."""
    if len(text) <= width:
        return text
    lines = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)
    if " ".join(lines) != text:
        raise ValueError(f"prose must be single-spaced, without leading or trailing space: {text!r}")
    folded = FoldedScalarString(text)
    folded.fold_pos = []
    position = 0
    for line in lines[:-1]:
        position += len(line)
        folded.fold_pos.append(position)  # the space after this line becomes a line break
        position += 1
    return folded


def quoted(text):
    """A string written double-quoted, escapes and all: for values such as a list of punctuation
    that a reader (and every YAML parser) should not have to puzzle over unquoted."""
    return DoubleQuotedScalarString(text)


def comment(container, key, text, column):
    """Writes `# text` (each line) before `key` of a CommentedMap, or before item `key` of a
    CommentedSeq, at `column`: where that key or item's dash starts. A text starting with an
    empty line leaves a blank line before the comment."""
    container.yaml_set_comment_before_after_key(key, before=text, indent=column)


def blank_line_before(container, key):
    """Leaves an empty line before `key` of a top-level mapping."""
    container.yaml_set_comment_before_after_key(key, before="\n", indent=0)


def represent_fn(representer, function):
    """How ruamel writes an Fn: a tagged scalar or a tagged (flow or block) sequence."""
    tag = "!" + function.name
    if isinstance(function.argument, list):
        return representer.represent_sequence(tag, function.argument, flow_style=function.flow)
    return representer.represent_scalar(tag, function.argument)


def dumper():
    """ruamel.yaml set up for CloudFormation: block style, sequences indented under their key
    (`- ` two columns in), no line wrapping (prose() folds what is long), no anchors/aliases."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.representer.add_representer(Fn, represent_fn)
    yaml.representer.ignore_aliases = lambda data: True
    return yaml


def dump(document, header):
    """The YAML text of a template (a CommentedMap of its sections), with `header` as its first
    comment line and an empty line before every section that is a mapping (Metadata, Parameters,
    ...; not the one-line AWSTemplateFormatVersion, Transform and Description)."""
    for key, value in document.items():
        if isinstance(value, dict) and not document.ca.items.get(key):
            blank_line_before(document, key)
    document.yaml_set_start_comment(header)
    out = io.StringIO()
    dumper().dump(document, out)
    return out.getvalue()
