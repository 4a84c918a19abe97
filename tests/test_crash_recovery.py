"""kill -9 at the worst moments, then a restart: every accepted delivery applied exactly once.

Real processes (`devex-bot serve`, `devex-bot worker`) on SQLite and on
PostgreSQL, GitHub simulated over HTTP. The bot is killed four times:

1. the web process (`serve --no-worker`) right after its 202s, and a second
   one in the middle of a burst of concurrent deliveries: every delivery it
   answered 202 is in the inbox; the ones it never answered are redelivered
   (as an operator does: GitHub does not retry by itself) and stored once;
2. the worker while it is inside a delivery: it has recorded a registration
   and waits on GitHub (held by the test) for the bid's conflict check;
3. the worker again just after GitHub created one of its reply comments and
   before the worker heard the answer: the reply must not be posted twice;
4. then `devex-bot serve` (web and worker in one process) takes over, every
   delivery is redelivered once more, and it finishes the work.

The end state is compared with a sequential model of the same deliveries:
one `done` row per delivery, one registration per bidder, every proposal with
exactly its bids as versions in the order sent, one reply per command comment,
no GitHub comment posted twice, every sealed bid removed, no write left over.
"""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal

import httpx
import pytest

from tests.conftest import INSTALLATION, REPO
from tests.processes import app_keys  # noqa: F401 (a fixture)
from tests.processes import Fleet, GitHubServer, apost, delivery_statuses, done_count, fresh_database, pending_work, post, reader_engine, rows, wait_until
from tests.sequential import ISSUER, Sequential, check_applied_exactly_once

pytestmark = pytest.mark.slow

