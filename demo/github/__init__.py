"""An in-memory GitHub, shaped like its REST API v3 and its webhooks (see `demo.github.simulator`).

One module per concern, each a base class of `SimulatedGitHub` sharing its
state; none imports another, only `demo.github.rest`:

- `seeding`: users, repositories, installations, roles, teams, issues, pull requests;
- `people`: people's actions, each returning the webhook GitHub would send;
- `faults`: errors, rate limits, timeouts and lost answers on demand;
- `inspection`: requests counted, deliveries taken, threads rendered;
- `routes`: respx, httpx and ASGI transports and the dispatch to endpoints;
- `auth`: the app's JWT and installation tokens;
- `repositories`, `issues`, `comments`, `labels`: the endpoints and their JSON;
- `webhooks`: the deliveries, built on GitHub's own payload examples;
- `state`: the records and the low-level changes they all share.
"""

from demo.github.rest import BOT_LOGIN, BOT_SLUG, RecordedRequest
from demo.github.simulator import SimulatedGitHub

__all__ = ["BOT_LOGIN", "BOT_SLUG", "RecordedRequest", "SimulatedGitHub"]
