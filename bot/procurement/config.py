"""Repository configuration: ``.github/devex.yml`` read into one typed model.

Every key has a default and says what it is for (see the field descriptions
of :class:`RepoConfig`). A file that cannot be used is never replaced by the
defaults: :func:`parse_config` raises :class:`ConfigError` naming each key
and its problem, and the bot says so on the next opportunity.

The YAML is read with YAML 1.2 scalars (``bot.procurement.yaml12``), so
``14:00`` stays a time of day and amounts become Decimal without passing
through float.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.procurement.dates import DateError, parse_time_of_day
from bot.procurement.config_fields import (
    HOST_DEPENDENT_ZONES,
    MAX_LABEL_CHARS,
    REPOSITORY_RE,
    URL_RE,
    DisclosureConfig,
    FinanceConfig,
    Member,
    boolean,
    fail as _fail,
    group,
    problems_of,
    people as _people,
    split_members as _split_members,
    text_value as _text,
)
from bot.procurement.money import CENT, AmountError, parse_amount
from bot.procurement.yaml12 import DuplicateKey, load_yaml

__all__ = [
    "CONFIG_PATH",
    "CONFIG_PROBLEM_CODES",
    "PROGRAM_VALUE_CAP",
    "ConfigError",
    "RepoConfig",
    "parse_config",
]

#: Where the configuration lives in a repository (default branch).
CONFIG_PATH = ".github/devex.yml"

#: The program's ceiling for an opportunity: a repository may lower it, never raise it.
PROGRAM_VALUE_CAP = Decimal("9999.00")

#: The key a problem with the file as a whole is reported under.
FILE_KEY = "(file)"

#: Problem codes of ``ConfigError.problems`` (second element). A problem
#: pydantic reports that none of these covers comes as "type: message".
CONFIG_PROBLEM_CODES: tuple[str, ...] = (
    "invalid_yaml",
    "not_a_mapping",
    "duplicate_key",
    "unknown_key",
    "empty_value",
    "not_text",
    "not_a_boolean",
    "not_an_integer",
    "not_a_list",
    "out_of_range",
    "label_too_long",
    "amount_unreadable",
    "amount_too_precise",
    "value_cap_not_positive",
    "value_cap_over_program_cap",
    "currency_not_cad",
    "timezone_unknown",
    "time_unreadable",
    "bidding_unknown",
    "login_unreadable",
    "repository_unreadable",
    "url_unreadable",
    "not_a_group",
    "window_out_of_range",
)

class ConfigError(ValueError):
    """A configuration that cannot be used.

    ``problems`` lists ``(key, problem)``: the key as written (``issuers[2]``
    for a list member, ``(file)`` for the file as a whole) and a code from
    :data:`CONFIG_PROBLEM_CODES`, or a short technical text for the rare
    problem no code covers.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {problem}" for key, problem in problems))
        self.problems = problems


