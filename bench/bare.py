"""The ceiling: a bare Starlette endpoint that checks the signature and answers 202.

Served exactly as `devex-bot serve` serves the app (uvicorn, one process,
uvloop and httptools from uvicorn[standard], no access log), so the ratio of
the two measures what intake itself costs.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build(secret: bytes) -> Starlette:
    async def webhooks(request: Request) -> Response:
        body = await request.body()
        header = request.headers.get("x-hub-signature-256") or ""
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), header.encode()):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        return JSONResponse({"stored": True}, status_code=202)

    return Starlette(routes=[Route("/webhooks", webhooks, methods=["POST"])])


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    secret = os.environ["GITHUB_WEBHOOK_SECRET"].encode()
    uvicorn.run(build(secret), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
