"""`.github/devex.yml` through the bot (issue 2.6): defaults, read once and cached, refreshed
by a push to the default branch, and an invalid file answered with one clear message
that names the key, never replaced by the defaults."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.procurement.config import RepoConfig
from bot.stages.configuration import CONFIG_PATH, ConfigStore
from bot.github.client import GitHubReader
from storage.tables import Opportunity, Proposal, RepoConfigCache
from tests.conftest import INSTALLATION, REPO, payload
from tests.spine import OPEN_FORM, deliveries, open_opportunity, sqlite_only

CONTENTS = r"/contents/\.github/devex\.yml$"


def set_config(sim, text: str | None) -> None:
    files = sim.repositories[REPO]["files"]
    if text is None:
        files.pop(CONFIG_PATH, None)
    else:
        files[CONFIG_PATH] = text


def push(files_modified: list[str], ref: str = "refs/heads/main") -> tuple[str, dict]:
    """A real push delivery, moved to our repository."""
    data = payload("push", "with-new-branch")
    data["ref"] = ref
    data["repository"]["full_name"] = REPO
    data["repository"]["name"] = REPO.split("/")[1]
    data["repository"]["default_branch"] = data["repository"]["master_branch"] = "main"
    data["installation"]["id"] = INSTALLATION
    data["commits"][0]["added"] = []
    data["commits"][0]["modified"] = files_modified
    return "push", data


def opportunity_states(engine) -> dict[int, str]:
    with Session(engine) as session:
        return {o.issue_number: o.state for o in session.exec(select(Opportunity))}


# ------------------------------------------------------------------ defaults


def test_no_file_means_the_defaults(harness, sim, engine, clock):
    set_config(sim, None)
    store = ConfigStore(ttl=300, clock=clock)
    with Session(engine) as session:
        config = store.load(session, GitHubReader(harness.github.call, INSTALLATION), REPO)
        session.commit()
    assert config == RepoConfig()
    assert config.label == "opportunity" and str(config.value_cap) == "9999.00" and config.bidding == "sealed"
    number = open_opportunity(harness)
    assert opportunity_states(engine)[number] == "open"


# ------------------------------------------------------------------ cached


def test_the_file_is_read_once_then_cached_for_its_ttl(make_harness, sim, engine, clock):
    harness = make_harness(DEVEX_CONFIG_TTL=300)
    set_config(sim, "value_cap: 9900.00\n")
    number = open_opportunity(harness)
    for login in ("bidder-a", "bidder-b", "bidder-c"):
        harness.comment(number, login, "/register")
    assert sim.count_requests("GET", CONTENTS) == 1
    clock.advance(seconds=301)
    harness.comment(number, "bidder-d", "/register")
    assert sim.count_requests("GET", CONTENTS) == 2


def test_a_missing_file_is_cached_too(make_harness, sim, engine):
    harness = make_harness(DEVEX_CONFIG_TTL=300)
    set_config(sim, None)
    number = open_opportunity(harness)
    harness.comment(number, "bidder-a", "/register")
    harness.comment(number, "bidder-b", "/register")
    assert sim.count_requests("GET", CONTENTS) == 1


def test_a_push_to_the_default_branch_touching_the_file_refreshes_it(make_harness, sim, engine):
    harness = make_harness(DEVEX_CONFIG_TTL=3600)
    set_config(sim, "value_cap: 9999.00\n")
    first = open_opportunity(harness)
    assert opportunity_states(engine)[first] == "open"

    # The file changes; until GitHub tells us, the cache is trusted.
    set_config(sim, "value_cap: 5000.00\n")
    second = open_opportunity(harness, title="Second")
    assert opportunity_states(engine)[second] == "open"

    # Pushes that do not touch the file, or not on the default branch, change nothing.
    assert harness.act(push(["README.md"])).json() == {"ignored": True}
    assert harness.act(push([CONFIG_PATH], ref="refs/heads/feature")).json() == {"ignored": True}
    harness.run()
    third = open_opportunity(harness, title="Third")
    assert opportunity_states(engine)[third] == "open"

    assert harness.act(push([CONFIG_PATH])).status_code == 202
    harness.run()
    fourth = open_opportunity(harness, title="Fourth")
    assert opportunity_states(engine)[fourth] == "needs-changes"  # $9,500 is now over the cap
    assert sim.count_requests("GET", CONTENTS) == 2


def test_a_push_and_an_opening_handled_in_one_batch_judge_the_opening_by_the_new_file(make_harness, sim, engine):
    """The worker reads a repository's configuration once for a batch of deliveries;
    a push in the batch that changes the file must not leave the old one in use."""
    harness = make_harness(DEVEX_CONFIG_TTL=3600)
    set_config(sim, "value_cap: 9999.00\n")
    first = open_opportunity(harness)
    assert opportunity_states(engine)[first] == "open"

    set_config(sim, "value_cap: 5000.00\n")
    assert harness.act(push([CONFIG_PATH])).status_code == 202
    number = sim.open_issue(REPO, "Second", OPEN_FORM, "pm-alice")["number"]
    assert harness.act(sim.human_label(REPO, number, "pm-alice", "opportunity")).status_code == 202
    assert [d["status"] for d in deliveries(engine)][-2:] == ["pending", "pending"]  # one batch, in this order
    harness.run()
    assert opportunity_states(engine)[number] == "needs-changes"  # $9,500 is over the new cap


def test_a_push_that_removes_the_file_brings_back_the_defaults(make_harness, sim, engine):
    harness = make_harness(DEVEX_CONFIG_TTL=3600)
    set_config(sim, "value_cap: 5000.00\n")
    first = open_opportunity(harness)
    assert opportunity_states(engine)[first] == "needs-changes"
    set_config(sim, None)
    event, data = push([])
    data["commits"][0]["removed"] = [CONFIG_PATH]
    harness.act((event, data))
    harness.run()
    second = open_opportunity(harness, title="Second")
    assert opportunity_states(engine)[second] == "open"
    with Session(engine) as session:
        assert session.get(RepoConfigCache, REPO).text is None


# ------------------------------------------------------------------ invalid


def test_an_invalid_file_gets_one_clear_message_naming_the_key_and_no_defaults(harness, sim, engine):
    set_config(sim, "label: opportunity\nvalue_cap: lots\n")
    number = open_opportunity(harness)
    replies = harness.bot_comments(number)
    assert len(replies) == 1
    assert "`value_cap` is not an amount in CAD" in replies[0] and CONFIG_PATH in replies[0]
    assert "`value_cap` n'est pas un montant en CAD" in replies[0]
    assert "@pm-alice" in replies[0]
    # Not opened with the defaults in its place.
    assert opportunity_states(engine) == {}
    assert not any(label.startswith("devex:") for label in harness.labels(number))
    assert {r["status"] for r in deliveries(engine)} == {"done"}


def test_an_invalid_file_stops_commands_on_a_running_opportunity(harness, sim, engine):
    number = open_opportunity(harness)
    harness.comment(number, "bidder-bob", "/register")
    set_config(sim, "bidding: whispered\n")
    harness.comment(number, "bidder-bob", "/bid 9000\nMy approach")
    reply = harness.bot_comments(number)[-1]
    assert "`bidding` must be `sealed` or `open`" in reply and "@bidder-bob" in reply
    assert "your command was not carried out" in reply and "post the command again" in reply
    with Session(engine) as session:
        assert session.exec(select(Proposal)).all() == []
    # Fixed: commands work again.
    set_config(sim, "bidding: sealed\n")
    harness.comment(number, "bidder-bob", "/bid 9000\nMy approach")
    assert "Proposal received" in harness.bot_comments(number)[-1]


@sqlite_only
def test_each_problem_of_an_invalid_file_is_named(harness, sim, engine):
    set_config(sim, "value_cap: -1\npayment_terms_days: soon\nunknown_key: 1\n")
    number = open_opportunity(harness)
    [reply] = harness.bot_comments(number)
    for line in ("`value_cap` must be more than 0", "`payment_terms_days` must be a whole number",
                 "`unknown_key` is not a setting devex-bot knows"):
        assert line in reply, reply


@sqlite_only
def test_a_file_that_is_not_yaml_is_named_as_such(harness, sim, engine):
    set_config(sim, "label: [unclosed\n")
    number = open_opportunity(harness)
    [reply] = harness.bot_comments(number)
    assert CONFIG_PATH in reply and "the file is not valid YAML (line 2" in reply
    assert opportunity_states(engine) == {}
    assert "Traceback" not in reply
