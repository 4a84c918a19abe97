"""Acceptance: what a merge must show before it pays (PRODUCT.md "Acceptance").

Reads from GitHub what the gates look at (the pull request's reviews, the
writers among its reviewers, the check runs and commit statuses of its head
commit), lets `bot.procurement.pull_requests.failed_gates` decide, and, for
a merge that fails a gate, keeps it for `/accept` and says so on the
opportunity. The pull request's own comment is the payments stage's.
"""

from __future__ import annotations

from typing import Optional

from bot.messages import render
from bot.pipeline.context import Context
from bot.procurement import pull_requests as rules
from bot.procurement.config import RepoConfig
from bot.procurement.roles import WRITE_PERMISSIONS
from bot.stages.effects import audit, post
from bot.stages.people import People
from bot.stages.pull_request_facts import PullRequest
from storage import acceptance as kept
from storage.tables import MergeAcceptance, Opportunity


def facts_of(ctx: Context, pr: PullRequest, contractor: str, config: RepoConfig) -> rules.AcceptanceFacts:
    """What GitHub shows now of the pull request's reviews and its head commit's checks."""
    github = ctx.github
    reviews: list[rules.Review] = []
    checks: list[rules.Check] = []
    if github is not None:
        people = People(github, pr.repository, config)
        for raw in github.pull_reviews(pr.repository, pr.number):
            login = (raw.get("user") or {}).get("login") or ""
            state = str(raw.get("state") or "").upper()
            if not login or state not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                continue
            reviews.append(rules.Review(login, state, people.permission(login) in WRITE_PERMISSIONS))
        if config.acceptance.checks == "all" and pr.head_sha:
            for run in github.check_runs(pr.repository, pr.head_sha):
                outcome = run.get("conclusion") if run.get("status") == "completed" else "pending"
                checks.append(rules.Check(str(run.get("name") or "check"), str(outcome or "pending")))
            for status in github.commit_statuses(pr.repository, pr.head_sha):
                checks.append(rules.Check(str(status.get("context") or "status"), str(status.get("state") or "pending")))
    return rules.AcceptanceFacts(
        contractor=contractor,
        base_branch=pr.base_branch,
        default_branch=pr.default_branch or pr.base_branch,
        merged_by=pr.merged_by if pr.merged else None,
        reviews=reviews,
        checks=checks,
    )


def failures(ctx: Context, pr: PullRequest, contractor: str, config: Optional[RepoConfig]) -> list[rules.GateFailure]:
    """The gates the pull request fails now. An invalid configuration keeps every
    gate at its default (the strictest reading: one approval, all checks)."""
    config = config or RepoConfig()
    facts = facts_of(ctx, pr, contractor, config)
    wanted = config.acceptance
    return rules.failed_gates(facts, branch=wanted.branch, approvals=wanted.approvals, checks=wanted.checks)


def refuse_merge(ctx: Context, pr: PullRequest, opportunity: Opportunity, decision: rules.PayDecision, failed: list[rules.GateFailure]) -> MergeAcceptance:
    """A merge of the contractor that fails a gate: no payment; kept for `/accept`,
    recorded in the audit trail and said on the opportunity."""
    row = kept.keep_refused_merge(
        ctx.session,
        MergeAcceptance(
            opportunity_id=opportunity.id,
            repository=pr.repository,
            number=pr.number,
            author=pr.author,
            html_url=pr.html_url,
            merged_at=pr.merged_at or ctx.received_at,
            merged_by=pr.merged_by,
            milestone_wanted=rules.named_milestone(pr.body),
            failed=",".join(f.gate for f in failed),
        ),
    )
    audit(
        ctx,
        opportunity,
        "merge_not_accepted",
        url=pr.html_url,
        who=pr.merged_by,
        author=pr.author,
        milestone=decision.milestone.position if decision.milestone else None,
        gates=[f.gate for f in failed],
    )
    post(
        ctx,
        opportunity,
        render("merge_not_accepted", pr=pr, o=opportunity, decision=decision, failures=failed),
    )
    return row
