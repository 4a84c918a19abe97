"""The load generator: signed deliveries over keep-alive HTTP/1.1, N connections.

Run as its own process (`python -m bench.loadgen SPEC.json`) so that it does
not share the server's interpreter. It is a raw asyncio protocol on uvloop
with the requests built in advance, no HTTP library: a request costs it a few
microseconds, so on two cores the server, not the generator, sets the pace
(`cpu_per_request_us` in its report says what it cost).

SPEC.json: {"port", "connections", "mode": "once" | "duration", "duration",
"warmup", "max_requests", "timeout", "deliveries": [{"event", "signature",
"body", "delivery_id"?}]}. In "once" each delivery is posted once (its own
delivery id); in "duration" the bodies are posted in turn, each with a new
delivery id, for `warmup` + `duration` seconds, and only requests started
after the warm-up count. It prints one JSON object: requests, statuses,
rate, latency percentiles (ms) from sending the request to the whole answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import uuid
from collections import Counter

DEFAULT_TIMEOUT = 120.0


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


class Source:
    """Hands out requests: each delivery once, or the bodies in turn with fresh ids."""

    def __init__(self, spec: dict):
        self.port = spec["port"]
        self.mode = spec.get("mode", "once")
        self.max_requests = int(spec.get("max_requests", 1_000_000))
        self.items = []
        for d in spec["deliveries"]:
            body = d["body"].encode()
            head = (
                f"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
                f"Content-Type: application/json\r\nX-GitHub-Event: {d['event']}\r\n"
                f"X-Hub-Signature-256: {d['signature']}\r\nContent-Length: {len(body)}\r\nX-GitHub-Delivery: "
            ).encode()
            self.items.append((head, body, d.get("delivery_id")))
        self.run = uuid.uuid4().hex[:8]
        self.issued = 0
        self.stop_issuing_at = float("inf")

    def next(self):
        if self.issued >= self.max_requests or time.perf_counter() >= self.stop_issuing_at:
            return None
        if self.mode == "once":
            if self.issued >= len(self.items):
                return None
            head, body, delivery_id = self.items[self.issued]
        else:
            head, body, delivery_id = self.items[self.issued % len(self.items)]
            delivery_id = None
        self.issued += 1
        delivery_id = delivery_id or f"bench-{self.run}-{self.issued}"
        return head + delivery_id.encode() + b"\r\n\r\n", body


class Connection(asyncio.Protocol):
    def __init__(self, source: Source, results: list, done: asyncio.Future):
        self.source = source
        self.results = results
        self.done = done
        self.buffer = bytearray()
        self.started = 0.0
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.send_next()

    def send_next(self) -> None:
        request = self.source.next()
        if request is None:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
            return
        self.started = time.perf_counter()
        self.transport.writelines(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
                break
        if len(self.buffer) < end + 4 + length:
            return
        finished = time.perf_counter()
        status = int(head.split(" ", 2)[1])
        del self.buffer[: end + 4 + length]
        self.results.append((self.started, finished, status))
        self.send_next()

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            if exc is not None:
                self.results.append((self.started, time.perf_counter(), -1))
            self.done.set_result(None)


async def run(spec: dict) -> dict:
    loop = asyncio.get_running_loop()
    source = Source(spec)
    connections = int(spec.get("connections", 16))
    warmup = float(spec.get("warmup", 0.0))
    duration = float(spec.get("duration", 0.0))
    results: list = []
    begin = time.perf_counter()
    begin_monotonic = time.monotonic()
    if source.mode == "duration":
        source.stop_issuing_at = begin + warmup + duration
    dones = []
    for _ in range(connections):
        done = loop.create_future()
        await loop.create_connection(lambda d=done: Connection(source, results, d), "127.0.0.1", source.port)
        dones.append(done)
    await asyncio.wait_for(asyncio.gather(*dones), timeout=float(spec.get("timeout", DEFAULT_TIMEOUT)))
    end = time.perf_counter()
    if source.mode == "duration":
        window_start, window_end = begin + warmup, begin + warmup + duration
        counted = [r for r in results if r[0] >= window_start]
        elapsed = max(1e-9, min(end, max(f for _, f, _ in counted) if counted else end) - window_start)
    else:
        counted = results
        elapsed = max(1e-9, (max(f for _, f, _ in results) if results else end) - begin)
    latencies = sorted((f - s) * 1000.0 for s, f, _ in counted)
    statuses = Counter(str(st) for _, _, st in counted)
    ok = sum(n for st, n in statuses.items() if st.startswith("2"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "requests": len(counted),
        "issued": source.issued,
        "ok": ok,
        "statuses": dict(statuses),
        "seconds": round(elapsed, 4),
        "rate": round(ok / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(latencies[-1], 3) if latencies else None,
        },
        "began_monotonic": begin_monotonic,
        "ended_monotonic": begin_monotonic + (end - begin),
        "cpu_seconds": round(cpu, 3),
        "cpu_per_request_us": round(cpu / max(1, source.issued) * 1e6, 1),
        "loop": type(loop).__module__.split(".")[0],
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        pass
    report = asyncio.run(run(spec))
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
