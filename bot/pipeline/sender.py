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

from bot.github.client import Answer, GitHubError
from bot.github.requests import Prepared
from bot.messages import marker
from bot.settings import Settings
from bot.pipeline.pacing import BUSY_STEP, IntakeActivity
from bot.pipeline.retry import backoff
from storage import outbox
from storage.db import commit_waits_for_the_disk, durable, redoable
from storage.tables import GitHubWrite, utcnow

log = logging.getLogger(__name__)

COMMENT_CREATE = re.compile(r"^/?repos/[^/]+/[^/]+/issues/\d+/comments$")
ISSUE_CREATE = re.compile(r"^/?repos/[^/]+/[^/]+/issues$")
# Left on a comment write while GitHub is being asked to create it; read only if
# the process died before the answer was recorded.
IN_FLIGHT = "ambiguous: GitHub was asked to create this; look for its marker before asking again"
# Writes of one installation sent in one claim when they are not paced (write
# interval 0): three transactions for the batch instead of one or two a write.
SEND_BATCH = 20


class Call:
    """A leased write and what will be sent for it."""

    def __init__(self, write: GitHubWrite, prepared: Prepared):
        self.write = write
        self.write_id = write.id
        self.prepared = prepared
        self.body = prepared.body
        self.tag: Optional[str] = None  # the hidden marker of a create
        self.previous_error = write.last_error
        self.ambiguous_before = bool(write.last_error and "ambiguous" in write.last_error)

    @property
    def creates(self) -> bool:
        return self.tag is not None

    @property
    def stops_batch(self) -> bool:
        # What GitHub answers it changes what the next writes render (the summary's
        # comment id...): the batch ends with it.
        return bool(self.write.then)


