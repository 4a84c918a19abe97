"""The sender: sends the outbox's writes to GitHub, paced and retried, never dropped.

Writes of one installation leave one at a time, oldest first, at least
`write_interval` apart. A write GitHub refuses for a while (5xx, timeouts,
429, secondary rate limits) stays pending and is retried with backoff,
honouring `retry-after` and `x-ratelimit-reset`; the installation's later
writes wait behind it so their order holds. A write GitHub refuses for good
(404, 422) is recorded as refused and the queue moves on.

A comment or an issue the bot creates carries a hidden marker with the write's id. When a
create timed out or failed with a 5xx, GitHub may have made it anyway, so the
retry first looks for the marker and adopts that comment instead of posting a
second one.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.github import Answer, GitHubError
from bot.messages import marker
from bot.settings import Settings
from storage import outbox
from storage.tables import GitHubWrite, utcnow

log = logging.getLogger(__name__)

COMMENT_CREATE = re.compile(r"^/?repos/[^/]+/[^/]+/issues/\d+/comments$")
ISSUE_CREATE = re.compile(r"^/?repos/[^/]+/[^/]+/issues$")
# Left on a comment write while GitHub is being asked to create it; read only if
# the process died before the answer was recorded.
IN_FLIGHT = "ambiguous: GitHub was asked to create this; look for its marker before asking again"


class Prepared:
    """A write ready to send; `skip` when there is nothing left to do."""

    def __init__(self, method: str = "", path: str = "", body: Any = None, skip: bool = False):
        self.method, self.path, self.body, self.skip = method, path, body, skip


# kind -> function(session, write, body) -> Prepared: renders a named write from
# the current state when it is sent (so many bids make one summary edit).
Preparer = Callable[[Session, GitHubWrite, Any, datetime], Prepared]
# name -> function(session, write, answer): records what GitHub answered.
Follow = Callable[[Session, dict, Answer], None]


class Sender:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        github_call: Callable[..., Answer],
        *,
        preparers: Optional[dict[str, Preparer]] = None,
        follows: Optional[dict[str, Follow]] = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.settings = settings
        self.call = github_call
        self.preparers = preparers or {}
        self.follows = follows or {}
        self.clock = clock

    def _backoff(self, attempts: int) -> float:
        return min(self.settings.retry_cap, self.settings.retry_base * 2 ** min(max(0, attempts), 30))

    def _prepare(self, session: Session, write: GitHubWrite, now: datetime) -> Prepared:
        body = json.loads(write.body) if write.body else None
        if write.kind == "request":
            return Prepared(write.method or "GET", write.path or "", body)
        preparer = self.preparers.get(write.kind)
        if preparer is None:
            raise GitHubError(f"no preparer for write kind {write.kind!r}", status=None, retryable=False)
        return preparer(session, write, body, now)

    def _find_created(self, installation_id: int, write: GitHubWrite, path: str, tag: str) -> Optional[Answer]:
        since = (write.created_at - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in range(1, 11):  # a busy issue may get more than a page of comments meanwhile
            params = {"since": since, "per_page": 100, "page": page}
            if ISSUE_CREATE.match(path):  # the same path lists the repository's issues
                params["state"] = "all"
            answer = self.call(installation_id, "GET", path, params=params)
            comments = answer.data if isinstance(answer.data, list) else []
            for comment in comments:
                if isinstance(comment, dict) and tag in (comment.get("body") or ""):
                    return Answer(status=201, data=comment, headers={})
            if len(comments) < 100:
                break
        return None

    def run_once(self) -> bool:
        """Sends at most one write; True when one was tried."""
        now = self.clock()
        with Session(self.engine, expire_on_commit=False) as session:
            claimed = outbox.claim_installation(session, self.settings.write_interval, now)
            if claimed is None:
                session.rollback()
                return False
            installation, write = claimed
            self._send(session, installation, write, now)
            session.commit()
            return True

    def _send(self, session: Session, installation, write: GitHubWrite, now: datetime) -> None:
        touched = False
        previous_error = write.last_error
        ambiguous_before = bool(previous_error and "ambiguous" in previous_error)
        prepared: Optional[Prepared] = None
        try:
            prepared = self._prepare(session, write, now)
            if prepared.skip:
                outbox.mark_sent(session, installation, write, None, now, touched=False)
                return
            body = prepared.body
            answer: Optional[Answer] = None
            in_flight = False
            creates = COMMENT_CREATE.match(prepared.path) or ISSUE_CREATE.match(prepared.path)
            if prepared.method == "POST" and creates and isinstance(body, dict):
                tag = marker(f"write:{write.id}")
                body = {**body, "body": f"{body.get('body', '')}\n{tag}"}
                if ambiguous_before:
                    answer = self._find_created(installation.id, write, prepared.path, tag)
                if answer is None:
                    # A process killed after GitHub made the comment and before this
                    # transaction commits would post it again. So first commit a lease:
                    # the write is noted as possibly done and not due until the lease
                    # ends (its installation's queue waits behind it); a sender that
                    # finds it after a crash looks for the marker before posting.
                    installation = self._lease(session, installation, write, now)
                    in_flight = True
            if answer is None:
                touched = True
                answer = self.call(installation.id, prepared.method, prepared.path, json=body)
                if in_flight:
                    write.last_error = previous_error
            if write.then:
                then = json.loads(write.then)
                follow = self.follows.get(then.get("op", ""))
                if follow is not None:
                    follow(session, then, answer)
            outbox.mark_sent(session, installation, write, _summary(answer), now)
            log.info("write %s sent: %s %s -> %s", write.id, prepared.method, prepared.path, answer.status, extra=_fields(installation, write, prepared.path))
        except GitHubError as error:
            if error.status == 404 and write.method == "DELETE":
                # Already gone: what the write wanted is true.
                outbox.mark_sent(session, installation, write, {"status": 404}, now, touched=touched)
                return
            if error.retryable:
                wait = error.retry_after if error.retry_after is not None else self._backoff(write.attempts)
                # Still ambiguous when only the look for an earlier attempt's comment failed.
                ambiguous = error.status is None or error.status >= 500 or (ambiguous_before and not touched)
                outbox.mark_retry(
                    session,
                    installation,
                    write,
                    f"{'ambiguous: ' if ambiguous else ''}{error}",
                    max(wait, 0.0),
                    touched=touched,
                    now=now,
                )
                log.warning("write %s failed (%s); retry in %.1fs", write.id, error, wait, extra=_fields(installation, write, prepared and prepared.path))
            else:
                outbox.mark_refused(session, installation, write, str(error), now)
                log.error("write %s refused by GitHub: %s", write.id, error, extra=_fields(installation, write, prepared and prepared.path))

    def _lease(self, session: Session, installation, write: GitHubWrite, now: datetime):
        outbox.lease(session, installation, write, IN_FLIGHT, self.settings.create_lease, now)
        session.commit()
        # Nobody else takes this installation while its head write is leased;
        # lock its row again for the rest of this transaction all the same.
        return outbox.relock_installation(session, installation.id)

    def drain(self, limit: int = 100000, wait: bool = False, timeout: float = 60.0) -> int:
        """Sends until nothing is due (or, with `wait`, until nothing is pending)."""
        sent = 0
        deadline = utcnow() + timedelta(seconds=timeout)
        stop = threading.Event()
        while sent < limit:
            if self.run_once():
                sent += 1
                continue
            if not wait or utcnow() > deadline:
                break
            with Session(self.engine) as session:
                if outbox.pending_count(session) == 0:
                    break
            stop.wait(min(self.settings.write_interval, 0.05) or 0.01)
        return sent

    def run_forever(self, stop: threading.Event) -> None:
        log.info("sender started")
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("sender: trouble; retrying")
                busy = False
            if not busy:
                stop.wait(min(self.settings.poll_interval, max(self.settings.write_interval, 0.05)))
        log.info("sender stopped")


def _fields(installation, write: GitHubWrite, path: Optional[str] = None) -> dict:
    """The delivery a write belongs to, on its log lines like on the delivery's own."""
    parts = (path or write.path or "").split("/")
    repository = "/".join(parts[2:4]) if len(parts) > 3 and parts[1] == "repos" else None
    return {"delivery": write.delivery_id, "installation": installation.id, "repository": repository}


def _summary(answer: Answer) -> Any:
    data = answer.data
    if isinstance(data, dict):
        return {k: data[k] for k in ("id", "number", "html_url") if k in data} | {"status": answer.status}
    return {"status": answer.status}