GATE_BIDDER = "gate-user"  # the worker is killed inside this bidder's delivery
REPLY_GATE = "reply-gate"  # and again just after GitHub created this bidder's reply


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_kill_9_at_intake_mid_delivery_and_mid_write_applies_every_delivery_once(kind, tmp_path, app_keys):
    key_path, public_key = app_keys
    with fresh_database(kind, tmp_path) as url, GitHubServer(public_key) as github:
        sim = github.sim
        sim.add_repo(REPO)
        sim.add_installation(INSTALLATION, "octo-org", [REPO])
        sim.set_permission(REPO, ISSUER, "write")
        # A collaborator without write access: their bid's conflict check asks GitHub
        # (a non-collaborator's would not), and step 2 kills the worker on that read.
        sim.set_permission(REPO, GATE_BIDDER, "triage")
        fleet = Fleet(url, github, key_path, tmp_path)
        engine = reader_engine(url)
        try:
            fleet.migrate()
            script = Sequential(github)

            # 1. Intake only; each delivery answered before the next is sent.
            web = fleet.web("web-1")
            first, second = script.opportunity(), script.opportunity()
            o1, o2 = script.opportunities
            one_by_one = [first, second]
            for login in ("b1", "b2", "b3", "b4"):
                one_by_one.append(script.comment(o1, login, register=True))
            one_by_one += [
                script.comment(o1, "b1", amount=Decimal("1000")),
                script.comment(o1, "b2", amount=Decimal("2000.00"), spelling="fr"),
                script.comment(o1, "b1", amount=Decimal("1100")),  # replaces b1's first bid
                script.comment(o2, "b3", register=True, amount=Decimal("3000")),
                script.comment(o1, "b3", amount=Decimal("3100")),
                script.comment(o2, GATE_BIDDER, register=True, amount=Decimal("4321")),
                script.comment(o2, REPLY_GATE, register=True),
                script.comment(o2, REPLY_GATE, amount=Decimal("5000")),
                script.comment(o1, "b2", amount=Decimal("1999.99")),
                script.comment(o1, "b4", amount=Decimal("4000")),
                script.comment(o2, "b3", amount=Decimal("2900")),
                script.comment(o2, "b3", amount=Decimal("9600")),  # over the value: refused
                script.comment(o1, "b4", withdraw=True),
            ]
            with httpx.Client(timeout=10) as client:
                for d in one_by_one:
                    assert post(client, web, d) == 202, d.answers
            web.kill9()
            assert set(delivery_statuses(engine)) == {d.delivery_id for d in one_by_one}
            assert set(delivery_statuses(engine).values()) == {"pending"}  # nothing handled yet

            # ... and killed again in the middle of a burst of concurrent deliveries.
            burst = [
                script.comment(o1 if i % 2 else o2, f"c{i}", register=True, amount=Decimal(100 + i), spelling="dollar")
                for i in range(40)
            ]
            web = fleet.web("web-2")

            async def burst_then_kill() -> None:
                async def send(client: httpx.AsyncClient, i: int, d) -> None:
                    await asyncio.sleep(i * 0.001)  # a stream, so the kill lands inside it
                    await apost(client, web, d)

                async with httpx.AsyncClient(timeout=10) as client:
                    tasks = [asyncio.create_task(send(client, i, d)) for i, d in enumerate(burst)]
                    while not any(d.accepted for d in burst) and not all(t.done() for t in tasks):
                        await asyncio.sleep(0.001)
                    web.kill9()
                    await asyncio.gather(*tasks)

            asyncio.run(burst_then_kill())
            stored = delivery_statuses(engine)
            answered = [d for d in burst if d.accepted]
            assert answered, "no delivery of the burst was answered"
            print(f"burst: {len(answered)} of {len(burst)} answered 202 before the kill, {len(set(stored) & {d.delivery_id for d in burst})} stored")
            assert [d.delivery_id for d in answered if d.delivery_id not in stored] == []  # 202 means stored

            # GitHub redelivers the ones it saw fail: stored once, whether or not they had been.
            web = fleet.web("web-3")
            with httpx.Client(timeout=10) as client:
                for d in burst:
                    if not d.accepted:
                        assert post(client, web, d) == (200 if d.delivery_id in stored else 202)
            web.kill9()
            assert set(delivery_statuses(engine)) == {d.delivery_id for d in script.deliveries}

            # 2. A worker, killed inside a delivery: it has recorded GATE_BIDDER's
            # registration and waits on GitHub for the bid's conflict check.
            inside = github.hold("GET", rf"/collaborators/{GATE_BIDDER}/permission$")
            worker = fleet.worker("worker-1")
            assert inside.reached.wait(60), fleet.logs_tail()
            handled = done_count(engine)
            assert 0 < handled < len(script.deliveries)
            worker.kill9()
            inside.release()
            gate = next(d for d in one_by_one if d.payload.get("comment", {}).get("user", {}).get("login") == GATE_BIDDER)
            assert delivery_statuses(engine)[gate.delivery_id] == "pending"
            assert rows(engine, "SELECT id FROM registrations WHERE login = :l", l=GATE_BIDDER) == []
            assert rows(engine, "SELECT id FROM proposals WHERE bidder = :l", l=GATE_BIDDER) == []

            # 3. Again, just after GitHub created REPLY_GATE's reply and before the
            # worker heard back: the reply exists on GitHub, the outbox still owes it.
            created = github.hold("POST", r"/issues/\d+/comments$", body_contains=f"@{REPLY_GATE}", after=True)
            worker = fleet.worker("worker-2")
            assert created.reached.wait(60), fleet.logs_tail()
            assert done_count(engine) > handled
            worker.kill9()
            created.release()
            assert sum(f"@{REPLY_GATE}" in c["body"] for c in github.bot_comments(o2)) == 1

            # 4. `serve`, web and worker in one process, takes over; GitHub redelivers everything.
            web = fleet.web("web-and-worker", worker=True)
            with httpx.Client(timeout=10) as client:
                for d in script.deliveries:
                    assert post(client, web, d) == 200, d.answers  # a duplicate: changes nothing
            wait_until(lambda: pending_work(engine) == (0, 0), 90, "the work to finish")
            web.stop()
            # Stopped by SIGTERM in time (uvicorn re-raises the signal once it has shut down).
            assert web.proc.returncode in (0, -signal.SIGTERM), web.log()[-3000:]

            check_applied_exactly_once(engine, github, script)
            assert sum(f"@{REPLY_GATE}" in c["body"] for c in github.bot_comments(o2)) == 2  # its two commands
        except BaseException:
            print(fleet.logs_tail())
            raise
        finally:
            fleet.close()
            engine.dispose()
