"""Separation of duties, deadlines that exist, and messages people can act on
(PRODUCT.md "People", "Comment commands", "Configuration"). End to end
through signed webhooks on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from storage import procurement as store
from storage.tables import Registration
from tests.conftest import REPO
from tests.flows import bid, english, french, last_reply, open_opportunity, register

MENTION = re.compile(r"(?<![\w`/])@([A-Za-z0-9][A-Za-z0-9-]*)")


def test_a_conflicted_person_cannot_register(harness, sim):
    number = open_opportunity(harness)
    harness.comment(number, "pm-alice", "/register")  # the author and an issuer
    reply = last_reply(harness, number)
    assert "**`/register` was not carried out.** You have a conflict of interest on this opportunity (the opportunity's author, an issuer)" in english(reply)
    assert "Vous êtes en conflit d'intérêts pour cette occasion" in french(reply)
    with Session(harness.engine) as session:
        assert session.exec(select(Registration)).all() == []


def test_extend_with_a_date_time_without_offset_is_answered_for_what_it_is(harness, sim):
    number = open_opportunity(harness)
    harness.comment(number, "pm-alice", "/extend 2027-03-14T02:30")
    reply = english(last_reply(harness, number))
    assert "`2027-03-14T02:30` is a date and time without its offset from UTC" in reply
    assert "Give the new deadline" not in reply


def test_a_deadline_time_that_does_not_exist_that_day_is_refused_naming_the_day_and_zone(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "deadline_time: '02:30'\n"
    number = open_opportunity(harness, deadline="2027-03-14")
    message = harness.bot_comments(number)[-1]
    assert "on 2027-03-14, 02:30 does not exist in `America/Toronto`" in english(message)
    assert "le 2027-03-14, 02:30 n'existe pas dans le fuseau `America/Toronto`" in french(message)
    assert "devex:needs-changes" in harness.labels(number)

    sim.repositories[REPO]["files"][".github/devex.yml"] = "deadline_time: '14:00'\n"
    other = open_opportunity(harness, title="Another")
    sim.repositories[REPO]["files"][".github/devex.yml"] = "deadline_time: '02:30'\n"
    harness.comment(other, "pm-alice", "/extend 2027-03-14")
    reply = english(last_reply(harness, other))
    assert "On 2027-03-14, 02:30 does not exist in America/Toronto: the clocks skip it for daylight saving time." in reply


def test_one_configuration_message_for_an_issue_opened_with_the_label(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "value_cap: lots\n"
    from tests.flows import form_body

    event, data = sim.human_open_issue(REPO, "Speed up the build", form_body(), "pm-alice", labels=["opportunity"])
    number = data["issue"]["number"]
    harness.deliver(event, data)
    labeled = sim._human("issues", "labeled", REPO, "pm-alice", issue=sim.issues[REPO][number], extra={"label": sim._label_json(REPO, "opportunity", sim.api_url)})
    harness.act(labeled)
    harness.run()
    messages = [b for b in harness.bot_comments(number) if "### The repository's configuration is invalid" in b]
    assert len(messages) == 1


def test_no_comment_mentions_more_than_50_people(harness, sim):
    number = open_opportunity(harness)
    bidders = [f"dev-{i:02d}" for i in range(60)]
    for login in bidders:
        register(harness, number, login)
        bid(harness, number, login, "9,000.00")
    harness.comment(number, "pm-alice", "/cancel the budget was withdrawn")
    told = set()
    for body in harness.bot_comments(number):
        mentioned = set(MENTION.findall(body))
        assert len(mentioned) <= 50, len(mentioned)
        if "cancelled" in body or "annulée" in body:
            told |= mentioned
    assert set(bidders) <= told


def test_approve_takes_an_optional_justification() -> None:
    from bot.procurement.command_args import ApproveArgs
    from bot.stages.command_table import parse_commands

    [plain] = parse_commands("/approve")
    [justified] = parse_commands("/approuver  sole officer,   reviewed ")
    assert (plain.args, justified.args) == (ApproveArgs(""), ApproveArgs("sole officer, reviewed"))
