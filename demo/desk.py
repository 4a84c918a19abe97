"""`devex-bot demo`, the bidder's desk: a freelancer who wants her price kept confidential
signs in with GitHub (simulated OAuth web flow) and bids from the desk; after the award
she reads her own rank, score and the evaluators' notes there.

The browser is played here (`DeskBrowser`): it keeps cookies, follows GitHub's
redirect to the authorize page as a person would (the simulated GitHub "clicks
Authorize") and sends the desk's forms with the session's cross-site token.
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from demo.scene import PUBLIC_URL, REPO, Procurement

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TAGS = re.compile(r"<[^>]+>")
BIDDER = "freelance-fatima"
AMOUNT = "8,600.00"
PROPOSAL = "I rebuild the date fields as three labelled inputs with the GC design system, test them with NVDA, JAWS and VoiceOver, and add axe checks to CI."


class DeskBrowser:
    def __init__(self, p: Procurement):
        self.p = p
        self.cookies = httpx.Cookies()

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self._request("GET", path, **kwargs)

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.p.app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL, cookies=self.cookies) as client:
                response = await client.request(method, path, **kwargs)
                self.cookies = client.cookies
                return response

        return asyncio.run(go())

    def sign_in(self, login: str) -> httpx.Response:
        start = self.get("/login", params={"next": "/en/desk"})
        authorize = urlsplit(start.headers["location"])
        query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
        self.p.say(f"  -> GET /login: sent to {authorize.scheme}://{authorize.netloc}{authorize.path} (client_id, redirect_uri, state)")
        back = urlsplit(self.p.sim.authorize(login, query["client_id"], query["redirect_uri"], query["state"]))
        response = self.get(back.path + "?" + back.query)
        self.p.say(f"  -> @{login} authorizes on GitHub; GET /auth/callback: HTTP {response.status_code}, signed in, the user token revoked")
        return response

    def send(self, form: str, **fields: str) -> str:
        token = CSRF.search(self.get("/en/desk").text).group(1)
        response = self._request("POST", f"/en/desk/{form}", data=dict(fields, csrf=token))
        self.p.settle()
        page = self.get(response.headers["location"]) if response.status_code == 303 else response
        return outcome(page.text)


def outcome(page: str) -> str:
    """The desk's notice, as text."""
    found = re.search(r'<div class="notice[^"]*" id="outcome"[^>]*>(.*?)</div>', page, re.DOTALL)
    return " ".join(html.unescape(TAGS.sub(" ", found.group(1))).split()) if found else ""


def bid_from_desk(p: Procurement, number: int, say: Callable[[str], None]) -> DeskBrowser:
    say(f"\n2b. @{BIDDER} wants her price kept confidential: she signs in to the bidder's desk with GitHub and bids there.")
    browser = DeskBrowser(p)
    browser.sign_in(BIDDER)
    say("   " + browser.send("register", opportunity=f"{REPO}#{number}", attest="yes"))
    say("   " + browser.send("bid", opportunity=f"{REPO}#{number}", amount=AMOUNT, proposal=PROPOSAL))
    sent = " ".join(str(r.json) for r in p.sim.requests)
    leaked = AMOUNT in sent or "8600" in sent or "JAWS" in sent
    say(f"   The issue shows the receipt without her name, amount or text; her amount or text in any request to GitHub: {'YES' if leaked else 'no'}.")
    return browser


def read_debrief(p: Procurement, browser: DeskBrowser, say: Callable[[str], None]) -> None:
    say(f"\n6b. @{BIDDER} was not chosen: the thread tells her the decision is made; her desk shows her own result.")
    say("   Her session lasted 8 hours; two weeks later she signs in again.")
    browser.sign_in(BIDDER)
    text = " ".join(html.unescape(TAGS.sub(" ", browser.get("/en/desk").text)).split())
    start = text.find("Your proposal ranked")
    end = text.find(" Paid open-source work", start)
    say("   Her desk: " + (text[start:end] if start >= 0 else "(no result shown)"))
