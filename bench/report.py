"""The readable table `make bench` prints, with each target (issues 7 and 18) checked."""

from __future__ import annotations

from typing import Any, Optional


def _f(value: Any, fmt: str = "{:,.1f}") -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return fmt.format(value)
    return str(value)


SHORT = {
    "GET /repos/{repo}/collaborators/{user}/permission": "GET permission",
    "GET /repos/{repo}/contents/{path}": "GET config file",
    "POST /app/installations/{n}/access_tokens": "POST token",
    "POST /repos/{repo}/issues/{n}/comments": "POST comment",
    "PATCH /repos/{repo}/issues/comments/{n}": "PATCH comment",
    "DELETE /repos/{repo}/issues/comments/{n}": "DELETE comment",
    "POST /repos/{repo}/issues/{n}/labels": "POST labels",
    "DELETE /repos/{repo}/issues/{n}/labels/{name}": "DELETE label",
    "POST /repos/{repo}/issues": "POST issue",
    "PATCH /repos/{repo}/issues/{n}": "PATCH issue",
    "POST /repos/{repo}/issues/{n}/assignees": "POST assignees",
}


def short(kind: str) -> str:
    return SHORT.get(kind, kind)


def _is_number(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "").replace("%", "").replace("-", "").replace("x", "").strip().isdigit() or cell == "-"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(c.rjust(w) if i and _is_number(c) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out)


