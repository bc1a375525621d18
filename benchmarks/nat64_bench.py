"""NAT64 path benchmark: latency and requests/s of HTTP GETs through tayga (issue 16, Measure).

Runs ON an IPv6-only host (the Molecule scenario nat64 copies it to its client; the embedded lab
can run it on an IPv6-only node): resolves the name once through the host's resolver (DNS64 on
the gateway) and times that, then makes ``--count`` sequential GETs, each on a new TCP connection
(so every request pays tayga's translation of the handshake too), to the synthesized IPv6 address.
Bounded: stops after ``--count`` requests or ``--max-seconds``, whichever comes first. Prints one
JSON object. Standard library only (the lab image's python3).

    python3 nat64_bench.py --url http://web.outside.test/ --count 200 --max-seconds 60
    python3 nat64_bench.py --url http://172.30.230.20/ --family 4   # baseline without NAT64 (IPv4 host)
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import time
import urllib.parse


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="http:// URL of the IPv4-only server, by name")
    ap.add_argument("--count", type=int, default=200, help="sequential requests (at most 10000)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="stop after this long (at most 600)")
    ap.add_argument("--timeout", type=float, default=3.0, help="per-request timeout in seconds")
    ap.add_argument("--family", choices=["4", "6"], default="6",
                    help="address family to resolve (6: the DNS64/NAT64 path; 4: a direct IPv4 baseline)")
    args = ap.parse_args(argv)
    count = max(1, min(args.count, 10000))
    budget = max(1.0, min(args.max_seconds, 600.0))

    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        ap.error("--url must be http://<name>[:port]/path")
    port = url.port or 80
    path = url.path or "/"

    t0 = time.perf_counter()
    family = socket.AF_INET6 if args.family == "6" else socket.AF_INET
    infos = socket.getaddrinfo(url.hostname, port, family, socket.SOCK_STREAM)
    resolve_ms = (time.perf_counter() - t0) * 1000
    address = infos[0][4][0]

    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    for dummy in range(count):
        if time.perf_counter() - start > budget:
            break
        t = time.perf_counter()
        conn = http.client.HTTPConnection(address, port, timeout=args.timeout)
        try:
            conn.request("GET", path, headers={"Host": url.hostname})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
                continue
        except OSError:
            errors += 1
            continue
        finally:
            conn.close()
        latencies.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - start

    result = {
        "url": args.url,
        "family": args.family,
        "address": address,
        "resolve_ms": round(resolve_ms, 2),
        "requests": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "elapsed_s": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
    }
    if latencies:
        ordered = sorted(latencies)
        result.update(
            latency_ms_min=round(ordered[0], 2),
            latency_ms_p50=round(statistics.median(ordered), 2),
            latency_ms_p95=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
            latency_ms_max=round(ordered[-1], 2),
        )
    print(json.dumps(result))
    return 0 if latencies and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
