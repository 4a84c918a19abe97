"""The Probot comparison: a Probot app (bench/probot/app.js) whose handler returns at once.

Probot is installed from npm into bench/probot/ (`npm install`, run here when
node_modules is missing; `make bench` runs it first). It checks each
delivery's signature, parses it, runs the handler (which does nothing) and
answers 200: it stores nothing, so it is what acknowledging alone costs in
the framework most GitHub Apps are written with. Where node or npm is not
installed, or the install fails, the bench skips it and says why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Optional

from bench.deploy import APP_ID, _env
from bench.procs import HOST, ROOT, free_port, wait_http

FOLDER = ROOT / "bench" / "probot"


def install() -> Optional[str]:
    """None once Probot is installed, else why it is not."""
    if (FOLDER / "node_modules" / "probot" / "package.json").exists():
        return None
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed (Probot runs on Node.js)"
    out = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=FOLDER, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return f"npm install failed: {out.stderr.strip()[-300:]}"
    return None


def start_probot(run, secret: str):
    """((process, port), None) with Probot listening on /webhooks, or (None, why not)."""
    why_not = install()
    if why_not:
        return None, why_not
    key_file = Path(run.work) / "probot-key.pem"
    key_file.write_text(run.keys.private_pem)
    port = free_port()
    env = _env(
        {
            "APP_ID": APP_ID,
            "PRIVATE_KEY_PATH": str(key_file),
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_PATH": "/webhooks",
            "HOST": HOST,
            "PORT": port,
            "LOG_LEVEL": "warn",  # as devex-bot serve runs: no line per request
            "NODE_ENV": "production",
        }
    )
    # probot-run.js itself: `probot run` would start it as a child, whose CPU and memory the bench would not see.
    proc = run.procs.start("probot", ["node", str(FOLDER / "node_modules" / "probot" / "bin" / "probot-run.js"), str(FOLDER / "app.js")], env)
    try:
        wait_http(f"http://{HOST}:{port}/", proc)
    except RuntimeError as exc:
        run.procs.stop(proc)
        return None, f"Probot did not start: {exc}"
    return (proc, port), None