def verdicts(results: dict) -> list[tuple[str, str, Optional[bool]]]:
    """(target, measured, met) for each target of issue 7 that this run measured."""
    out: list[tuple[str, str, Optional[bool]]] = []
    intake = (results.get("intake") or {}).get("rows") or {}
    serve = intake.get("serve_sqlite")
    if serve:
        out.append(("intake >= 40% of the bare ceiling (SQLite, worker beside it)", f"{serve['ratio_to_ceiling']:.0%} ({serve['rate']:,.0f} of {serve.get('ceiling_beside', intake['ceiling']['rate']):,.0f}/s)", serve["ratio_to_ceiling"] >= 0.40))
        out.append(("intake p99 < 25 ms (SQLite, worker beside it)", f"{serve['p99_ms']:,.1f} ms", serve["p99_ms"] < 25))
        non_2xx = sum(n for st, n in serve["statuses"].items() if not st.startswith("2"))
        out.append(("no non-2xx (SQLite, worker beside it)", f"{non_2xx}", non_2xx == 0))
    pg = intake.get("serve_postgresql")
    if pg:
        out.append(("intake >= 30% of the ceiling (PostgreSQL)", f"{pg['ratio_to_ceiling']:.0%} ({pg['rate']:,.0f} of {pg.get('ceiling_beside', intake['ceiling']['rate']):,.0f}/s)", pg["ratio_to_ceiling"] >= 0.30))
        out.append(("intake p99 < 25 ms (PostgreSQL)", f"{pg['p99_ms']:,.1f} ms", pg["p99_ms"] < 25))
    unhandled = intake.get("serve_sqlite_unhandled")
    if unhandled:
        out.append(("deliveries nobody handles >= 70% of the ceiling, not stored", f"{unhandled['ratio_to_ceiling']:.0%} ({unhandled['rate']:,.0f} of {unhandled.get('ceiling_beside', intake['ceiling']['rate']):,.0f}/s), {unhandled.get('stored_during_run')} stored", unhandled["ratio_to_ceiling"] >= 0.70 and not unhandled.get("stored_during_run")))
    probot = intake.get("probot")
    if serve and probot:
        out.append(("stores durably more per second than Probot acknowledges", f"{serve['rate']:,.0f} vs {probot['rate']:,.0f}/s ({serve['ratio_to_ceiling']:.0%} vs {probot['ratio_to_ceiling']:.0%} of the ceiling)", serve["rate"] > probot["rate"]))
    # Every devex-bot process the run started, read as it stopped (intake's rows read theirs
    # at the end of the load; results of a bench before the record have those alone).
    rss = list((results.get("peak_rss_mb") or {}).items()) or [(k, r["peak_rss_mb"]) for k, r in intake.items() if k not in ("ceiling", "probot")]
    if rss:
        worst = max(rss, key=lambda kr: kr[1])
        out.append(("peak RSS < 200 MB (every devex-bot process of the run)", f"{worst[1]:,.0f} MB ({worst[0]}, of {len(rss)})", worst[1] < 200))
    runs = (results.get("endtoend") or {}).get("runs") or {}
    if "sqlite_1" in runs:
        out.append((">= 300 bids/s end to end, SQLite, one process", f"{runs['sqlite_1']['bids_per_s']:,.1f} bids/s", runs["sqlite_1"]["bids_per_s"] >= 300))
    if "postgresql_2" in runs:
        out.append((">= 250 bids/s end to end, PostgreSQL, serve + worker", f"{runs['postgresql_2']['bids_per_s']:,.1f} bids/s", runs["postgresql_2"]["bids_per_s"] >= 250))
    for key in ("sqlite_1", "postgresql_2"):
        if key in runs:
            out.append((f"<= 3 ms CPU per bid ({key})", f"{runs[key]['app_cpu_ms_per_bid']:.2f} ms", runs[key]["app_cpu_ms_per_bid"] <= 3))
    if "postgresql_1" in runs and "postgresql_2" in runs:
        one, two = runs["postgresql_1"]["bids_per_s"], runs["postgresql_2"]["bids_per_s"]
        out.append(("PostgreSQL: two workers faster than one", f"{two:,.1f} vs {one:,.1f} bids/s", two > one))
    paced = (results.get("endtoend") or {}).get("paced")
    if "sqlite_1" in runs:
        per_bid = runs["sqlite_1"]["github_requests_per_bid"]
        out.append(("<= 2 GitHub requests per bid (sealed), one repository", f"{per_bid:.3f} (GitHub answering at once)", per_bid <= 2))
    if paced:
        out.append(("  the same with real pacing: writes per bid", f"{paced['writes_per_bid']:.3f} ({paced['summary_edits']} summary edits)", paced["writes_per_bid"] <= 2))
    for key, r in runs.items():
        tokens = r.get("token_requests_whole_run")
        if tokens is not None:
            out.append((f"<= 1 token per installation per hour ({key})", f"{tokens} for 1 installation, {r['deliveries_whole_run']:,} deliveries", tokens <= 1))
    scale = results.get("scale") or {}
    if scale.get("bid_ratio"):
        out.append(("bid at 200,000 versions within 2x of empty", f"{scale['bid_ratio']:.2f}x ({scale['full']['bid']['median_ms']} vs {scale['empty']['bid']['median_ms']} ms)", scale["bid_ratio"] <= 2))
    board = results.get("board") or {}
    for database, figures in (board.get("databases") or {}).items():
        for page in ("list", "filtered list", "feed"):
            t = figures["pages"][page]
            out.append((f"board {page} at {board['opportunities']:,} opportunities < 50 ms median ({database})", f"{t['median_ms']:.1f} ms (p90 {t['p90_ms']:.1f})", t["median_ms"] < 50))
    return out


