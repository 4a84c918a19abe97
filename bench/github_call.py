"""The CPU one GitHub call costs the app over real HTTP, by path (docs/benchmarks.md, issue 18).

`.venv/bin/python -m bench.github_call` starts a one-line HTTP server in another
process (it answers every request at once with a comment's JSON) and makes 2,000
calls of each kind, a POST of a comment as the sender makes them, measuring only
the calling thread's CPU (`time.thread_time`): `GitHubApp.call` (its first call
asks for the token through githubkit; the rest take the direct path), githubkit's
own `request`, a bare `httpx.Client`, a bare `httpcore` pool, and `http.client`,
for scale. Not part of `make bench`: for comparing ways of calling, not figures.
"""

from __future__ import annotations

import subprocess
import sys
import time

SERVER = r'''
import socket, sys, threading
body = b'{"id": 1234567, "html_url": "https://github.test/o/r/issues/1#issuecomment-1", "body": "x"}'
token = b'{"token": "ghs_bench", "expires_at": "2099-01-01T00:00:00Z", "permissions": {}, "repository_selection": "all"}'
def handle(c):
    f = c.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            return
        path = line.split(b" ")[1]
        n = 0
        while True:
            h = f.readline()
            if h in (b"\r\n", b""):
                break
            if h.lower().startswith(b"content-length:"):
                n = int(h.split(b":")[1])
        if n:
            f.read(n)
        b = token if b"access_tokens" in path else body
        c.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
'''

CALLS = 2000
PATH = "/repos/o/r/issues/1/comments"
BODY = {"body": "Proposal received. " * 40}
HEADERS = {"Authorization": "token ghs_bench", "Accept": "application/vnd.github+json", "Content-Type": "application/json"}


def _measure(name: str, call) -> None:
    for _ in range(50):
        call()
    began = time.thread_time()
    for _ in range(CALLS):
        call()
    print(f"{name:<22} {(time.thread_time() - began) / CALLS * 1e6:7.1f} us of CPU a call", flush=True)


def main() -> int:
    import http.client

    import httpcore
    import httpx
    import orjson
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.github.client import GitHubApp

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        app = GitHubApp("1", pem, base)
        _measure("GitHubApp.call", lambda: app.call(7, "POST", PATH, json=BODY))
        _measure("githubkit request", lambda: app._client(7).request("POST", PATH.lstrip("/"), json=BODY))
        client = httpx.Client(base_url=base)
        _measure("httpx.Client", lambda: client.post(PATH, json=BODY, headers=HEADERS).json())
        pool = httpcore.ConnectionPool()
        _measure("httpcore pool", lambda: orjson.loads(pool.request("POST", base + PATH, headers=HEADERS, content=orjson.dumps(BODY)).content))
        connection = http.client.HTTPConnection("127.0.0.1", port)

        def plain():
            connection.request("POST", PATH, body=orjson.dumps(BODY), headers=HEADERS)
            response = connection.getresponse()
            return orjson.loads(response.read())

        _measure("http.client", plain)
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