class CallResult:
    """What GitHub answered one leased write, or the error it gave; `touched`: GitHub may have acted."""

    def __init__(self, answer: Optional[Answer] = None, error: Optional[GitHubError] = None, touched: bool = False):
        self.answer, self.error, self.touched = answer, error, touched


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
        intake: Optional[IntakeActivity] = None,
    ):
        self.engine = engine
        # Intake's activity in this process, which the sender gives way to (bot.pipeline.pacing);
        # a process without intake (`devex-bot worker`) has one that is never busy.
        self.intake = intake if intake is not None else IntakeActivity()
        self.settings = settings
        self.call = github_call
        self.preparers = preparers or {}
        self.follows = follows or {}
        self.clock = clock
        # Redone from the outbox after a power cut (see storage.db.redoable).
        self._work_engine = redoable(engine)

    def _backoff(self, attempts: int) -> float:
        return backoff(attempts, self.settings.retry_base, self.settings.retry_cap)

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

    def run_once(self) -> int:
        """Sends the due writes of one installation (one, or a batch when writes are not
        paced); how many were tried.

        Three steps, so that no transaction (and, on SQLite, not the write lock) is
        held while GitHub answers: the writes are claimed, prepared and leased (not
        due, nor anything behind them, until the lease ends: no other sender takes
        the installation meanwhile); GitHub is called; the answers are recorded.
        """
        now = self.clock()
        batch = self._claim(now)
        if batch is None:
            return 0
        installation_id, calls, tried = batch
        outcomes = self._call(installation_id, calls)
        if calls:
            # Recorded as of now, after GitHub answered: the installation's next write is
            # spaced from this call, not from its claim (a call that waited after its claim,
            # for a token or the disk, would otherwise leave less than the interval at GitHub).
            self._record(installation_id, calls, outcomes, self.clock())
        return tried

    # -- 1. claim, prepare and lease

    def _batch_size(self) -> int:
        # Paced writes leave one at a time; unpaced ones may leave back to back, in short
        # steps while intake is busy (bot.pipeline.pacing).
        if self.settings.write_interval > 0:
            return 1
        return BUSY_STEP if self.intake.busy() else SEND_BATCH

    def _claim(self, now: datetime) -> Optional[tuple[int, list["Call"], int]]:
        with Session(self._work_engine, expire_on_commit=False) as session:
            claimed = outbox.claim_writes(session, self.settings.write_interval, now, self._batch_size())
            if claimed is None:
                session.commit()  # nothing claimed: as the worker's empty claim (no rollback)
                return None
            installation, writes = claimed
            head = writes[0]
            calls: list[Call] = []
            tried = 0
            for write in writes:
                if write is not head and write.coalesce_key:
                    # A named write (the summary) waits until it is the head, as it would
                    # one write at a time: the longer it waits, the more changes it takes in.
                    break
                tried += 1
                try:
                    call = self._prepare_call(session, installation, write, now)
                except GitHubError as error:
                    self._settle_failure(session, installation, write, error, touched=False, ambiguous_before=False, now=now)
                    if error.retryable:
                        break  # what follows waits behind it
                    continue
                if call is None:
                    continue  # nothing left to do
                calls.append(call)
                if call.stops_batch:
                    break
            creates = [c.write_id for c in calls if c.creates]
            # PostgreSQL: the creates' note in this transaction, with the lease, whose commit then
            # waits for the disk (one transaction fewer a batch); SQLite: in one of its own, below.
            noted = bool(creates) and commit_waits_for_the_disk(session)
            outbox.lease(session, installation, [call.write for call in calls], self.settings.create_lease, now, in_flight=creates if noted else (), note=IN_FLIGHT)
            session.commit()
        if creates and not noted:
            self._note_in_flight(creates)
        return installation.id, calls, tried

    def _prepare_call(self, session: Session, installation, write: GitHubWrite, now: datetime) -> Optional["Call"]:
        """What to send for a write; None when there is nothing left to do. Raises GitHubError."""
        prepared = self._prepare(session, write, now)
        if prepared.skip:
            outbox.mark_sent(session, installation, write, None, now, touched=False)
            return None
        call = Call(write, prepared)
        if prepared.method == "POST" and (COMMENT_CREATE.match(prepared.path) or ISSUE_CREATE.match(prepared.path)) and isinstance(prepared.body, dict):
            call.tag = marker(f"write:{write.id}")
            call.body = {**prepared.body, "body": f"{prepared.body.get('body', '')}\n{call.tag}"}
        return call

    def _note_in_flight(self, write_ids: list[int]) -> None:
        """A process killed after GitHub made a comment and before its answer is
        recorded would post it again. So first, durably (whatever the sender's own
        commits), note each create as possibly done: a sender that finds it after a
        crash looks for its marker before posting."""
        with Session(durable(self.engine)) as session:
            outbox.note_in_flight(session, write_ids, IN_FLIGHT)
            session.commit()

    # -- 2. call GitHub, with no transaction open

    def _call(self, installation_id: int, calls: list["Call"]) -> list["CallResult"]:
        outcomes: list[CallResult] = []
        for call in calls:
            outcome = self._call_one(installation_id, call)
            outcomes.append(outcome)
            if outcome.error is not None and (outcome.error.retryable or outcome.error.authentication):
                break  # what follows waits behind it: the installation's order holds
        return outcomes

    def _call_one(self, installation_id: int, call: "Call") -> "CallResult":
        touched = False
        try:
            answer: Optional[Answer] = None
            if call.tag and call.ambiguous_before:
                answer = self._find_created(installation_id, call.write, call.prepared.path, call.tag)
            if answer is None:
                touched = True
                answer = self.call(installation_id, call.prepared.method, call.prepared.path, json=call.body)
            return CallResult(answer=answer, touched=touched)
        except GitHubError as error:
            return CallResult(error=error, touched=touched)

    # -- 3. record what GitHub answered

    def _record(self, installation_id: int, calls: list["Call"], outcomes: list["CallResult"], now: datetime) -> None:
        with Session(self._work_engine, expire_on_commit=False) as session:
            installation = outbox.relock_installation(session, installation_id)
            writes = outbox.reload(session, [call.write_id for call in calls])
            sent: list = []  # marked sent together, once the batch is settled (`outbox.mark_all_sent`)
            for i, call in enumerate(calls):
                write = writes[call.write_id]
                if i >= len(outcomes):
                    outbox.release(session, write, call.previous_error, now)  # not tried: due again at once
                    continue
                outcome = outcomes[i]
                if outcome.error is None:
                    self._settle_sent(session, installation, write, call, outcome.answer, now, sent)
                else:
                    write.last_error = call.previous_error
                    self._settle_failure(
                        session, installation, write, outcome.error, touched=outcome.touched, ambiguous_before=call.ambiguous_before, now=now, path=call.prepared.path
                    )
            outbox.mark_all_sent(session, installation, sent, now)
            session.commit()

    def _settle_sent(self, session: Session, installation, write: GitHubWrite, call: "Call", answer: Answer, now: datetime, sent: list) -> None:
        """Records what GitHub answered a write it took; the write joins `sent`, for the
        caller to mark with the others before it commits."""
        write.last_error = call.previous_error
        if write.then:
            # Its follow-up sees the writes before it marked, as it did one write at a time.
            outbox.mark_all_sent(session, installation, sent, now)
            sent.clear()
            then = json.loads(write.then)
            follow = self.follows.get(then.get("op", ""))
            if follow is None:
                # Only a row written by another version of the bot can name none.
                log.error("write %s names no known follow-up %r: GitHub's answer is not recorded", write.id, then.get("op"))
            else:
                follow(session, then, answer)
        sent.append((write, _summary(answer)))
        log.info("write %s sent: %s %s -> %s", write.id, call.prepared.method, call.prepared.path, answer.status, extra=_fields(installation, write, call.prepared.path))

    def _settle_failure(
        self, session: Session, installation, write: GitHubWrite, error: GitHubError, *, touched: bool, ambiguous_before: bool, now: datetime, path: Optional[str] = None
    ) -> None:
        if error.status == 404 and write.method == "DELETE":
            # Already gone: what the write wanted is true.
            outbox.mark_sent(session, installation, write, {"status": 404}, now, touched=touched)
            return
        if error.authentication:
            # The app's credentials were refused: kept, tried again after the longest
            # wait (not refused for good: a fixed key must still send it).
            wait = self.settings.retry_cap
            outbox.mark_retry(session, installation, write, str(error), wait, touched=touched, now=now)
            log.error("write %s not sent: %s; kept, tried again in %.0fs", write.id, error, wait, extra=_fields(installation, write, path))
            return
        if error.retryable:
            wait = error.retry_after if error.retry_after is not None else self._backoff(write.attempts)
            # Still ambiguous when only the look for an earlier attempt's comment failed.
            ambiguous = error.status is None or error.status >= 500 or (ambiguous_before and not touched)
            outbox.mark_retry(session, installation, write, f"{'ambiguous: ' if ambiguous else ''}{error}", max(wait, 0.0), touched=touched, now=now)
            log.warning("write %s failed (%s); retry in %.1fs", write.id, error, wait, extra=_fields(installation, write, path))
        else:
            outbox.mark_refused(session, installation, write, str(error), now)
            log.error("write %s refused by GitHub: %s", write.id, error, extra=_fields(installation, write, path))

    def drain(self, limit: int = 100000, wait: bool = False, timeout: float = 60.0) -> int:
        """Sends until nothing is due (or, with `wait`, until nothing is pending)."""
        sent = 0
        deadline = utcnow() + timedelta(seconds=timeout)
        stop = threading.Event()
        while sent < limit:
            tried = self.run_once()
            if tried:
                sent += tried
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
            mark = self.intake.mark()
            try:
                busy = self.run_once()
            except Exception:
                log.exception("sender: trouble; retrying")
                busy = False
            if not busy:
                stop.wait(min(self.settings.poll_interval, max(self.settings.write_interval, 0.05)))
            else:
                self.intake.rest(stop, mark)
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
