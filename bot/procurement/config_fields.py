"""The readers of `.github/devex.yml` fields: text, people (logins and teams), and the shapes they take.

Each reader raises a pydantic custom error whose type is a problem code of
``bot.procurement.config.CONFIG_PROBLEM_CODES``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
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



# --- field readers ----------------------------------------------------------


def fail(code: str) -> PydanticCustomError:
    return PydanticCustomError(code, code)


def text_value(value: Any) -> str:
    if value is None:
        raise fail("empty_value")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise fail("not_text")
    text = str(value).strip()
    if not text:
        raise fail("empty_value")
    return text


def member(value: Any) -> str:
    """A list member: a login (stored without "@") or a team ("@org/team")."""
    if not isinstance(value, str):
        raise fail("login_unreadable")
    text = value.strip()
    team = TEAM_RE.match(text)
    if team:
        return f"@{team['org']}/{team['team']}"
    login = LOGIN_RE.match(text)
    if login:
        return login["login"]
    raise fail("login_unreadable")


def people(value: Any) -> Any:
    # "issuers:" with nothing after it is an empty list; "issuers: alice" is
    # a list of one.
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise fail("not_a_list")
    return list(value)


Member = Annotated[str, BeforeValidator(member)]


def split_members(members: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    logins = [m for m in members if not m.startswith("@")]
    teams = [tuple(m[1:].split("/", 1)) for m in members if m.startswith("@")]
    return logins, teams  # type: ignore[return-value]




def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail("empty_value" if value is None else "not_a_boolean")
    return value


def group(value: Any) -> Any:
    """A group of settings (``finance:``): a mapping; empty means every default."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("not_a_group")
    return value


def optional_code(value: Any) -> Any:
    """A code a department's systems know (an organization acronym, an object code): text, or nothing."""
    if value is None:
        return None
    return text_value(value)


# pydantic's own error types, for the few checks no validator above replaces.
_PYDANTIC_CODES = {
    "extra_forbidden": "unknown_key",
    "string_type": "not_text",
    "bool_type": "not_a_boolean",
    "bool_parsing": "not_a_boolean",
    "int_type": "not_an_integer",
    "int_parsing": "not_an_integer",
    "list_type": "not_a_list",
    "model_type": "not_a_group",
    "dict_type": "not_a_group",
    "invalid_key": "unknown_key",  # a key that is not text, e.g. "1:"
}


def _key(loc: tuple[int | str, ...], file_key: str) -> str:
    if not loc:
        return file_key
    key = str(loc[0])
    for part in loc[1:]:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def problems_of(error: ValidationError, codes: tuple[str, ...], file_key: str) -> list[tuple[str, str]]:
    """``(key, code)`` of each problem pydantic found, the key as written (``finance.commitment_required``)."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        kind = detail["type"]
        if kind in codes:
            code = kind
        else:
            code = _PYDANTIC_CODES.get(kind, f"{kind}: {detail['msg']}")
        problems.append((_key(detail["loc"], file_key), code))
    return problems



# --- groups -----------------------------------------------------------------


class FinanceConfig(BaseModel):
    """``finance:``: the two controls of the Financial Administration Act a department may turn on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commitment_required: bool = Field(
        False,
        description="Section 32: a valid opportunity waits in needs-commitment until a finance officer "
        "comments /commit REFERENCE.",
    )
    certification_required: bool = Field(
        False,
        description="Section 34: a merged pull request's payment is awaiting-certification until a technical "
        "authority comments /certify PAYMENT_ID.",
    )

    @field_validator("commitment_required", "certification_required", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> bool:
        return boolean(value)


class DisclosureConfig(BaseModel):
    """``disclosure:``: what the proactive-disclosure export cannot know by itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    owner_org: Optional[str] = Field(
        None,
        description="The department's organization on open.canada.ca (e.g. tbs-sct), written in each record.",
    )
    economic_object_code: Optional[str] = Field(
        None,
        description="The economic object code these contracts are charged to (e.g. 0491).",
    )

    @field_validator("owner_org", mode="before")
    @classmethod
    def _owner_org(cls, value: Any) -> Optional[str]:
        return optional_code(value)

    @field_validator("economic_object_code", mode="before")
    @classmethod
    def _object_code(cls, value: Any) -> Optional[str]:
        # Unquoted, 0491 is read as a number: the code keeps its four digits.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9999:
            return f"{value:04d}"
        return optional_code(value)
