"""SSE fan-out: many EventSource-style clients following live threads; latency and server RSS.

    python -m bench.sse [--clients 200] [--threads 20] [--ticks 50] [--interval 0.1]

`--threads` threads each run a graph whose node writes `--ticks` custom `tick` events, one
every `--interval` seconds, each stamped with its creation time (`time.time()` in the server
process). `--clients` clients (spread evenly over the threads) follow them as a browser's
EventSource does: `GET /threads/{id}/stream` with httpx, reading the SSE lines as they come.
Latency is receipt time minus creation time, per event and client; the baseline is one client
following one thread on the same server in the same run. Server RSS (psutil) is sampled
before, at the peak and after. Goal: p99 <= 20 ms on loopback. The clients share one Python
process: at high rates their own parsing adds to the tail. `DATABASE_URL` picks the
Postgres, else an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import httpx

from bench.harness import (
    argparser,
    database,
    header,
    out,
    percentile,
    rss_mib,
    run,
    serve,
    sse_events,
    ticker_input,
)
from people.home_token import home_token


async def follow(
    client: httpx.AsyncClient, tid: str, ready: asyncio.Event, latencies: list[float]
) -> int:
    """Follow a thread until its run's `done`; returns the ticks received."""
    ticks = 0
    async with client.stream("GET", f"/threads/{tid}/stream") as response:
        assert response.status_code == 200, await response.aread()
        ready.set()
        async for event in sse_events(response):
            if event.event == "tick":
                latencies.append(event.received - event.json()["t"])
                ticks += 1
            elif event.event == "done":
                break
    return ticks


async def round_of(
    url: str, token: str, threads: int, clients: int, ticks: int, interval: float, pid: int | None
) -> tuple[list[float], list[int], list[float]]:
    """One measurement: latencies (s), ticks per client, RSS samples (MiB)."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as c:
        tids = []
        for _ in range(threads):
            made = await c.post("/threads", json={})
            tids.append(made.json()["thread_id"])
        latencies: list[float] = []
        readies = [asyncio.Event() for _ in range(clients)]
        followers = [
            asyncio.create_task(follow(c, tids[i % threads], readies[i], latencies))
            for i in range(clients)
        ]
        await asyncio.gather(*(ready.wait() for ready in readies))
        rss = [rss_mib(pid)] if pid else []
        body = {"assistant_id": "studio", "input": ticker_input(ticks, interval)}
        for tid in tids:
            (await c.post(f"/threads/{tid}/runs", json=body)).raise_for_status()

        async def sample() -> None:
            while pid:
                rss.append(rss_mib(pid))
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample())
        received = await asyncio.gather(*followers)
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        if pid:
            rss.append(rss_mib(pid))
    return latencies, list(received), rss


async def main(args: argparse.Namespace) -> None:
    header("sse: live fan-out to EventSource-style clients", args)
    async with database() as db:
        env = {"BENCH_EVENTLOG_FLUSH_S": str(args.flush_interval)} if args.flush_interval else {}
        async with serve(
            "ticker", db, db.home, inproc=args.inproc, profile=args.profile, env=env
        ) as srv:
            token = home_token(db.home)  # the home's admin: creating threads needs a creator
            pid = srv.pid
            base, _, _ = await round_of(srv.url, token, 1, 1, args.ticks, args.interval, pid)
            lat, received, rss = await round_of(
                srv.url, token, args.threads, args.clients, args.ticks, args.interval, pid
            )

    def ms(values: list[float], q: float) -> float:
        return percentile(values, q) * 1000

    expected = args.ticks * args.clients
    missing = expected - sum(received)
    out(f"baseline (1 client, 1 thread): p50 {ms(base, 50):6.1f} ms  p99 {ms(base, 99):6.1f} ms"
        f"  max {ms(base, 100):6.1f} ms  ({len(base)} events)")  # fmt: skip
    out(f"{args.clients} clients, {args.threads} threads: p50 {ms(lat, 50):6.1f} ms  "
        f"p99 {ms(lat, 99):6.1f} ms  max {ms(lat, 100):6.1f} ms  ({len(lat)} events, "
        f"{missing} missing)")  # fmt: skip
    out(f"p99 ratio loaded / baseline: {ms(lat, 99) / ms(base, 99):.2f}")
    where = "server process" if not args.inproc else "this process (server + clients)"
    if rss:
        out(f"RSS of the {where}: before {rss[0]:.0f} MiB, peak {max(rss):.0f} MiB, "
            f"after {rss[-1]:.0f} MiB")  # fmt: skip
    verdict = "meets" if ms(lat, 99) <= 20 else "misses"
    peak = f", server RSS peak {max(rss):.0f} MiB" if rss else ""
    out(
        f"summary: sse {args.clients} clients p50 {ms(lat, 50):.1f} ms p99 {ms(lat, 99):.1f} ms "
        f"({verdict} goal p99 <= 20 ms; 1 client p99 {ms(base, 99):.1f} ms), "
        f"{missing} events missing{peak}"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.sse", __doc__)
    parser.add_argument("--clients", type=int, default=200, help="concurrent SSE clients")
    parser.add_argument("--threads", type=int, default=20, help="live threads they follow")
    parser.add_argument("--ticks", type=int, default=50, help="events per thread")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between events")
    parser.add_argument(
        "--flush-interval",
        type=float,
        help="experiment: run the server's event log with this flush interval (s) instead of "
        "its default, to see how much of the latency the batching interval is",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
