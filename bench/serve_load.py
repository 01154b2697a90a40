"""`seqapps serve` under load and under faults, printed as two tables.

    python bench/serve_load.py [--seconds 60] [--clients 64]

Load: `--clients` concurrent clients, each sending one-sentence TF Serving
predict requests back to back over a kept-alive connection for `--seconds`,
against `sentiment-lstm` and then `pos-brown-lstm`, first on a server that
batches (`seqapps serve`, the defaults) and then on the same server answering
one request at a time (`--no-batching`), in this one run on this one machine.
Printed: requests per second, the batched/unbatched ratio, p50 and p99 latency,
and errors (anything but a 200).

Faults, against the batching server, each three times: clients that leave
mid-stream, a 10 MB request, 1,000 malformed requests in a row, a corrupt image
among concurrent captioning requests; after each, whether the server still
answers, and the server's resident memory before and after each round.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time

SENTENCES = [
    "a gorgeous, witty, seductive movie.",
    "the plot is thin and the jokes fall flat.",
    "The dog barks at 3 cats.",
    "an hour and a half of tedium.",
    "one of the most beautiful films of the year, and one of the saddest.",
    "She sold the house in May and moved to the coast.",
    "the performances are fine but the script never finds its footing.",
    "It was the best of times, it was the worst of times.",
]
LOADED = ["sentiment-lstm", "pos-brown-lstm"]
FAULTS = ["textgen-shakespeare-lstm", "caption-emoji-gru"]


# -- a server, and a small HTTP/1.1 client that costs little CPU -------------------------------


class Server:
    def __init__(self, names, *options):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [sys.executable, "-m", "seqapps.cli", "serve", *names, "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, *options], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"the server exited: {self.process.stderr.read().decode()[-2000:]}"
                )
            try:
                if asyncio.run(request(self.port, "GET", f"/v1/models/{names[0]}"))[0] == 200:
                    return
            except OSError:
                time.sleep(1)
        raise SystemExit("the server did not start in 10 minutes")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


async def request(port, method, path, body=b"", connection=None):
    """`(status, body)`; reuses `connection` (reader, writer) when given."""
    reader, writer = connection or await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        head += "Content-Type: application/json\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await reader.readexactly(length)
    finally:
        if connection is None:
            writer.close()


async def load(port, model, clients, seconds):
    """Each client sends one-sentence predict requests back to back; latencies and errors."""
    latencies, errors = [], 0
    stop = time.perf_counter() + seconds

    async def client(index):
        nonlocal errors
        connection = None
        sentence = index
        while time.perf_counter() < stop:
            body = json.dumps({"instances": [SENTENCES[sentence % len(SENTENCES)]]}).encode()
            sentence += 1
            start = time.perf_counter()
            try:
                connection = connection or await asyncio.open_connection("127.0.0.1", port)
                status, _ = await request(
                    port, "POST", f"/v1/models/{model}:predict", body, connection
                )
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                connection = None
                continue
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies, errors


def percentile(values, q):
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


# -- faults ----------------------------------------------------------------------------------


async def answers(port) -> bool:
    body = json.dumps({"instances": [SENTENCES[0]]}).encode()
    status, _ = await request(port, "POST", "/v1/models/sentiment-lstm:predict", body)
    return status == 200


async def leave_mid_stream(port, count=20):
    body = json.dumps({"options": {"prompt": "ROMEO:", "max_length": 400}}).encode()
    read = 0
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST /v1/models/{FAULTS[0]}:stream HTTP/1.1\r\nHost: bench\r\n"
        writer.write(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        while line := await reader.readline():
            if line.startswith(b"data: "):
                read += 1
                break
        writer.close()  # gone after the first piece
    return f"{count} streams left after their first piece ({read} pieces read)"


async def huge_request(port):
    body = json.dumps({"instances": ["x" * (10 * 1024 * 1024)]}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "POST /v1/models/sentiment-lstm:predict HTTP/1.1\r\nHost: bench\r\n"
    # Not drained: the server answers from the header and may close before the body is in.
    writer.write(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    status = (await reader.readline()).split()[1].decode()
    writer.close()
    return f"{len(body) / 1e6:.1f} MB body answered {status}"


async def malformed(port, count=1000):
    bodies = [b"{", b"[]", b'{"instances": 3}', b'{"instances": [1]}', b"\xff", b'{"inputs": {}}']
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = {}
    for i in range(count):
        status, _ = await request(
            port,
            "POST",
            "/v1/models/pos-brown-lstm:predict",
            bodies[i % len(bodies)],
            (reader, writer),
        )
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()
    return f"{count} requests answered {statuses}"


async def bad_image_in_batch(port, good=15):
    from PIL import Image

    def png(colour):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    images = [png((i * 16, 200 - i * 10, 90)) for i in range(good)]
    images.append(base64.b64encode(b"not an image").decode())
    path = f"/v1/models/{FAULTS[1]}:predict"
    replies = await asyncio.gather(
        *(
            request(port, "POST", path, json.dumps({"instances": [{"b64": i}]}).encode())
            for i in images
        )
    )
    statuses = [status for status, _ in replies]
    return f"{statuses[:-1].count(200)}/{good} good images 200, the corrupt one {statuses[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60, help="load per model and server")
    parser.add_argument("--clients", type=int, default=64)
    args = parser.parse_args()

    rows = {}
    for mode, options, names in [
        ("unbatched", ["--no-batching"], LOADED),
        ("batched", [], LOADED + FAULTS),
    ]:
        server = Server(names, *options)
        for model in LOADED:
            asyncio.run(load(server.port, model, 4, 2))  # warm up
            latencies, errors = asyncio.run(load(server.port, model, args.clients, args.seconds))
            rows[model, mode] = (len(latencies) / args.seconds, latencies, errors)
        if mode == "batched":
            faults = run_faults(server)
        server.stop()

    print(
        f"\nload: {args.clients} clients, {args.seconds:g} s per row, one-sentence predict requests"
    )
    print(
        f"{'model':<16} {'server':<10} {'req/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for (model, mode), (rate, latencies, errors) in rows.items():
        ratio = rate / rows[model, "unbatched"][0] if rows[model, "unbatched"][0] else float("nan")
        print(
            f"{model:<16} {mode:<10} {rate:>8.1f} {ratio:>6.2f} {percentile(latencies, 50) * 1e3:>8.1f} "
            f"{percentile(latencies, 99) * 1e3:>8.1f} {errors:>7}"
        )
    print("\nfaults (batching server), each repeated 3 times")
    print(
        f"{'fault':<26} {'what happened (each time)':<58} {'answers after':<13} RSS MB: before, after each"
    )
    for name, (what, after, memory) in faults.items():
        shown = " → ".join(f"{mb:.0f}" for mb in memory)
        print(f"{name:<26} {what:<58} {'yes' if after else 'NO':<13} {shown}")


def run_faults(server, rounds=3):
    """Each fault `rounds` times; the memory is read before the first and after every round
    (the first round also traces what the fault is the first to use)."""
    faults = {}
    for name, fault in [
        ("client leaves mid-stream", leave_mid_stream),
        ("10 MB request", huge_request),
        ("1,000 malformed requests", malformed),
        ("corrupt image in a batch", bad_image_in_batch),
    ]:
        memory, answered = [server.rss_mb()], []
        for _ in range(rounds):
            what = asyncio.run(fault(server.port))
            answered.append(asyncio.run(answers(server.port)))
            memory.append(server.rss_mb())
        faults[name] = (what, all(answered), memory)
    return faults


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
