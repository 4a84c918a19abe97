"""The simulated GitHub (`demo.github`) served over HTTP for the benchmarks.

`python -m bench.simserver --port P --public-key-file F --app-id ID` serves
GitHub's REST API on 127.0.0.1:P, answering at once. A few `/_bench/...`
routes let the benchmark driver (another process) seed it, ask it for the
deliveries people's actions produce (real-shaped, built from
`tests/fixtures/github-payloads`), and read what it counted.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from demo.github import SimulatedGitHub

NUMBER = re.compile(r"/\d+(?=/|$)")


def kind_of(method: str, path: str) -> str:
    """`PATCH /repos/{repo}/issues/comments/{n}`: one name per kind of request."""
    path = NUMBER.sub("/{n}", path)
    path = re.sub(r"^/repos/[^/]+/[^/]+", "/repos/{repo}", path)
    path = re.sub(r"/collaborators/[^/]+/", "/collaborators/{user}/", path)
    path = re.sub(r"/labels/[^/]+$", "/labels/{name}", path)
    path = re.sub(r"/contents/.+$", "/contents/{path}", path)
    return f"{method} {path}"


def build(sim: SimulatedGitHub) -> Starlette:
    async def setup(request: Request) -> JSONResponse:
        spec = await request.json()
        for repo in spec.get("repos", []):
            sim.add_repo(repo["full_name"], private=repo.get("private", False), files=repo.get("files"))
        for inst in spec.get("installations", []):
            sim.add_installation(inst["id"], inst["account"], inst.get("repos"))
        for repo, login, perm in spec.get("permissions", []):
            sim.set_permission(repo, login, perm)
        numbers = [
            sim.open_issue(i["repo"], i["title"], i["body"], i["user"], i.get("labels", ()))["number"] for i in spec.get("issues", [])
        ]
        return JSONResponse({"issues": numbers})

    async def human(request: Request) -> JSONResponse:
        """People's actions, each answered with the delivery GitHub would send."""
        out = []
        for act in await request.json():
            kind = act["kind"]
            if kind == "comment":
                out.append(sim.human_comment(act["repo"], act["number"], act["login"], act["body"]))
            elif kind == "label":
                out.append(sim.human_label(act["repo"], act["number"], act["login"], act["label"]))
            elif kind == "open_pull_request":
                out.append(sim.human_open_pull_request(act["repo"], act["title"], act["body"], act["login"]))
            elif kind == "review":
                out.append(sim.human_review(act["repo"], act["number"], act["login"], act.get("state", "APPROVED")))
            elif kind == "merge_pull_request":
                out.append(sim.human_merge_pull_request(act["repo"], act["number"], act["merged_by"]))
            else:
                return JSONResponse({"error": f"unknown action {kind}"}, status_code=400)
        with sim.lock:
            sim.human_events.clear()
        return JSONResponse(out)

    async def stats(request: Request) -> JSONResponse:
        """Requests received since `since` (an index), by kind, and token requests so far."""
        since = int(request.query_params.get("since", "0"))
        with sim.lock:
            taken = sim.requests[since:]
            total = len(sim.requests)
            tokens = dict(sim.token_requests)
            sim.events.clear()  # the app's own actions as webhooks: not replayed here
        kinds = Counter(kind_of(r.method, r.path) for r in taken)
        return JSONResponse(
            {"total": total, "since": since, "count": len(taken), "kinds": dict(kinds), "token_requests": {str(k): v for k, v in tokens.items()}}
        )

    async def issue(request: Request) -> JSONResponse:
        repo = request.query_params["repo"]
        number = int(request.query_params["number"])
        with sim.lock:
            data = sim.issue(repo, number)
            comments = [sim.comments[i] for i in data["comment_ids"]]
            return JSONResponse(
                {"labels": [l if isinstance(l, str) else l.get("name") for l in data.get("labels", [])], "comments": [c["body"] for c in comments]}
            )

    return Starlette(
        routes=[
            Route("/_bench/setup", setup, methods=["POST"]),
            Route("/_bench/human", human, methods=["POST"]),
            Route("/_bench/stats", stats, methods=["GET"]),
            Route("/_bench/issue", issue, methods=["GET"]),
            Mount("/", app=sim.asgi_app),
        ]
    )


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--app-id", required=True)
    p.add_argument("--public-key-file", required=True)
    args = p.parse_args()
    api = f"http://127.0.0.1:{args.port}"
    sim = SimulatedGitHub(app_public_key=Path(args.public_key_file).read_bytes(), app_id=args.app_id, api_url=api)
    uvicorn.run(build(sim), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
