"""Pay on pull (PRODUCT.md "Pay on pull"), decided from plain values.

Which opportunity a pull request's body names, which milestone, what merging
it pays or why it pays nothing, and whether it reverts an earlier pull
request. Nothing here knows HTTP, SQL or GitHub's API: the caller reads the
pull request and the stored contract and passes them in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional, Sequence

# GitHub's closing keywords, in any case, then the issue: `#12`,
# `owner/repo#12` or the issue's URL (any host: GitHub Enterprise Server too).
# GitHub also accepts a colon after the keyword ("Fixes: #12").
CLOSING_RE = re.compile(
    r"""
    (?<![\w/-])
    (?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)
    \s*:?\s+
    (?:
        (?P<repo>[A-Za-z0-9-]+/[A-Za-z0-9._-]+)?\#(?P<number>\d+)
      | https?://[^/\s]+/(?P<url_repo>[A-Za-z0-9-]+/[A-Za-z0-9._-]+)/issues/(?P<url_number>\d+)
    )
    (?![\w/])
    """,
    re.IGNORECASE | re.VERBOSE,
)

# A line of its own naming the opportunity: `Opportunity: #12` (French: `Occasion`),
# with the same three forms of reference.
OPPORTUNITY_LINE_RE = re.compile(
    r"""
    ^[ \t]*(?:[-*][ \t]+)?\**(?:opportunity|occasion)\**[ \t]*:\**[ \t]*
    (?:
        (?P<repo>[A-Za-z0-9-]+/[A-Za-z0-9._-]+)?\#(?P<number>\d+)
      | https?://[^/\s]+/(?P<url_repo>[A-Za-z0-9-]+/[A-Za-z0-9._-]+)/issues/(?P<url_number>\d+)
    )
    [ \t.]*$
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)

