"""The board's Atom feeds are Atom 1.0 (RFC 4287), and `devex-bot board --out DIR`
writes the same pages, feeds and JSON as files whose links work from any folder."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlparse

from bot.cli import main as cli
from bot.web.render import words
from tests.board_flows import PRIVATE_REPO, PRIVATE_TITLE, SEALED_TEXT, add_repository, awarded_and_paid, get, open_in, sealed_bid
from tests.conftest import REPO
from tests.flows import open_opportunity

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
HREF = re.compile(r'(?:href|src|action)="([^"]*)"')


def check_atom(text: str, lang: str) -> ET.Element:
    """The RFC 4287 rules a feed reader relies on; raises AssertionError otherwise."""
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    feed = ET.fromstring(text.encode("utf-8"))
    assert feed.tag == ATOM + "feed" and feed.get(XML_LANG) == lang

    def one(parent: ET.Element, name: str) -> ET.Element:
        found = parent.findall(ATOM + name)
        assert len(found) == 1, f"{parent.tag} has {len(found)} {name}"
        return found[0]

    def absolute(iri: str) -> None:
        assert urlparse(iri).scheme in ("http", "https", "urn", "tag"), iri

    for name in ("id", "title", "updated"):
        one(feed, name)
    absolute(one(feed, "id").text)
    assert RFC3339.match(one(feed, "updated").text)
    assert feed.find(ATOM + "author/" + ATOM + "name").text
    ids = set()
    for entry in feed.findall(ATOM + "entry"):
        for name in ("id", "title", "updated", "published", "summary"):
            assert one(entry, name).text, name
        entry_id = one(entry, "id").text
        absolute(entry_id)
        assert entry_id not in ids
        ids.add(entry_id)
        assert RFC3339.match(one(entry, "updated").text) and RFC3339.match(one(entry, "published").text)
        alternates = [link for link in entry.findall(ATOM + "link") if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1
        for link in entry.findall(ATOM + "link"):
            absolute(link.get("href"))
        assert one(entry, "title").get("type") == "text"
    for link in feed.findall(ATOM + "link"):
        absolute(link.get("href"))
    return feed


def test_the_feeds_are_atom_and_take_the_filters(harness, sim, clock):
    open_opportunity(harness, title='Speed up the <build> & "tests"', skills="Python, GitHub Actions")
    clock.advance(minutes=5)
    open_opportunity(harness, title="Translate the forms", skills="French", value="3,000.00", milestones=None)
    for lang in ("en", "fr"):
        response = get(harness.app, f"/{lang}/feed.atom")
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        feed = check_atom(response.text, lang)
        entries = feed.findall(ATOM + "entry")
        assert [e.find(ATOM + "title").text for e in entries] == ["Translate the forms", 'Speed up the <build> & "tests"']
        first = entries[0]
        assert first.find(ATOM + "link[@rel='alternate']").get("href") == f"http://board.test/{lang}/opportunities/{REPO}/2"
        assert first.find(ATOM + "link[@rel='related']").get("href") == f"https://github.com/{REPO}/issues/2"
        assert [c.get("term") for c in entries[1].findall(ATOM + "category")] == ["Python", "GitHub Actions"]
        assert feed.find(ATOM + "link[@rel='self']").get("href") == f"http://board.test/{lang}/feed.atom"
    assert "$3,000.00 CAD, taxes included. Open for proposals." in get(harness.app, "/en/feed.atom").text
    assert "3\u00a0000,00\u00a0$ CAD, taxes comprises. Ouverte aux propositions." in get(harness.app, "/fr/feed.atom").text

    saved = check_atom(get(harness.app, "/en/feed.atom?skill=python&max=9999").text, "en")
    assert [e.find(ATOM + "title").text for e in saved.findall(ATOM + "entry")] == ['Speed up the <build> & "tests"']
    assert saved.find(ATOM + "id").text != check_atom(get(harness.app, "/en/feed.atom").text, "en").find(ATOM + "id").text
    empty = check_atom(get(harness.app, "/en/feed.atom?q=nothing+like+this").text, "en")
    assert empty.findall(ATOM + "entry") == []


def links_of(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for page in folder.rglob("*.html"):
        for link in HREF.findall(page.read_text(encoding="utf-8")):
            found.append((page, link))
    return found


def check_links(folder: Path) -> int:
    """Every link of every page that is not to another site names a file of the folder."""
    checked = 0
    for page, link in links_of(folder):
        if link.startswith(("https://", "http://")):
            continue
        assert not link.startswith("/"), (page, link)
        path = unquote(link.split("#")[0].split("?")[0])
        assert "?" not in link, (page, link)  # a static site has no queries
        if path:
            target = (page.parent / path).resolve()
            assert target.is_file(), (page.relative_to(folder), link)
            checked += 1
    return checked


def test_the_board_written_as_files_works_from_any_folder(harness, sim, tmp_path, db_url, monkeypatch):
    add_repository(sim, PRIVATE_REPO, private=True)
    awarded = awarded_and_paid(harness)
    number = open_opportunity(harness, title="Translate the forms", deadline="2026-12-15", value="3,000.00", milestones=None)
    secret = open_in(harness, PRIVATE_REPO, PRIVATE_TITLE, deadline="2026-12-15")
    sealed_bid(harness, REPO, number)
    sealed_bid(harness, PRIVATE_REPO, secret)

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("DEVEX_PUBLIC_URL", raising=False)
    out = tmp_path / "site"
    assert cli(["board", "--out", str(out)]) == 0
    for path in (
        "index.html",
        "static/board.css",
        "en/index.html",
        "fr/index.html",
        "en/awarded.html",
        "fr/all.html",
        "en/feed.atom",
        "fr/feed.atom",
        "api/opportunities.json",
        f"en/opportunities/{REPO}/{number}.html",
        f"fr/opportunities/{REPO}/{awarded}.html",
        f"api/opportunities/{REPO}/{awarded}.json",
    ):
        assert (out / path).is_file(), path
    assert not (out / "en" / "opportunities" / PRIVATE_REPO.split("/")[0] / PRIVATE_REPO.split("/")[1]).exists()
    assert check_links(out) > 50

    listing = (out / "en" / "index.html").read_text()
    assert f'<a href="opportunities/{REPO}/{number}.html">Translate the forms</a>' in listing
    assert '<a href="../fr/index.html" lang="fr" hreflang="fr">Français</a>' in listing
    assert '<form class="filters"' not in listing  # nothing would answer a search
    assert '<a href="awarded.html">Awarded</a>' in listing
    page = (out / "en" / "opportunities" / "octo-org" / "procurement" / f"{awarded}.html").read_text()
    assert "<dt>Paid so far</dt><dd>$3,789.47 of $8,000.00</dd>" in page
    assert '<link rel="stylesheet" href="../../../../static/board.css">' in page
    data = json.loads((out / "api" / "opportunities.json").read_text())
    assert [o["title"] for o in data["opportunities"]] == ["Translate the forms"]
    assert data["opportunities"][0]["links"]["html"]["fr"] == f"../fr/opportunities/{REPO}/{number}.html"
    feed = check_atom((out / "en" / "feed.atom").read_text(), "en")
    [entry] = feed.findall(ATOM + "entry")
    assert entry.find(ATOM + "link").get("href") == f"https://github.com/{REPO}/issues/{number}"  # no address known: the issue

    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    for secret_text in (PRIVATE_TITLE, PRIVATE_REPO, SEALED_TEXT, "7,777.77", "7777.77"):
        assert secret_text not in everything

    moved = tmp_path / "elsewhere" / "deep" / "board"
    moved.parent.mkdir(parents=True)
    shutil.move(str(out), str(moved))
    assert check_links(moved) > 50

    again = tmp_path / "published"
    assert cli(["board", "--out", str(again), "--base-url", "https://dept.example.gc.ca/board/"]) == 0
    feed = check_atom((again / "fr" / "feed.atom").read_text(), "fr")
    assert feed.find(ATOM + "entry/" + ATOM + "link").get("href") == f"https://dept.example.gc.ca/board/fr/opportunities/{REPO}/{number}.html"
    assert feed.find(ATOM + "link[@rel='self']").get("href") == "https://dept.example.gc.ca/board/fr/feed.atom"


def test_the_words_of_the_board_are_in_both_languages():
    def keys(node, prefix=""):
        found = {}
        for key, value in node.items():
            if isinstance(value, type(node)):
                found.update(keys(value, f"{prefix}{key}."))
            else:
                found[prefix + str(key)] = value
        return found

    en, fr = keys(words("en")), keys(words("fr"))
    assert set(en) == set(fr)
    for key in en:
        assert str(en[key]).strip() and str(fr[key]).strip(), key
        assert re.findall(r"\{\w+\}", str(en[key])) == re.findall(r"\{\w+\}", str(fr[key])), key
    # Same words in both only where they are names or codes.
    same = {k for k in en if en[k] == fr[k]}
    assert same <= {"facts.currency", "list.page_word", "detail.bid_command", "home.enter", "site.other_language"} | {k for k in same if k.startswith("detail.register")}, same