def render(results: dict) -> str:
    parts = []
    m = results["machine"]
    parts.append(f"devex-bot benchmarks, {m['date']}: {m['nproc']} x {m['cpu_model']}, {m['memory_gib']} GiB, Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, commit {m['commit']}")

    intake = results.get("intake")
    if intake:
        rows = []
        for key, r in intake["rows"].items():
            rows.append([key, _f(r["rate"], "{:,.0f}"), _f(r.get("ratio_to_ceiling"), "{:.0%}"), _f(r["p50_ms"], "{:.2f}"), _f(r["p99_ms"], "{:.2f}"), _f(r["max_ms"], "{:.1f}"), _f(r["peak_rss_mb"], "{:.0f}"), _f(r["server_cpu_s"])])
        parts.append(f"\nIntake: signed /bid deliveries, {intake['connections']} connections, {intake['duration_s']:.0f} s after {intake['warmup_s']:.0f} s warm-up")
        parts.append(_table(["server", "deliveries/s", "of ceiling", "p50 ms", "p99 ms", "max ms", "peak RSS MB", "CPU s"], rows))
        if intake.get("ceilings"):
            parts.append(
                "The bare ceiling, measured before the first row and after each: "
                + ", ".join(f"{c:,.0f}" for c in intake["ceilings"])
                + "/s; each row's share is of the mean of the two beside it."
            )

    e2e = results.get("endtoend")
    if e2e:
        rows = []
        for key, r in e2e["runs"].items():
            rows.append([key, _f(r["bids_per_s"]), _f(r["seconds"], "{:.2f}"), _f(r["app_cpu_ms_per_bid"], "{:.2f}"), _f(r["intake_p99_ms"], "{:.0f}"), _f(r["writes_drained_after_s"]), _f(r["github_requests_per_bid"], "{:.2f}"), _f(r["token_requests"], "{}")])
        parts.append(f"\nEnd to end: {e2e['bids']:,} bids on {e2e['opportunities']} opportunities, GitHub answering at once")
        parts.append(_table(["database, processes", "bids/s", "seconds", "CPU ms/bid", "intake p99 ms", "writes sent by s", "requests/bid", "tokens"], rows))
        paced = e2e.get("paced")
        if paced:
            parts.append(
                f"With GitHub's pacing (1 s between writes per installation, {paced['installations']} installations): {paced['bids']:,} bids committed in "
                f"{paced['bids_committed_s']} s; their {paced['writes']:,} writes ({paced['summary_edits']} summary edits) sent in {paced['drain_s']} s, "
                f"{paced['github_requests_per_bid']:.3f} requests per bid; all behind one installation they would take about {paced['one_installation_drain_estimate_s']:,} s."
            )

    economy = results.get("economy")
    if economy:
        rows = []
        for s in economy["steps"]:
            rows.append([s["step"], _f(s.get("per_delivery"), "{:.2f}"), ", ".join(f"{short(k)} x{v}" for k, v in sorted((s.get("by_kind") or {}).items(), key=lambda kv: short(kv[0]))) or "-", "yes" if s.get("effect") is True else str(s.get("effect"))])
        parts.append("\nGitHub economy: requests per delivery, one at a time, nothing coalesced")
        parts.append(_table(["delivery", "requests", "which", "done"], rows))

    scale = results.get("scale")
    if scale and not scale.get("skipped"):
        full, empty = scale["full"], scale["empty"]
        parts.append("\nScale (PostgreSQL): one bid, posted to committed")
        rows = [
            ["empty database", _f(empty["bid"]["median_ms"], "{:.1f}"), _f(empty["bid"]["p90_ms"], "{:.1f}")],
            [f"{full['fill']['rows']['proposal_versions']:,} proposal versions", _f(full["bid"]["median_ms"], "{:.1f}"), _f(full["bid"]["p90_ms"], "{:.1f}")],
        ]
        parts.append(_table(["database", "median ms", "p90 ms"], rows))
        review = full.get("award_review") or {}
        if review:
            render_ms = (review.get("render_ms") or {})
            parts.append(
                f"Award review, {review['proposals']} proposals: /award committed in {review['award_committed_ms']} ms, the issue created on GitHub after "
                f"{review.get('review_issue_created_ms')} ms ({review.get('review_pages')} page(s)); rendering its pages alone {render_ms.get('median_ms')} ms "
                f"({render_ms.get('characters')} characters)."
            )

    board = results.get("board")
    if board:
        parts.append(f"\nPublic board: {board['opportunities']:,} listed opportunities, one request at a time, ms")
        rows = []
        for database, figures in board["databases"].items():
            for page, t in figures["pages"].items():
                rows.append([database, page, _f(t["median_ms"], "{:.1f}"), _f(t["p90_ms"], "{:.1f}"), _f(t["max_ms"], "{:.1f}"), _f(t["bytes"], "{:,}")])
        parts.append(_table(["database", "page", "median", "p90", "max", "bytes"], rows))

    peaks = results.get("peak_rss_mb")
    if peaks:
        parts.append("\nPeak RSS of each devex-bot process (with its helper), MB: " + ", ".join(f"{name} {mb:,.0f}" for name, mb in peaks.items()))

    checks = verdicts(results)
    if checks:
        parts.append("\nTargets (issues 7, 14 and 18)")
        parts.append(_table(["target", "measured", "met"], [[t, m, "yes" if ok else "NO"] for t, m, ok in checks]))
    if results.get("notes"):
        parts.append("\nNotes: " + "; ".join(results["notes"]))
    return "\n".join(parts)
