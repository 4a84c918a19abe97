"""`devex-bot demo` signs a bidder in to the desk (simulated OAuth web flow), bids there
in confidence, and shows her own result after the award."""

from __future__ import annotations

import pytest

from demo.script import run_demo


@pytest.mark.slow
def test_the_demo_bids_from_the_desk_and_reads_the_debrief_there(tmp_path):
    lines: list[str] = []
    assert run_demo(tmp_path / "demo.db", tmp_path / "exports", say=lines.append) == 0
    out = "\n".join(lines)
    assert "authorizes on GitHub; GET /auth/callback: HTTP 303, signed in" in out
    assert "Your proposal was received. Receipt R-" in out
    assert "her amount or text in any request to GitHub: no." in out
    assert "### A confidential proposal was received" in out
    assert "Her desk: Your proposal ranked 3 of 3." in out
    assert "https://devex.demo/en/desk" in out
