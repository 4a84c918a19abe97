"""Several web and worker processes on one PostgreSQL: the result of a sequential model.

200 bids from 50 bidders on 5 opportunities (plus registrations, withdrawals
and refused bids), delivered concurrently to two web processes (`devex-bot
serve --no-worker`) while two worker processes (`devex-bot worker`) apply them,
GitHub simulated over HTTP. Each bidder's comments on one opportunity are sent
one after the other, each once answered, as a person types them; everything
else runs at once. Duplicates: a fifth of the deliveries go to both web
processes at the same moment with the same `X-GitHub-Delivery` (exactly one
stores it), and a tenth are sent again later, while newer deliveries are
arriving, and once more at the end (nothing changes).

The stored proposals (each bidder's versions on each opportunity, amounts,
order, status), the registrations, the replies on GitHub and the outbox are
exactly what the sequential model predicts.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import httpx
import pytest

from tests.conftest import INSTALLATION, REPO
from tests.processes import app_keys  # noqa: F401 (a fixture)
from tests.processes import (
    BotProcess,
    Delivery,
    Fleet,
    GitHubServer,
    apost,
    delivery_statuses,
    fresh_database,
    pending_work,
    reader_engine,
    rows,
    wait_until,
)
from tests.sequential import ISSUER, VALUE, Sequential, check_applied_exactly_once

pytestmark = pytest.mark.slow

OPPORTUNITIES = 5
BIDDERS = 50
BIDS = 200  # 4 per bidder, spread over one to three opportunities
SEED = 20261126


def plan(rng: random.Random) -> dict[str, list[tuple[int, list[str]]]]:
    """bidder -> [(opportunity index, steps)]: what each bidder will do, in order, on each."""
    plans = {}
    for n in range(BIDDERS):
        spread = rng.choice([1, 2, 2, 3])
        where = rng.sample(range(OPPORTUNITIES), spread)
        counts = [1] * spread
        for _ in range(BIDS // BIDDERS - spread):
            counts[rng.randrange(spread)] += 1
        steps = []
        for index, bids in zip(where, counts):
            ops = ["register"] + ["bid"] * bids
            if rng.random() < 0.15:  # withdraws, then perhaps bids again
                ops.insert(rng.randrange(2, len(ops) + 1), "withdraw")
            if rng.random() < 0.1:  # a bid over the value: refused, recorded nowhere
                ops.insert(rng.randrange(1, len(ops) + 1), "over")
            steps.append((index, ops))
        plans[f"bidder-{n:02d}"] = steps
    return plans


def test_200_bids_from_50_bidders_through_two_web_and_two_worker_processes_match_a_sequential_model(tmp_path, app_keys):
    key_path, public_key = app_keys
    rng = random.Random(SEED)
    with fresh_database("postgresql", tmp_path) as url, GitHubServer(public_key) as github:
        sim = github.sim
        sim.add_repo(REPO)
        sim.add_installation(INSTALLATION, "octo-org", [REPO])
        sim.set_permission(REPO, ISSUER, "write")
        fleet = Fleet(url, github, key_path, tmp_path)
        engine = reader_engine(url)
        try:
            fleet.migrate()
            webs = [fleet.web("web-1"), fleet.web("web-2")]
            workers = [fleet.worker("worker-1"), fleet.worker("worker-2")]
            wait_until(lambda: all('"worker started"' in w.log() for w in workers), 60, "the workers to start")
            model = Sequential(github)
            late: list[Delivery] = []

            async def send(client: httpx.AsyncClient, d: Delivery) -> None:
                """Once, or to both web processes at once (the same delivery id); answered before returning."""
                if rng.random() < 0.2:
                    answers = await asyncio.gather(*(apost(client, web, d) for web in webs))
                    assert sorted(answers) == [200, 202], answers  # exactly one stored it
                else:
                    assert await apost(client, rng.choice(webs), d) == 202, d.answers
                if rng.random() < 0.1:
                    late.append(d)

            async def bidder(client: httpx.AsyncClient, login: str, number: int, ops: list[str]) -> None:
                for op in ops:
                    await asyncio.sleep(rng.random() * 0.02)
                    if op == "register":
                        d = model.comment(number, login, register=True)
                    elif op == "withdraw":
                        d = model.comment(number, login, withdraw=True)
                    elif op == "over":
                        d = model.comment(number, login, amount=VALUE + Decimal("0.01"))
                    else:
                        amount = Decimal(rng.randrange(100_00, 9_500_00)) / 100
                        d = model.comment(number, login, amount=amount, spelling=rng.choice(["en", "dollar", "fr"]))
                    await send(client, d)
                    if late and rng.random() < 0.2:  # an older delivery again, after newer ones
                        assert await apost(client, rng.choice(webs), rng.choice(late)) == 200

            async def everything() -> None:
                limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
                async with httpx.AsyncClient(timeout=30, limits=limits) as client:
                    for _ in range(OPPORTUNITIES):
                        await send(client, model.opportunity())
                    numbers = list(model.opportunities)
                    await asyncio.gather(
                        *(bidder(client, login, numbers[index], ops) for login, steps in plan(rng).items() for index, ops in steps)
                    )

            asyncio.run(everything())
            total_bids = sum(1 for d in model.deliveries if "/bid" in (d.payload.get("comment") or {}).get("body", ""))
            assert total_bids - model.refused_bids == BIDS
            wait_until(lambda: pending_work(engine) == (0, 0), 120, "the work to finish")

            # GitHub redelivers some again once all is done: nothing changes.
            async def redeliver() -> None:
                async with httpx.AsyncClient(timeout=30) as client:
                    answers = await asyncio.gather(*(apost(client, rng.choice(webs), d) for d in late))
                    assert set(answers) <= {200}, answers

            asyncio.run(redeliver())
            wait_until(lambda: pending_work(engine) == (0, 0), 30, "the work to finish")

            for d in model.deliveries:
                assert d.answers.count(202) == 1, (d.delivery_id, d.answers)
            check_applied_exactly_once(engine, github, model)
            # Both workers took part, and every process is still up.
            assert all(handled(w) > 0 for w in workers), [handled(w) for w in workers]
            assert all(p.running() for p in webs + workers), fleet.logs_tail()
        except BaseException:
            print(fleet.logs_tail())
            raise
        finally:
            fleet.close()
            engine.dispose()


def handled(worker: BotProcess) -> int:
    return worker.log().count("handled by")


def test_the_same_deliveries_racing_into_two_web_processes_in_opposite_orders_are_each_stored_once(tmp_path, app_keys):
    """Each web process stores the deliveries that arrive together in one transaction;
    two of them taking the same delivery ids in crossed order deadlock on the unique
    key, and the batch PostgreSQL aborts must be stored again, not answered 503."""
    key_path, public_key = app_keys
    with fresh_database("postgresql", tmp_path) as url, GitHubServer(public_key) as github:
        github.sim.add_repo(REPO)
        github.sim.add_installation(INSTALLATION, "octo-org", [REPO])
        fleet = Fleet(url, github, key_path, tmp_path)
        engine = reader_engine(url)
        try:
            fleet.migrate()
            webs = [fleet.web("web-1"), fleet.web("web-2")]
            model = Sequential(github)
            model.opportunity()
            deliveries = [model.comment(model.opportunities[0], f"bidder-{n:03d}", register=True) for n in range(150)]

            async def race() -> None:
                limits = httpx.Limits(max_connections=400, max_keepalive_connections=0)
                async with httpx.AsyncClient(timeout=30, limits=limits) as client:
                    await asyncio.gather(
                        *(apost(client, webs[0], d) for d in deliveries),
                        *(apost(client, webs[1], d) for d in reversed(deliveries)),
                    )

            asyncio.run(race())
            assert [d.answers for d in deliveries if sorted(d.answers) != [200, 202]] == []
            assert set(delivery_statuses(engine)) == {d.delivery_id for d in deliveries}
        except BaseException:
            print(fleet.logs_tail())
            raise
        finally:
            fleet.close()
            engine.dispose()


def test_a_bidder_registering_on_two_opportunities_at_once_is_registered_once(tmp_path, app_keys):
    """Two workers, one `/register` each, for one person on two opportunities: the
    first is held inside its transaction (waiting on GitHub) while the second runs."""
    key_path, public_key = app_keys
    with fresh_database("postgresql", tmp_path) as url, GitHubServer(public_key) as github:
        sim = github.sim
        sim.add_repo(REPO)
        sim.add_installation(INSTALLATION, "octo-org", [REPO])
        sim.set_permission(REPO, ISSUER, "write")
        # A collaborator without write access: the bid's conflict check asks GitHub
        # (a non-collaborator's would not), and the test holds that read.
        sim.set_permission(REPO, "racer", "triage")
        fleet = Fleet(url, github, key_path, tmp_path)
        engine = reader_engine(url)
        try:
            fleet.migrate()
            web = fleet.web("web")
            workers = [fleet.worker("worker-1"), fleet.worker("worker-2")]
            wait_until(lambda: all('"worker started"' in w.log() for w in workers), 60, "the workers to start")
            model = Sequential(github)
            with httpx.Client(timeout=10) as client:

                def send(d: Delivery) -> None:
                    assert client.post(web.url + "/webhooks", content=d.body, headers=d.headers()).status_code == 202

                send(model.opportunity())
                send(model.opportunity())
                first, second = model.opportunities
                wait_until(lambda: pending_work(engine)[0] == 0, 30, "the opportunities to open")
                # Registered, then held on the bid's conflict check: the transaction stays open.
                held = github.hold("GET", r"/collaborators/racer/permission$")
                send(model.comment(first, "racer", register=True, amount=Decimal("1000")))
                assert held.reached.wait(30), fleet.logs_tail()
                other = model.comment(second, "racer", register=True)
                send(other)
                # The other worker takes it now; it must wait for the first to decide.
                try:
                    wait_until(lambda: delivery_statuses(engine)[other.delivery_id] == "done", 2, "the second /register")
                except AssertionError:
                    pass  # waiting, as it should
                held.release()
            wait_until(lambda: pending_work(engine) == (0, 0), 30, "the work to finish")
            assert [r["login"] for r in rows(engine, "SELECT login FROM registrations")] == ["racer"]
            check_applied_exactly_once(engine, github, model)
        except BaseException:
            print(fleet.logs_tail())
            raise
        finally:
            fleet.close()
            engine.dispose()
