"""What `.github/devex.yml` is read with: YAML 1.2 scalars, and the readers of
its fields (people, text, repositories), each failing with a problem code of
`bot.procurement.config.CONFIG_PROBLEM_CODES`."""

from __future__ import annotations

import re
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

# Keys zoneinfo loads that name the host's settings, not a place: a
# deadline must not move when the bot moves to another server.
HOST_DEPENDENT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

# GitHub's label names are at most 50 characters.
MAX_LABEL_CHARS = 50

# A person, "@login" or "login", or a team, "@org/team-slug". Logins are
# letters, digits and single inner hyphens (39 at most); team slugs are what
# GitHub derives from a team name (letters, digits, "-", "_", ".").
LOGIN_RE = re.compile(
    r"""
    ^@?
    (?P<login>[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})
    $
    """,
    re.VERBOSE,
)
TEAM_RE = re.compile(
    r"""
    ^@?
    (?P<org>[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})
    /
    (?P<team>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})
    $
    """,
    re.VERBOSE,
)

# "owner/repo" as GitHub allows it: an owner login, a name of letters,
# digits, ".", "-" and "_" that is not "." or "..".
REPOSITORY_RE = re.compile(
    r"""
    ^
    [A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}
    /
    (?!\.\.?$)[A-Za-z0-9._-]{1,100}
    $
    """,
    re.VERBOSE,
)

# A web address with no whitespace: the terms must be a link people can open.
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

# --- YAML with 1.2 scalars --------------------------------------------------

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # A key written twice would silently keep the last one; the author
        # meant one of them, and we cannot know which.
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                if key_node.value in seen:
                    raise _DuplicateKey(key_node.value)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# At most 18 digits: int() of thousands of digits is refused by Python, and no
# setting here needs more. Longer runs stay text and fail their field's check.
_ConfigLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^[-+]?[0-9]{1,18}$"), list("-+0123456789")
)
# Base 10 always: "030" is thirty days, not octal 24.
_ConfigLoader.add_constructor(
    _INT_TAG, lambda loader, node: int(loader.construct_scalar(node), 10)
)


# --- field readers ----------------------------------------------------------


def _fail(code: str) -> PydanticCustomError:
    return PydanticCustomError(code, code)


def _text(value: Any) -> str:
    if value is None:
        raise _fail("empty_value")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail("not_text")
    text = str(value).strip()
    if not text:
        raise _fail("empty_value")
    return text


def _member(value: Any) -> str:
    """A list member: a login (stored without "@") or a team ("@org/team")."""
    if not isinstance(value, str):
        raise _fail("login_unreadable")
    text = value.strip()
    team = TEAM_RE.match(text)
    if team:
        return f"@{team['org']}/{team['team']}"
    login = LOGIN_RE.match(text)
    if login:
        return login["login"]
    raise _fail("login_unreadable")


def _people(value: Any) -> Any:
    # "issuers:" with nothing after it is an empty list; "issuers: alice" is
    # a list of one.
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise _fail("not_a_list")
    return list(value)


Member = Annotated[str, BeforeValidator(_member)]


def _split_members(members: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    logins = [m for m in members if not m.startswith("@")]
    teams = [tuple(m[1:].split("/", 1)) for m in members if m.startswith("@")]
    return logins, teams  # type: ignore[return-value]
