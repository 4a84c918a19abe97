"""The board in a real browser: headless Chromium with axe-core finds no WCAG 2.1 A or AA
violation on the list, an opportunity, the empty list and a filtered list, in English
and in French; the skip link and focus are visible; the search form works with no
script. The board is filled through signed webhooks and served by uvicorn (SQLite)."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.board_browser import axe_violations, chromium, require_browser, served_board
from tests.board_flows import OTHER_ORG_REPO
from tests.conftest import REPO


@pytest.fixture(scope="module")
def board():
    require_browser()
    with served_board() as served:
        yield served


@pytest.fixture(scope="module")
def browser(board):
    with chromium() as driver:
        yield driver


def pages(numbers: dict) -> dict[str, str]:
    return {
        "list": "/{lang}/",
        "detail, open": f"/{{lang}}/opportunities/{OTHER_ORG_REPO}/{numbers['forms']}",
        "detail, awarded and paid": f"/{{lang}}/opportunities/{REPO}/{numbers['awarded']}",
        "empty list": "/{lang}/?state=completed",
        "filtered list": "/{lang}/?skill=python&min=1000&state=all",
        "filtered list, nothing found": "/{lang}/?q=nothing+like+this",
        "a bad filter": "/{lang}/?min=lots",
        "page not found": f"/{{lang}}/opportunities/{REPO}/999",
    }


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_axe_finds_no_wcag_21_aa_violation(board, browser, lang):
    base, numbers = board
    failures = {}
    for name, path in pages(numbers).items():
        browser.get(base + path.format(lang=lang))
        assert browser.find_element("css selector", "html").get_attribute("lang") == lang
        violations = axe_violations(browser)
        if violations:
            failures[name] = violations
    browser.get(base + "/")
    if axe_violations(browser):
        failures["language choice"] = axe_violations(browser)
    assert failures == {}


def test_the_skip_link_comes_first_and_focus_is_visible(board, browser):
    from selenium.webdriver.common.keys import Keys

    base, _ = board
    browser.get(base + "/en/")
    body = browser.find_element("css selector", "body")
    body.send_keys(Keys.TAB)
    active = browser.switch_to.active_element
    assert active.text == "Skip to main content" and active.get_attribute("href").endswith("#main")
    assert active.rect["y"] >= 0 and active.is_displayed()  # moved on screen when focused
    assert browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", active) == "solid"
    active.send_keys(Keys.ENTER)
    assert browser.execute_script("return document.activeElement.id") == "main"
    # The next stops are the site's name, then the other language.
    active = browser.switch_to.active_element
    active.send_keys(Keys.TAB)
    first_in_main = browser.switch_to.active_element
    assert first_in_main.tag_name in ("input", "a")


def test_the_search_form_works_without_any_script(board, browser):
    base, _ = board
    browser.get(base + "/fr/")
    assert browser.execute_script("return document.scripts.length") == 0
    field = browser.find_element("id", "f-skill")
    label = browser.find_element("css selector", "label[for='f-skill']")
    assert label.text == "Compétence"
    field.send_keys("Accessibility")
    browser.find_element("css selector", "form.filters button[type=submit]").click()
    # The click returns as the navigation starts; the page it leads to is waited for.
    WebDriverWait(browser, 10).until(lambda b: "skill=Accessibility" in b.current_url)
    titles = [h.text for h in browser.find_elements("css selector", "ol.opportunities h3")]
    assert titles == ["Make the benefits application form accessible"]
    browser.find_element("css selector", "a[hreflang='en']").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.startswith(base + "/en/?skill=Accessibility"))
    assert browser.find_element("id", "f-skill").get_attribute("value") == "Accessibility"
