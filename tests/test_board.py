"""The public board, end to end: opportunities made through signed webhooks, read
through the app's own routes (`GET /en/`, `/fr/`, the opportunity pages, the
feeds, the JSON), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.applications import Starlette

from bot.web.board import Board, routes
from storage import procurement as store
from tests.board_flows import (
    OFF_BOARD_REPO,
    OFF_BOARD_TITLE,
    OTHER_ORG_REPO,
    PRIVATE_REPO,
    PRIVATE_TITLE,
    SEALED_AMOUNT,
    SEALED_TEXT,
    add_repository,
    awarded_and_paid,
    get,
    open_in,
    sealed_bid,
)
from tests.conftest import REPO
from tests.flows import bid, open_opportunity, register

LATER = "2026-12-15"


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 id="o-\d+"><a href="[^"]*">([^<]*)</a></h3>', html)


def small_pages(harness, per_page: int = 2) -> Starlette:
    return Starlette(routes=routes(harness.engine, board=Board(harness.engine, per_page=per_page)))


# ---------------------------------------------------------------- what a person sees


def test_the_list_shows_open_opportunities_newest_first_in_both_languages(harness, sim, clock):
    first = open_opportunity(harness, title="Speed up the build")
    clock.advance(hours=1)
    second = open_opportunity(harness, title="Translate the forms", value="4,200.00", milestones=None, skills="French, Markdown", deadline="2026-11-25")
    register(harness, first, "bob", "carol")
    bid(harness, first, "bob", "8,000.00")
    bid(harness, first, "carol", "7,000.00")

    en = get(harness.app, "/en/")
    assert en.status_code == 200 and en.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in en.text
    assert titles(en.text) == ["Translate the forms", "Speed up the build"]
    assert "<strong>$9,500.00</strong> CAD, taxes included" in en.text
    assert "<strong>$4,200.00</strong> CAD, taxes included" in en.text
    assert (
        '<time datetime="2026-11-20T19:00:00Z"><span class="nowrap">2026-11-20 19:00</span> UTC '
        '(<span class="nowrap">2026-11-20 14:00</span> EST, America/Toronto)</time>'
    ) in en.text
    assert "<dt>Proposals</dt><dd>2 proposals</dd>" in en.text and "<dt>Proposals</dt><dd>none yet</dd>" in en.text
    assert f'<a href="https://github.com/{REPO}/issues/{first}">Issue {REPO}#{first}</a>' in en.text
    assert '<a href="./?skill=GitHub+Actions">GitHub Actions</a>' in en.text
    assert '<a href="./?org=octo-org">octo-org</a>' in en.text
    assert "<h2 id=\"results-title\">2 opportunities</h2>" in en.text
    assert '<a href="../fr/" lang="fr" hreflang="fr">Français</a>' in en.text

    fr = get(harness.app, "/fr/")
    assert '<html lang="fr">' in fr.text
    assert titles(fr.text) == ["Translate the forms", "Speed up the build"]
    assert "<strong>9\u00a0500,00\u00a0$</strong> CAD, taxes comprises" in fr.text
    assert '<span class="nowrap">2026-11-20 19 h 00</span> UTC (<span class="nowrap">2026-11-20 14 h 00</span> EST, America/Toronto)' in fr.text
    assert "<dt>Propositions</dt><dd>2 propositions</dd>" in fr.text and "aucune pour l&#39;instant" in fr.text
    assert '<a href="../en/" lang="en" hreflang="en">English</a>' in fr.text
    assert "Chercher parmi les occasions" in fr.text and "Search" not in fr.text.replace("search", "")

    home = get(harness.app, "/")
    assert home.status_code == 200
    assert '<a href="en/" lang="en" hreflang="en">English</a>' in home.text
    assert '<a href="fr/" lang="fr" hreflang="fr">Français</a>' in home.text
    assert get(harness.app, "/fr").status_code == 308


def test_an_opportunity_page_says_everything_a_bidder_needs(harness, sim):
    number = open_opportunity(harness)
    page = get(harness.app, f"/en/opportunities/{REPO}/{number}")
    assert page.status_code == 200
    text = page.text
    assert "<h1 id=\"title\">Speed up the build</h1>" in text
    for part in ("The build takes 40 minutes.", "CI finishes in under 5 minutes.", "Approach 60%, price 40%.", "How to bid", "<code>/register</code>", "<code>/bid AMOUNT</code>"):
        assert part in text
    assert "Bidding is sealed" in text and "a comment is not confidential" in text
    assert re.search(r"<th scope=\"row\">Design</th>\s*<td class=\"amount\">\$4,500.00</td>\s*<td>to do</td>", text)
    assert f'<a class="button" href="https://github.com/{REPO}/issues/{number}">' in text
    assert f'<a href="../../../../fr/opportunities/{REPO}/{number}" lang="fr"' in text

    fr = get(harness.app, f"/fr/opportunities/{REPO}/{number}").text
    assert "Comment soumissionner" in fr and "<code>/inscription</code>" in fr and "<code>/soumission 9\u00a0000,00\u00a0$</code>" in fr
    assert re.search(r"<th scope=\"row\">Design</th>\s*<td class=\"amount\">4\u00a0500,00\u00a0\$</td>\s*<td>à faire</td>", fr)
    # GitHub's names are case-insensitive.
    assert get(harness.app, f"/en/opportunities/{REPO.upper()}/{number}").status_code == 200


def test_an_awarded_contract_shows_the_contractor_the_amount_and_what_was_paid(harness, sim):
    number = awarded_and_paid(harness)
    page = get(harness.app, f"/en/opportunities/{REPO}/{number}").text
    assert "Awarded: the contract is under way" in page
    assert '<a href="https://github.com/bob">bob</a>' in page
    assert "<strong>$8,000.00</strong> CAD, taxes included" in page
    assert "<dt>Paid so far</dt><dd>$3,789.47 of $8,000.00</dd>" in page
    assert re.search(r"<th scope=\"row\">Design</th>\s*<td class=\"amount\">\$3,789.47</td>\s*<td>paid <span class=\"nowrap\">2026-11-21 15:00</span> UTC \(<a href=\"https://github.com/octo-org/procurement/pull/\d+\">pull request #\d+</a>\)</td>", page)
    assert re.search(r"<th scope=\"row\">Build</th>\s*<td class=\"amount\">\$4,210.53</td>\s*<td>to do</td>", page)
    assert "How to bid" not in page
    fr = get(harness.app, f"/fr/opportunities/{REPO}/{number}").text
    assert "<dt>Payé à ce jour</dt><dd>3\u00a0789,47\u00a0$ sur 8\u00a0000,00\u00a0$</dd>" in fr and 'payé le <span class="nowrap">2026-11-21 15 h 00</span> UTC' in fr

    listed = get(harness.app, "/en/?state=awarded").text
    assert titles(listed) == ["Speed up the build"] and "<dt>Contractor</dt><dd>bob, $8,000.00</dd>" in listed
    assert titles(get(harness.app, "/en/").text) == []

    record = get(harness.app, f"/api/opportunities/{REPO}/{number}").json()
    assert (record["state"], record["contractor"], record["contract_value"], record["paid"]) == ("awarded", "bob", "8000.00", "3789.47")
    design = record["milestones"][0]
    assert design["contract_amount"] == "3789.47" and design["payment"]["status"] == "paid"
    assert design["payment"]["paid_at"] == "2026-11-21T15:00:00Z" and design["payment"]["amount"] == "3789.47"
    assert record["milestones"][1]["payment"] is None


# ---------------------------------------------------------------- filters


def test_every_filter_narrows_the_list_the_feed_and_the_json(harness, sim, clock):
    add_repository(sim, OTHER_ORG_REPO)
    build = open_opportunity(harness, title="Speed up the build", skills="Python, GitHub Actions")
    clock.advance(minutes=5)
    forms = open_in(harness, OTHER_ORG_REPO, "Accessible forms", value="3,000.00", milestones=None, deadline="2026-11-10", skills="HTML, WCAG", problem="Les formulaires ne sont pas accessibles.")
    clock.advance(minutes=5)
    open_opportunity(harness, title="Rust parser", value="6,000.00", milestones=None, skills="Rust", problem="Parsing is slow in Python.", deadline=LATER)

    def listed(query: str) -> list[str]:
        page = get(harness.app, "/en/" + query)
        assert page.status_code == 200, (query, page.text)
        feed = get(harness.app, "/en/feed.atom" + query).text
        assert re.findall(r'<title type="text">([^<]*)</title>', feed)[1:] == titles(page.text), query
        api = get(harness.app, "/api/opportunities" + query).json()
        assert [o["title"] for o in api["opportunities"]] == titles(page.text), query
        return titles(page.text)

    assert listed("") == ["Rust parser", "Accessible forms", "Speed up the build"]
    assert listed("?q=python") == ["Rust parser", "Speed up the build"]  # the problem, then the skills
    assert listed("?q=pars+slow") == ["Rust parser"]  # every word, each as a prefix
    assert listed("?q=formulaires") == ["Accessible forms"]
    assert listed("?q=%3Cscript%3E+OR+*") == []
    assert listed("?skill=github+actions") == ["Speed up the build"]
    assert listed("?skill=python") == ["Speed up the build"]  # a skill, not a word of the problem
    assert listed("?org=MAPLE-DEPT") == ["Accessible forms"]
    assert listed("?min=5000") == ["Rust parser", "Speed up the build"]
    assert listed("?min=3+000,00+%24&max=%246%2C000") == ["Rust parser", "Accessible forms"]
    assert listed("?closes_before=2026-11-20") == ["Accessible forms"]
    assert listed("?closes_before=2026-11-21&min=4000") == ["Speed up the build"]
    assert listed("?q=&skill=&org=&min=&max=&closes_before=&state=") == ["Rust parser", "Accessible forms", "Speed up the build"]
    assert listed("?state=evaluation") == []

    clock.now = clock.now.replace(day=11)  # the forms' deadline passes
    harness.run()
    assert listed("?state=evaluation") == ["Accessible forms"]
    assert listed("") == ["Rust parser", "Speed up the build"]
    assert listed("?state=all") == ["Rust parser", "Accessible forms", "Speed up the build"]
    assert listed("?state=completed") == []
    page = get(harness.app, "/fr/?state=evaluation&skill=WCAG").text
    assert '<option value="evaluation" selected>' in page and 'value="WCAG"' in page
    assert '<a href="../en/?skill=WCAG&amp;state=evaluation" lang="en"' in page
    assert build


def test_pages_of_results_link_to_each_other_and_the_json_has_link_headers(harness, clock):
    for n in range(5):
        open_opportunity(harness, title=f"Opportunity {n}")
        clock.advance(minutes=1)
    app = small_pages(harness)
    first = get(app, "/en/")
    assert titles(first.text) == ["Opportunity 4", "Opportunity 3"]
    assert "(page 1 of 3)" in first.text and '<a href="./?page=2" rel="next">Next page</a>' in first.text
    second = get(app, "/en/?page=2")
    assert titles(second.text) == ["Opportunity 2", "Opportunity 1"]
    assert '<a href="./" rel="prev">' in second.text and '<a href="./?page=2" aria-current="page">' in second.text
    assert titles(get(app, "/en/?page=3").text) == ["Opportunity 0"]
    assert get(app, "/en/?page=4").status_code == 404

    api = get(app, "/api/opportunities?page=2&q=opportunity")
    body = api.json()
    assert (body["page"], body["pages"], body["total"], body["per_page"]) == (2, 3, 5, 2)
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', api.headers["link"]))
    assert links == {
        "first": "http://board.test/api/opportunities?q=opportunity",
        "prev": "http://board.test/api/opportunities?q=opportunity",
        "next": "http://board.test/api/opportunities?q=opportunity&page=3",
        "last": "http://board.test/api/opportunities?q=opportunity&page=3",
    }
    assert body["links"]["next"] == links["next"]
    o = body["opportunities"][0]
    assert o["value"] == "9500.00" and o["deadline"] == "2026-11-20T19:00:00Z" and o["skills"] == ["Python", "GitHub Actions"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["opened_at"])
    assert o["links"]["html"]["fr"] == f"http://board.test/fr/opportunities/{REPO}/{o['number']}"


@pytest.mark.parametrize(
    "query, bad",
    [
        ("?min=lots", ["min"]),
        ("?max=-5", ["max"]),
        ("?min=5000&max=100", ["max"]),
        ("?closes_before=next+week", ["closes_before"]),
        ("?closes_before=2026-02-30", ["closes_before"]),
        ("?state=secret", ["state"]),
        ("?org=..%2Fetc", ["org"]),
        ("?page=0", ["page"]),
        ("?page=%C2%B2", ["page"]),
        ("?min=x&state=y&page=-1", ["min", "state", "page"]),
    ],
)
def test_a_bad_filter_gets_a_page_that_says_which(harness, query, bad):
    open_opportunity(harness)
    en = get(harness.app, "/en/" + query)
    assert en.status_code == 400 and "Traceback" not in en.text
    fields = [name for name in bad if name != "page"]  # a page number has no field in the form
    assert "The search could not be read" in en.text and en.text.count('aria-invalid="true"') == len(fields)
    for name in fields:
        assert f'<a href="#f-{name}">' in en.text
    assert titles(en.text) == []
    fr = get(harness.app, "/fr/" + query)
    assert fr.status_code == 400 and "La recherche n&#39;a pas pu être lue" in fr.text
    feed = get(harness.app, "/fr/feed.atom" + query)  # a feed has no pages
    assert feed.status_code == (200 if bad == ["page"] else 400)
    if feed.status_code == 400:
        assert "La recherche n&#39;a pas pu être lue" in feed.text and feed.headers["content-type"].startswith("text/html")
    api = get(harness.app, "/api/opportunities" + query)
    assert api.status_code == 400 and api.json() == {"error": "bad_filter", "filters": bad}


def test_unknown_links_get_a_page_not_found(harness):
    number = open_opportunity(harness)
    for path in (f"/en/opportunities/{REPO}/999", f"/en/opportunities/{REPO}/abc", f"/fr/opportunities/nobody/nothing/{number}", f"/en/opportunities/{REPO}/{'9' * 30}"):
        page = get(harness.app, path)
        assert page.status_code == 404 and ("Page not found" in page.text or "Page introuvable" in page.text), path
    assert get(harness.app, f"/api/opportunities/{REPO}/999").status_code == 404
    assert get(harness.app, f"/api/opportunities/{REPO}/999").json() == {"error": "not_found"}


# ---------------------------------------------------------------- caching


def test_pages_feeds_and_json_carry_an_etag_and_answer_304(harness, sim, clock):
    number = open_opportunity(harness)
    for path in ("/", "/en/", "/fr/?q=build", f"/en/opportunities/{REPO}/{number}", "/fr/feed.atom", "/api/opportunities", "/static/board.css"):
        first = get(harness.app, path)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag), path
        again = get(harness.app, path, {"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag, path
        assert get(harness.app, path, {"If-None-Match": f'"other", W/{etag}'}).status_code == 304
        assert get(harness.app, path, {"If-None-Match": '"other"'}).status_code == 200
    before = get(harness.app, "/en/").headers["etag"]
    register(harness, number, "bob")
    bid(harness, number, "bob", "8,000.00")
    after = get(harness.app, "/en/", {"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before and "1 proposal" in after.text


# ---------------------------------------------------------------- nothing private


def test_nothing_private_is_ever_on_the_board(harness, sim, clock):
    add_repository(sim, PRIVATE_REPO, private=True)
    add_repository(sim, OFF_BOARD_REPO, config="board: false\n")
    public = open_opportunity(harness, title="Speed up the build")
    secret = open_in(harness, PRIVATE_REPO, PRIVATE_TITLE)
    internal = open_in(harness, OFF_BOARD_REPO, OFF_BOARD_TITLE)
    sealed_bid(harness, REPO, public)
    sealed_bid(harness, PRIVATE_REPO, secret)
    # Proposals revealed to the evaluators and scored, but no award yet.
    clock.now = clock.now.replace(day=21)
    harness.run()
    harness.comment(public, "pm-alice", "/score @erin 87 a careful plan")

    paths = ["/", "/api/opportunities?state=all"]
    for lang in ("en", "fr"):
        for state in ("open", "evaluation", "awarded", "completed", "all"):
            paths += [f"/{lang}/?state={state}", f"/{lang}/feed.atom?state={state}"]
        paths += [f"/{lang}/?q=classified", f"/{lang}/opportunities/{REPO}/{public}"]
        paths += [f"/{lang}/opportunities/{PRIVATE_REPO}/{secret}", f"/{lang}/opportunities/{OFF_BOARD_REPO}/{internal}"]
    paths += [f"/api/opportunities/{REPO}/{public}", f"/api/opportunities/{PRIVATE_REPO}/{secret}", f"/api/opportunities/{OFF_BOARD_REPO}/{internal}"]
    amounts = [SEALED_AMOUNT, "7777.77", "7\u00a0777,77"]
    seen = ""
    for path in paths:
        response = get(harness.app, path)
        text = response.text
        seen += text
        for secret_text in (PRIVATE_TITLE, OFF_BOARD_TITLE, SEALED_TEXT, "zebra", PRIVATE_REPO, OFF_BOARD_REPO, "erin", "a careful plan", *amounts):
            assert secret_text not in text, (path, secret_text)
        assert not re.search(r"\b87\b", text), path  # the score
    assert "Speed up the build" in seen and "In evaluation" in seen
    with Session(harness.engine) as session:  # they exist: the board leaves them out
        private = store.opportunity_by_issue(session, PRIVATE_REPO, secret)
        off = store.opportunity_by_issue(session, OFF_BOARD_REPO, internal)
        assert (private.state, private.repository_private, private.on_board) == ("evaluation", True, True)
        assert (off.state, off.repository_private, off.on_board) == ("evaluation", False, False)
        assert store.live_count(session, private.id) == 1
    assert get(harness.app, f"/en/opportunities/{PRIVATE_REPO}/{secret}").status_code == 404
    assert get(harness.app, f"/en/opportunities/{OFF_BOARD_REPO}/{internal}").status_code == 404


def test_a_repository_that_leaves_the_board_takes_its_opportunities_with_it(harness, sim):
    number = open_opportunity(harness)
    assert titles(get(harness.app, "/en/").text) == ["Speed up the build"]
    sim.repositories[REPO]["files"][".github/devex.yml"] = "board: false\n"
    harness.act(sim.human_edit_issue(REPO, number, "pm-alice", sim.issue(REPO, number)["body"], title="Speed up the build, now"))
    harness.run()
    assert titles(get(harness.app, "/en/").text) == []
    sim.repositories[REPO]["files"][".github/devex.yml"] = "board: maybe\n"
    harness.act(sim.human_edit_issue(REPO, number, "pm-alice", sim.issue(REPO, number)["body"], title="Speed up the build, again"))
    harness.run()
    assert titles(get(harness.app, "/en/").text) == []  # an invalid file is not the defaults


def test_text_users_wrote_shows_as_text(harness, sim):
    title = '<script>alert("x")</script> & <b>bold</b>'
    number = open_opportunity(harness, title=title, problem="<img src=x onerror=alert(1)>\nline two", skills="<i>Go</i>")
    pages = [get(harness.app, p).text for p in ("/en/", "/fr/", f"/en/opportunities/{REPO}/{number}", "/en/feed.atom")]
    for text in pages:
        assert "<script>" not in text and "<img" not in text and "<b>bold" not in text and "<i>Go" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(1)&gt;\nline two" in pages[2]
    assert get(harness.app, f"/api/opportunities/{REPO}/{number}").json()["title"] == title
    assert "script-src" not in get(harness.app, "/en/").headers["content-security-policy"]
    assert "default-src 'none'" in get(harness.app, "/en/").headers["content-security-policy"]


# ---------------------------------------------------------------- speed


def test_the_list_and_the_searches_read_through_indexes(engine):
    """No scan of the opportunities per request (bench/board.py times them at 10,000)."""
    from decimal import Decimal

    from storage import board as board_store

    searches = [
        board_store.Search(),
        board_store.Search(states=board_store.PUBLIC_STATES),
        board_store.Search(words=("cache", "build")),
        board_store.Search(skill=("github", "actions"), min_value=Decimal("100")),
    ]
    with Session(board_store.reader(engine)) as session:
        if engine.dialect.name == "postgresql":
            session.exec(sa.text("SET LOCAL enable_seqscan = off"))  # a tiny table would be scanned anyway
        for search in searches:
            plan = "\n".join(board_store.plan(session, search))
            assert "SCAN opportunities" not in plan and "Seq Scan on opportunities" not in plan, plan
            assert "ix_opportunities_" in plan or "opportunity_search" in plan, plan