# A line `Milestone: 2` or `Milestone: Build` (French: `Jalon`).
MILESTONE_LINE_RE = re.compile(
    r"^[ \t]*(?:[-*][ \t]+)?\**(?:milestone|jalon)\**[ \t]*:\**[ \t]*(?P<which>\S[^\n]*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)

# GitHub's "Revert" button opens `Revert "TITLE"` with the body `Reverts owner/repo#12`.
REVERTS_RE = re.compile(r"^[ \t]*Reverts[ \t]+(?P<repo>[A-Za-z0-9-]+/[A-Za-z0-9._-]+)\#(?P<number>\d+)\b", re.MULTILINE)

# Text GitHub does not read references from: fenced code and HTML comments
# (pull request templates often hold commented-out examples).
FENCED_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}).*?(?:^[ \t]{0,3}\1[`~]*[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
INLINE_CODE_RE = re.compile(r"`[^`\n]*`")


@dataclass(frozen=True)
class IssueReference:
    """An issue a pull request names: `repository` is the full name."""

    repository: str
    number: int


def _readable(body: Optional[str]) -> str:
    text = HTML_COMMENT_RE.sub("", body or "")
    text = FENCED_RE.sub("", text)
    return INLINE_CODE_RE.sub("", text)


def _reference(match: re.Match, repository: str) -> IssueReference:
    if match["url_number"]:
        return IssueReference(match["url_repo"], int(match["url_number"]))
    return IssueReference(match["repo"] or repository, int(match["number"]))


def named_issues(body: Optional[str], repository: str) -> list[IssueReference]:
    """The issues the body names as an opportunity, in order, each once:
    `Opportunity: #N` lines first, then closing keywords. `repository` is the
    pull request's base repository (what a bare `#N` means)."""
    text = _readable(body)
    found: list[IssueReference] = []
    for pattern in (OPPORTUNITY_LINE_RE, CLOSING_RE):
        for match in pattern.finditer(text):
            ref = _reference(match, repository)
            if all(ref.repository.lower() != f.repository.lower() or ref.number != f.number for f in found):
                found.append(ref)
    return found


def named_milestone(body: Optional[str]) -> Optional[str]:
    """What a `Milestone: ...` line says (a number or a name), or None."""
    match = MILESTONE_LINE_RE.search(_readable(body))
    return match["which"].strip().strip("*").strip() if match else None


def reverted_pull_request(body: Optional[str]) -> Optional[IssueReference]:
    """The pull request a GitHub revert pull request undoes, or None.

    GitHub's "Revert" button titles it `Revert "TITLE"` and writes the body
    `Reverts owner/repo#N`; the body's line is what names the pull request,
    so an edited title does not hide a revert."""
    match = REVERTS_RE.search(_readable(body))
    if match is None:
        return None
    return IssueReference(match["repo"], int(match["number"]))


# ---------------------------------------------------------------- the pay decision


@dataclass(frozen=True)
class MilestoneFacts:
    position: int
    name: str
    amount: Decimal  # the milestone's share of the contract
    status: str  # open, accepted or void
    paid: bool  # a payment exists for it (payable or paid)


@dataclass(frozen=True)
class ContractFacts:
    """What the stored opportunity says about its contract."""

    state: str
    contractor: Optional[str]
    contract_value: Optional[Decimal]
    committed: Decimal  # sum of the contract's payments that are not void
    milestones: Sequence[MilestoneFacts]


# Why a pull request pays nothing (each has a message in templates/*/pull_request.md).
NOT_CONTRACTOR = "not_contractor"
NO_CONTRACT = "no_contract"
TERMINATED = "terminated"
COMPLETED = "completed"
MILESTONE_PAID = "milestone_paid"
MILESTONE_VOID = "milestone_void"
NO_SUCH_MILESTONE = "no_such_milestone"
ALL_PAID = "all_paid"
OVER_CONTRACT = "over_contract"
SEVERAL_OPPORTUNITIES = "several_opportunities"

REASONS = (
    NOT_CONTRACTOR,
    NO_CONTRACT,
    TERMINATED,
    COMPLETED,
    MILESTONE_PAID,
    MILESTONE_VOID,
    NO_SUCH_MILESTONE,
    ALL_PAID,
    OVER_CONTRACT,
    SEVERAL_OPPORTUNITIES,
    "other_repository",
)


@dataclass(frozen=True)
class PayDecision:
    """Either `milestone` (what merging pays: its `amount`) or `reason` (why nothing)."""

    milestone: Optional[MilestoneFacts] = None  # also the one refused, for milestone_paid and milestone_void
    reason: Optional[str] = None
    wanted: Optional[str] = None  # the `Milestone:` line, as written

    @property
    def pays(self) -> bool:
        return self.reason is None and self.milestone is not None

    @property
    def amount(self) -> Optional[Decimal]:
        return self.milestone.amount if self.milestone else None


def _same_login(a: Optional[str], b: Optional[str]) -> bool:
    return bool(a) and bool(b) and a.lstrip("@").lower() == b.lstrip("@").lower()


def pick_milestone(milestones: Sequence[MilestoneFacts], wanted: Optional[str]) -> tuple[Optional[MilestoneFacts], Optional[str]]:
    """The milestone a pull request earns: the one `wanted` names (its number,
    else its name, without regard to case), else the first one not yet earned."""
    ordered = sorted(milestones, key=lambda m: m.position)
    if wanted:
        text = wanted.strip().lstrip("#").strip()
        chosen = None
        if text.isdigit():
            chosen = next((m for m in ordered if m.position == int(text)), None)
        if chosen is None:
            folded = " ".join(wanted.split()).casefold()
            chosen = next((m for m in ordered if " ".join(m.name.split()).casefold() == folded), None)
        if chosen is None:
            return None, NO_SUCH_MILESTONE
        if chosen.status == "void":
            return chosen, MILESTONE_VOID
        if chosen.paid or chosen.status == "accepted":
            return chosen, MILESTONE_PAID
        return chosen, None
    chosen = next((m for m in ordered if m.status == "open" and not m.paid), None)
    return (chosen, None) if chosen else (None, ALL_PAID)


def decide(author: str, contract: ContractFacts, wanted: Optional[str], same_repository: bool = True) -> PayDecision:
    """What merging a pull request by `author` that names this opportunity pays.
    `same_repository`: the pull request lives in the opportunity's repository
    (work merged elsewhere is not the work procured)."""
    if not same_repository:
        return PayDecision(reason="other_repository", wanted=wanted)
    if contract.state == "terminated":
        return PayDecision(reason=TERMINATED, wanted=wanted)
    if contract.state == "completed":
        return PayDecision(reason=COMPLETED, wanted=wanted)
    if contract.state != "awarded" or not contract.contractor or contract.contract_value is None:
        return PayDecision(reason=NO_CONTRACT, wanted=wanted)
    if not _same_login(author, contract.contractor):
        return PayDecision(reason=NOT_CONTRACTOR, wanted=wanted)
    milestone, reason = pick_milestone(contract.milestones, wanted)
    if reason is not None:
        return PayDecision(milestone=milestone, reason=reason, wanted=wanted)
    if milestone.amount <= 0 or contract.committed + milestone.amount > contract.contract_value:
        return PayDecision(milestone=milestone, reason=OVER_CONTRACT, wanted=wanted)
    return PayDecision(milestone=milestone, wanted=wanted)


def completes_contract(milestones: Sequence[MilestoneFacts], accepted_position: int) -> bool:
    """Whether accepting this milestone leaves none to do (void ones do not count)."""
    return all(m.status in ("accepted", "void") or m.position == accepted_position for m in milestones)


def days_late(due_at: datetime, now: datetime) -> int:
    """Whole days since a payment fell due (0 in its first day late)."""
    return max(0, (now - due_at).days)


# ---------------------------------------------------------------- acceptance: what a merge must show

# The gates a merged pull request of the contractor must pass before it pays
# (PRODUCT.md "Acceptance"); each has words in templates/*/_acceptance.md.
WRONG_BRANCH = "wrong_branch"
MERGED_BY_CONTRACTOR = "merged_by_contractor"
APPROVALS_MISSING = "approvals_missing"
CHECKS_FAILING = "checks_failing"
GATES = (WRONG_BRANCH, MERGED_BY_CONTRACTOR, APPROVALS_MISSING, CHECKS_FAILING)

# Why a pull request pays nothing and cannot be accepted either: it lives in
# another repository than the opportunity it names.
OTHER_REPOSITORY = "other_repository"

# Check-run conclusions and commit-status states that pass.
PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


@dataclass(frozen=True)
class Review:
    """One submitted review, in the order GitHub lists them (oldest first)."""

    reviewer: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED (any case)
    writer: bool  # the reviewer has write access to the repository


@dataclass(frozen=True)
class Check:
    """A check run or commit status of the head commit: `outcome` is a check run's
    conclusion (`pending` while not completed) or a status's state."""

    name: str
    outcome: str


@dataclass(frozen=True)
class AcceptanceFacts:
    contractor: str
    base_branch: str
    default_branch: str
    merged_by: Optional[str]  # None before the merge
    reviews: Sequence[Review]
    checks: Sequence[Check]


@dataclass(frozen=True)
class GateFailure:
    gate: str
    needed: int = 0  # approvals_missing: how many are needed
    have: int = 0  # approvals_missing: how many count
    branch: str = ""  # wrong_branch: the branch it must be merged into
    failing: tuple[str, ...] = ()  # checks_failing: "name: outcome" of each check that does not pass


def approving_reviewers(reviews: Sequence[Review], contractor: str) -> list[str]:
    """Reviewers whose latest approving-or-not review approves: writers, not the
    contractor. A comment-only review changes nothing; a later "changes
    requested" or a dismissal cancels that reviewer's approval."""
    latest: dict[str, tuple[str, str, bool]] = {}
    for review in reviews:
        state = review.state.upper()
        if state not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            continue
        latest[review.reviewer.lower()] = (review.reviewer, state, review.writer)
    return [
        who for who, state, writer in latest.values() if state == "APPROVED" and writer and not _same_login(who, contractor)
    ]


def failed_gates(facts: AcceptanceFacts, branch: str = "default", approvals: int = 1, checks: str = "all") -> list[GateFailure]:
    """The gates this pull request does not pass (none: its merge pays). Before
    the merge (`merged_by` None) the merger's gate is not known yet."""
    failures = []
    wanted = facts.default_branch if branch == "default" else branch
    if facts.base_branch != wanted:
        failures.append(GateFailure(WRONG_BRANCH, branch=wanted))
    if facts.merged_by is not None and _same_login(facts.merged_by, facts.contractor):
        failures.append(GateFailure(MERGED_BY_CONTRACTOR))
    have = len(approving_reviewers(facts.reviews, facts.contractor))
    if have < approvals:
        failures.append(GateFailure(APPROVALS_MISSING, needed=approvals, have=have))
    if checks == "all":
        failing = tuple(f"{c.name}: {c.outcome}" for c in facts.checks if c.outcome.lower() not in PASSING_CONCLUSIONS)
        if failing:
            failures.append(GateFailure(CHECKS_FAILING, failing=failing))
    return failures
