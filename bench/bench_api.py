"""API benchmark: short chat completions over HTTP (`tunedesk serve` + the OpenAI client) against calling
the engine in-process with the same question, at 1, 4 and 16 concurrent clients.

    python bench/bench_api.py [--requests 48] [--real-requests 8] [--tokens 8] [--no-real]
    python bench/bench_api.py --backends [--real-requests 8] [--tokens 8] [--threads 1]

Two models:
  1. the tests' tiny random Llama (tests/tiny_models.py: 2 layers, hidden 64, the real SmolLM2 tokenizer):
     generation takes a few milliseconds, so the cost of the HTTP layer (server, JSON, the OpenAI client, storage of each
     exchange) is laid bare: the worst case;
  2. the packaged SmolLM2-135M-Instruct (CPU, greedy): what a user sees; kept short (8-token answers).
For each concurrency: requests/s over the whole batch and p50/p95 latency of one request, both ways.
The server runs in its own process, as `tunedesk serve` does, with a queue deep enough for every
client (api.max_queued). Answers are greedy in base mode, so both ways produce the same tokens; the
script checks that. Both sides run torch with `--threads` threads (default 1): on a shared, busy
machine two OpenMP threads per process spin against each other and dominate tiny-model timings.
The last line is the main ratio.

With --backends it measures instead `tunedesk serve` with the packaged SmolLM2 on the llama.cpp backend
against the same server on the transformers backend, over HTTP only, at the same concurrencies. Every
request asks a different question (a repeated prompt would be answered from llama.cpp's prompt cache);
both backends get the same sequence. The server keeps its defaults (api.max_concurrent, generation.slots),
so requests beyond them queue as in production. The last line is then llama.cpp over transformers
requests/s at 16 clients.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.builders import build_assistant  # noqa: E402
from assistant.generation import Sampling  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.tiny_models import load_chat_tokenizer, write_tiny_llama  # noqa: E402

QUESTION = "How long is the warranty on the Halo router?"
CONCURRENCY = (1, 4, 16)
START_TIMEOUT_S = 300.0
BACKENDS = ("transformers", "llama_cpp")
FRESH_TOPICS = (
    "how do I reset my router to factory settings?",
    "can I change the wifi password from the app?",
    "what does a blinking orange light mean?",
    "how do I set up a guest network?",
    "is my router covered if it stops working after a year?",
    "how do I update the firmware?",
    "can I return a router I already opened?",
    "why is my internet slow in the evening?",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    home: Path, base: str, tokens: int, port: int, threads: int, settings_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """`tunedesk serve` in its own process, with extra TUNEDESK_* settings; returns once /health answers."""
    import httpx

    env = (
        os.environ
        | (settings_env or {})
        | {
            "TUNEDESK_MODEL__BASE": base,
            "TUNEDESK_GENERATION__MAX_NEW_TOKENS": str(tokens),
            "TUNEDESK_API__MAX_QUEUED": "64",
            "OMP_NUM_THREADS": str(threads),
            "PYTHONPATH": str(REPO),
        }
    )
    command = [sys.executable, "-c", "from assistant.cli.app import main; main()"]
    server = subprocess.Popen(
        [*command, "--home", str(home), "--device", "cpu", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {server.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start in time")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_batch(
    call: Callable[[], int], requests: int, concurrency: int
) -> tuple[float, list[float], set[int]]:
    """(requests/s, latencies in seconds, distinct completion-token counts) of `requests` calls."""

    def timed(_: int) -> tuple[float, int]:
        started = time.perf_counter()
        tokens = call()
        return time.perf_counter() - started, tokens

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(timed, range(requests)))
    wall = time.perf_counter() - started
    return requests / wall, [latency for latency, _ in results], {tokens for _, tokens in results}


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def compare(
    label: str, home: Path, base: str, tokens: int, requests: int, threads: int
) -> dict[int, tuple[float, float]]:
    """Print one table; returns {concurrency: (http requests/s, in-process requests/s)}."""
    from openai import OpenAI

    settings = Settings(home=home, device="cpu", model={"base": base}, generation={"max_new_tokens": tokens})
    started = time.perf_counter()
    assistant = build_assistant(settings, retrieval=False)  # converts the packaged model once, if needed
    sampling = Sampling(max_new_tokens=tokens)
    assistant.answer(QUESTION, mode="base", sampling=sampling)  # warm-up
    port = free_port()
    server = start_server(home, base, tokens, port, threads)
    print(
        f"\n{label}: setup {time.perf_counter() - started:.1f} s; {requests} requests of {tokens} tokens each"
    )
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=600)

    def over_http() -> int:
        reply = client.chat.completions.create(
            model="tunedesk-base",
            messages=[{"role": "user", "content": QUESTION}],
            max_tokens=tokens,
        )
        return reply.usage.completion_tokens

    def in_process() -> int:
        return assistant.answer(QUESTION, mode="base", sampling=sampling).completion_tokens

    results = {}
    try:
        over_http()  # warm-up: first request loads lazily-built pieces in the server
        print("clients | HTTP req/s   p50 ms   p95 ms | in-process req/s   p50 ms   p95 ms | req/s ratio")
        for concurrency in CONCURRENCY:
            count = max(requests, concurrency)
            http_rps, http_latency, http_tokens = run_batch(over_http, count, concurrency)
            local_rps, local_latency, local_tokens = run_batch(in_process, count, concurrency)
            assert http_tokens == local_tokens, (http_tokens, local_tokens)  # the same answers both ways
            results[concurrency] = (http_rps, local_rps)
            print(
                f"{concurrency:7d} | {http_rps:9.1f} {percentile(http_latency, 0.5) * 1000:8.0f} "
                f"{percentile(http_latency, 0.95) * 1000:8.0f} | {local_rps:16.1f} "
                f"{percentile(local_latency, 0.5) * 1000:8.0f} {percentile(local_latency, 0.95) * 1000:8.0f} | "
                f"{http_rps / local_rps:11.3f}"
            )
    finally:
        client.close()
        stop_server(server)
    return results


def fresh_question(index: int) -> str:
    """A question no earlier request asked, so no answer starts from llama.cpp's prompt cache."""
    topic = FRESH_TOPICS[index % len(FRESH_TOPICS)]
    return f"Ticket {index}: {topic}"


