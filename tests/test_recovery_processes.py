"""Two `devex-bot recover` processes on one PostgreSQL ask GitHub once per GUID (issue 13.2):
real processes, the simulated GitHub served over HTTP on 127.0.0.1."""

from __future__ import annotations

import subprocess

import pytest

from demo.github.deliveries import HookDeliveries
from tests.conftest import SECRET, payload
from tests.processes import DEVEX_BOT, ROOT, Fleet, GitHubServer, app_keys, fresh_database  # noqa: F401


def _recover(fleet: Fleet) -> subprocess.Popen:
    return subprocess.Popen(
        [*DEVEX_BOT, "recover"], env=fleet.env, cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


@pytest.mark.slow
def test_two_recover_processes_on_one_postgresql_ask_once_per_guid(app_keys, tmp_path):
    key_path, public_key = app_keys
    with fresh_database("postgresql", tmp_path) as url, GitHubServer(public_key) as github:
        hooks = HookDeliveries(github.sim, SECRET)  # no app to reach: every attempt fails
        guids = []
        for i in range(5):
            ping = payload("ping")
            ping["zen"] = f"ping {i}"
            guids.append(hooks.deliver("ping", ping)["guid"])
        fleet = Fleet(url, github, key_path, tmp_path)
        fleet.migrate()
        running = []
        try:
            # The first process is held while it reads GitHub's list: the second starts then.
            hold = github.hold("GET", r"^/app/hook/deliveries$")
            running.append(_recover(fleet))
            assert hold.reached.wait(60), "the first process never read the list"
            running.append(_recover(fleet))
            second_out, second_err = running[1].communicate(timeout=60)
            hold.release()
            first_out, first_err = running[0].communicate(timeout=60)
            # GitHub has not redelivered yet: a third pass sees the same failures.
            running.append(_recover(fleet))
            third_out, _ = running[2].communicate(timeout=60)
        finally:
            for process in running:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
        assert [p.returncode for p in running] == [0, 0, 0], first_err + second_err
        assert "another process is running a recovery pass now" in second_out
        assert "5 redelivered" in first_out and all(f"redelivered: {g}" in first_out for g in guids)
        assert "0 redelivered" in third_out and "5 already asked for" in third_out
        assert sorted(hooks.asked) == sorted(guids)
