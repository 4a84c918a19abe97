"""`make bench`: runs every section, writes bench/results.json, prints the table.

`python -m bench [--only intake,endtoend,economy,scale,board] [--quick] [--out FILE]`.
Every server it starts listens on 127.0.0.1 and is stopped at the end, and
every PostgreSQL database it creates (devex_bench_*) is dropped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.context import Run
from bench.deploy import Keys
from bench.machine import describe
from bench.procs import ROOT, Processes
from bench.report import render

SECTIONS = ("intake", "endtoend", "economy", "scale", "board")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    p.add_argument("--quick", action="store_true", help="shorter runs, smaller data: a smoke test, not figures")
    p.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    p.add_argument("--keep", action="store_true", help="keep the work folder (databases, logs)")
    args = p.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s): {', '.join(unknown)}")

    from bench.board import run_board
    from bench.economy import run_economy
    from bench.endtoend import run_endtoend
    from bench.intake import run_intake
    from bench.scale import run_scale

    runners = {"intake": run_intake, "endtoend": run_endtoend, "economy": run_economy, "scale": run_scale, "board": run_board}
    work = Path(tempfile.mkdtemp(prefix="devex-bench-"))
    results: dict = {"machine": describe(), "quick": args.quick}
    failed = False
    started = time.monotonic()
    with Processes(work / "logs") as procs:
        run = Run(work=work, keys=Keys.make(work), procs=procs, quick=args.quick)
        for section in wanted:
            try:
                results[section] = runners[section](run)
            except Exception as exc:  # one broken section does not lose the others' figures
                failed = True
                traceback.print_exc()
                results[section] = {"error": f"{type(exc).__name__}: {exc}"}
                run.notes.append(f"{section} failed: {type(exc).__name__}: {exc} (logs in {work / 'logs'})")
        results["notes"] = run.notes
        procs.stop_all()  # every devex-bot process's peak RSS is read as it stops
        results["peak_rss_mb"] = dict(sorted(procs.app_peak_rss_mb.items()))
    results["seconds"] = round(time.monotonic() - started, 1)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(render({k: v for k, v in results.items() if not (isinstance(v, dict) and "error" in v)}))
    print(f"\n{results['seconds']:.0f} s; results in {args.out}")
    if args.keep or failed:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