def serve_batches(home: Path, backend: str, tokens: int, requests: int, threads: int) -> dict[int, float]:
    """Print one row per concurrency for the packaged SmolLM2 served on `backend`; returns {clients: req/s}."""
    from openai import OpenAI

    port = free_port()
    # Both backends get the same CPU threads: torch through OMP_NUM_THREADS, llama.cpp through its setting.
    settings_env = {"TUNEDESK_GENERATION__BACKEND": backend, "TUNEDESK_GENERATION__THREADS": str(threads)}
    server = start_server(home, "SmolLM2-135M-Instruct", tokens, port, threads, settings_env)
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=900)
    asked = iter(range(10**6))  # next() on a shared iterator is atomic under the GIL

    def over_http() -> int:
        reply = client.chat.completions.create(
            model="tunedesk-base",
            messages=[{"role": "user", "content": fresh_question(next(asked))}],
            max_tokens=tokens,
        )
        return reply.usage.completion_tokens

    results = {}
    try:
        over_http()  # warm-up: the first request loads lazily-built pieces in the server
        for concurrency in CONCURRENCY:
            rps, latency, counts = run_batch(over_http, max(requests, concurrency), concurrency)
            results[concurrency] = rps
            print(
                f"{backend:12s} | {concurrency:7d} | {rps:5.2f} {percentile(latency, 0.5) * 1000:8.0f} "
                f"{percentile(latency, 0.95) * 1000:8.0f} | {min(counts)}-{max(counts)}",
                flush=True,
            )
    finally:
        client.close()
        stop_server(server)
    return results


def compare_backends(home: Path, tokens: int, requests: int, threads: int) -> dict[str, dict[int, float]]:
    """Print the backend table; returns {backend: {clients: req/s}}."""
    print(f"\nSmolLM2-135M-Instruct over HTTP by backend: {requests} requests of {tokens} tokens each")
    print("backend      | clients | req/s   p50 ms   p95 ms | completion tokens")
    results = {backend: serve_batches(home, backend, tokens, requests, threads) for backend in BACKENDS}
    for concurrency in CONCURRENCY:
        ratio = results["llama_cpp"][concurrency] / results["transformers"][concurrency]
        print(f"llama.cpp / transformers requests/s at {concurrency} clients: {ratio:.2f}x")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency, tiny model")
    parser.add_argument("--real-requests", type=int, default=8, help="requests per concurrency, real model")
    parser.add_argument("--tokens", type=int, default=8, help="max_tokens of every completion")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, in-process and in the server")
    parser.add_argument("--no-real", action="store_true", help="skip the packaged SmolLM2 part")
    parser.add_argument(
        "--backends", action="store_true", help="only SmolLM2 over HTTP, llama.cpp vs transformers backend"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        if args.backends:
            by_backend = compare_backends(work / "real-home", args.tokens, args.real_requests, args.threads)
            ratio = by_backend["llama_cpp"][16] / by_backend["transformers"][16]
            print(
                f"BENCH api_llamacpp {ratio:.3f} tunedesk serve requests/s, llama.cpp vs transformers backend, "
                f"SmolLM2-135M {args.tokens}-token completions, 16 clients"
            )
            return
        tiny = write_tiny_llama(work / "tiny-llama", load_chat_tokenizer())
        tiny_results = compare(
            "tiny random model", work / "tiny-home", str(tiny), args.tokens, args.requests, args.threads
        )
        if not args.no_real:
            real = compare(
                "SmolLM2-135M-Instruct",
                work / "real-home",
                "SmolLM2-135M-Instruct",
                args.tokens,
                args.real_requests,
                args.threads,
            )
            http_rps, local_rps = real[1]
            print(
                f"BENCH api_real {http_rps / local_rps:.3f} HTTP vs in-process requests/s, "
                f"SmolLM2-135M {args.tokens}-token completions, 1 client"
            )
        http_rps, local_rps = tiny_results[1]
        print(
            f"BENCH api {http_rps / local_rps:.3f} HTTP vs in-process requests/s, "
            f"tiny model {args.tokens}-token completions, 1 client (the HTTP layer's worst case)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