class RepoConfig(BaseModel):
    """The settings of one repository, from ``.github/devex.yml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(
        "opportunity",
        description="The issue label that makes an issue an opportunity.",
    )
    value_cap: Decimal = Field(
        PROGRAM_VALUE_CAP,
        description="Highest value of an opportunity in this repository, CAD; "
        "more than 0 and at most the program's 9,999.00.",
    )
    currency: Literal["CAD"] = Field(
        "CAD",
        description="Currency of every amount; only CAD is allowed.",
    )
    amounts_include_tax: bool = Field(
        True,
        description="Whether values and bids include sales tax (GST/HST).",
    )
    timezone: str = Field(
        "America/Toronto",
        description="IANA time zone in which a bare deadline date closes.",
    )
    deadline_time: time = Field(
        time(14, 0),
        description="Time of day at which a bare deadline date closes, e.g. 14:00.",
    )
    bidding: Literal["sealed", "open"] = Field(
        "sealed",
        description="sealed: proposals are hidden until the deadline; open: bid comments stay visible.",
    )
    issuers: list[Member] = Field(
        default_factory=list,
        description="Logins or @org/team allowed to issue, extend and cancel, "
        "besides collaborators with write access.",
    )
    evaluators: list[Member] = Field(
        default_factory=list,
        description="Logins or @org/team allowed to score and recommend an award, besides the issuers.",
    )
    contract_officers: list[Member] = Field(
        default_factory=list,
        description="Logins or @org/team who approve awards and mark payments paid; "
        "repository admins when empty.",
    )
    finance_officers: list[Member] = Field(
        default_factory=list,
        description="Logins or @org/team who commit funds (/commit) and mark payments paid; "
        "the contract officers when empty.",
    )
    review_repository: str | None = Field(
        None,
        description="owner/repo where evaluation and award-review issues are opened; "
        "default the opportunity's own repository.",
    )
    payment_terms_days: int = Field(
        30,
        description="Days after a milestone is accepted (its pull request merged) that its payment is due.",
    )
    terms_url: str = Field(
        "https://github.com/canada-ca/devex-bot/blob/main/docs/terms.md",
        description="The terms a bidder accepts with /register.",
    )
    terms_version: str = Field(
        "2026-11",
        description="Version of those terms, recorded with each registration.",
    )
    board: bool = Field(
        True,
        description="Whether this repository's opportunities appear on the public board "
        "(only public repositories ever do).",
    )
    splitting_window_days: int = Field(
        365,
        description="Days back that awards to the same contractor by the same organization are added up "
        "to flag contract splitting (1 to 3650).",
    )
    finance: FinanceConfig = Field(default_factory=FinanceConfig, description=FinanceConfig.__doc__)
    disclosure: DisclosureConfig = Field(default_factory=DisclosureConfig, description=DisclosureConfig.__doc__)

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, value: Any) -> str:
        text = _text(value)
        if len(text) > MAX_LABEL_CHARS:
            raise _fail("label_too_long")
        return text

    @field_validator("value_cap", mode="before")
    @classmethod
    def _value_cap(cls, value: Any) -> Decimal:
        if value is None:
            raise _fail("empty_value")
        if isinstance(value, bool):
            raise _fail("amount_unreadable")
        try:
            if isinstance(value, (int, float, Decimal)):
                amount = parse_amount(str(Decimal(str(value))))
            elif isinstance(value, str):
                amount = parse_amount(value)
            else:
                raise _fail("amount_unreadable")
        except AmountError as error:
            raise _fail(error.code) from None
        if amount <= 0:
            raise _fail("value_cap_not_positive")
        if amount > PROGRAM_VALUE_CAP:
            raise _fail("value_cap_over_program_cap")
        return amount.quantize(CENT)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        text = _text(value).upper()
        if text != "CAD":
            raise _fail("currency_not_cad")
        return text

    @field_validator("amounts_include_tax", "board", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> bool:
        return boolean(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: Any) -> str:
        text = _text(value)
        if text in HOST_DEPENDENT_ZONES:
            raise _fail("timezone_unknown")
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # ValueError: keys such as "../etc" or "" that zoneinfo refuses.
            raise _fail("timezone_unknown") from None
        return text

    @field_validator("deadline_time", mode="before")
    @classmethod
    def _deadline_time(cls, value: Any) -> time:
        if isinstance(value, time) and value.tzinfo is None:
            return value
        if not isinstance(value, str):
            raise _fail("empty_value" if value is None else "time_unreadable")
        try:
            return parse_time_of_day(value)
        except DateError:
            raise _fail("time_unreadable") from None

    @field_validator("bidding", mode="before")
    @classmethod
    def _bidding(cls, value: Any) -> str:
        text = _text(value).lower()
        if text not in ("sealed", "open"):
            raise _fail("bidding_unknown")
        return text

    @field_validator("issuers", "evaluators", "contract_officers", "finance_officers", mode="before")
    @classmethod
    def _people_list(cls, value: Any) -> Any:
        return _people(value)

    @field_validator("review_repository", mode="before")
    @classmethod
    def _review_repository(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not REPOSITORY_RE.match(value.strip()):
            raise _fail("repository_unreadable")
        return value.strip()

    @field_validator("payment_terms_days", mode="before")
    @classmethod
    def _payment_terms_days(cls, value: Any) -> int:
        if value is None:
            raise _fail("empty_value")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail("not_an_integer")
        if not 0 <= value <= 365:
            raise _fail("out_of_range")
        return value

    @field_validator("splitting_window_days", mode="before")
    @classmethod
    def _splitting_window_days(cls, value: Any) -> int:
        if value is None:
            raise _fail("empty_value")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail("not_an_integer")
        if not 1 <= value <= 3650:
            raise _fail("window_out_of_range")
        return value

    @field_validator("finance", "disclosure", mode="before")
    @classmethod
    def _group(cls, value: Any) -> Any:
        return group(value)

    @field_validator("terms_url", mode="before")
    @classmethod
    def _terms_url(cls, value: Any) -> str:
        text = _text(value)
        if not URL_RE.match(text):
            raise _fail("url_unreadable")
        return text

    @field_validator("terms_version", mode="before")
    @classmethod
    def _terms_version(cls, value: Any) -> str:
        return _text(value)

    @property
    def zone(self) -> ZoneInfo:
        """The ``timezone`` as a tzinfo."""
        return ZoneInfo(self.timezone)

    @property
    def issuer_logins(self) -> list[str]:
        return _split_members(self.issuers)[0]

    @property
    def issuer_teams(self) -> list[tuple[str, str]]:
        """``(org, team_slug)`` of each ``@org/team`` in ``issuers``."""
        return _split_members(self.issuers)[1]

    @property
    def evaluator_logins(self) -> list[str]:
        return _split_members(self.evaluators)[0]

    @property
    def evaluator_teams(self) -> list[tuple[str, str]]:
        """``(org, team_slug)`` of each ``@org/team`` in ``evaluators``."""
        return _split_members(self.evaluators)[1]

    @property
    def contract_officer_logins(self) -> list[str]:
        return _split_members(self.contract_officers)[0]

    @property
    def contract_officer_teams(self) -> list[tuple[str, str]]:
        """``(org, team_slug)`` of each ``@org/team`` in ``contract_officers``."""
        return _split_members(self.contract_officers)[1]

    @property
    def finance_officer_logins(self) -> list[str]:
        return _split_members(self.finance_officers)[0]

    @property
    def finance_officer_teams(self) -> list[tuple[str, str]]:
        """``(org, team_slug)`` of each ``@org/team`` in ``finance_officers``."""
        return _split_members(self.finance_officers)[1]


def parse_config(text: str | None) -> RepoConfig:
    """Read ``.github/devex.yml``: defaults for no file or an empty one.

    Raises :class:`ConfigError` listing every problem; never falls back to
    the defaults for a file that has any.
    """
    if text is None or not text.strip():
        return RepoConfig()
    try:
        data = load_yaml(text)
    except DuplicateKey as error:
        raise ConfigError([(error.key, "duplicate_key")]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError([(FILE_KEY, f"invalid_yaml{where}")]) from None
    except (ValueError, RecursionError):
        # Deeply nested or otherwise pathological documents.
        raise ConfigError([(FILE_KEY, "invalid_yaml")]) from None
    if data is None:
        return RepoConfig()  # only comments or "---": nothing is set
    if not isinstance(data, dict):
        raise ConfigError([(FILE_KEY, "not_a_mapping")])
    try:
        return RepoConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(problems_of(error, CONFIG_PROBLEM_CODES, FILE_KEY)) from None
