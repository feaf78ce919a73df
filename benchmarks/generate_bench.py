"""Generation against the fake Messages API server (tests/fake_messages_api.py): throughput, and what the
prompt cache saves.

Usage: python benchmarks/generate_bench.py [--requests 1000] [--concurrency 16] [--latency 0.2] [--only cache|retries]

retries (issue 3): 1,000 requests at concurrency 16 with 200 ms latency within 1.3x of the ideal
(requests / concurrency * latency = 12.5 s); with 10% of requests failing first with 429/529, all
complete and none is duplicated.

cache (issue 24): 1,000 jobs of the safety family with a 20-seed few-shot block
(tests/data/fewshot_safety.jsonl), each measured by the fake's usage at Sonnet prices: the cost per
1,000 candidates with the request as it was built before #24 (tests/before_caching.py) and now (target:
>= 30% less); the dry run's estimate against the usage the fake then reports (target: within ±10%),
calibrated on 100 jobs run first, beside the old guess of one token per 3 bytes; the run's time against
the bare SDK sending the same bodies at the same concurrency (target: <= 1.05x; the best of --repeat
runs of each, interleaved). Each run has a fresh fake server (a cold cache) in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
TWENTY_SEEDS = ROOT / "tests" / "data" / "fewshot_safety.jsonl"


def serve(latency: float, fail_share: float, port_queue: mp.Queue, stop: mp.Event) -> None:
    from fake_messages_api import FakeMessagesAPI, Fault

    api = FakeMessagesAPI(latency=latency)
    seen: set[str] = set()

    def fault_for(n: int, body: dict) -> Fault | None:
        key = hashlib.sha256(body["messages"][0]["content"].encode()).hexdigest()
        if key in seen:
            return None
        seen.add(key)
        if int(key[:8], 16) % 1000 < fail_share * 1000:
            return Fault.status_code(429 if int(key[8:10], 16) % 2 else 529, retry_after="0.2")
        return None

    api.fault_for = fault_for
    api.start()
    port_queue.put(api.url)
    stop.wait()
    port_queue.put(len(api.requests))
    api.stop()


class Server:
    """A fake Messages API in its own process (the client's event loop keeps the cores it needs)."""

    def __init__(self, latency: float, fail_share: float = 0.0) -> None:
        self.queue: mp.Queue = mp.Queue()
        self.stop = mp.Event()
        self.process = mp.Process(target=serve, args=(latency, fail_share, self.queue, self.stop), daemon=True)

    def __enter__(self) -> "Server":
        self.process.start()
        self.url = self.queue.get(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.requests = self.queue.get(timeout=30)
        self.process.join(timeout=10)


def run_jobs_timed(store, fams, settings, url: str):
    from curator.jobs.runner import run_jobs
    from curator.teacher.client import Teacher

    async def main():
        teacher = Teacher(settings.teacher, api_key="bench", base_url=url)
        try:
            return await run_jobs(store, fams, teacher, settings)
        finally:
            await teacher.close()

    t0 = time.perf_counter()
    report = asyncio.run(main())
    return report, time.perf_counter() - t0


def run_once(requests: int, concurrency: int, latency: float, fail_share: float) -> None:
    from curator.config import Settings, TeacherSettings
    from curator.families import load_families
    from curator.jobs.plan import plan_generation
    from curator.store import Store

    fams = load_families(ROOT / "prompts").families
    settings = Settings(teacher=TeacherSettings(concurrency=concurrency, retry_after_cap_s=5, timeout_s=30))
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        plan_generation(store, fams["safety"], settings, limit=requests)
        with Server(latency, fail_share) as server:
            report, elapsed = run_jobs_timed(store, fams, settings, server.url)
        done = store.count("jobs", "state = 'done'")
        candidates = store.count("examples", "kind = 'candidate'")
        dupes = store.conn.execute("SELECT count(*) FROM (SELECT job_id, job_item FROM examples "
                                   "GROUP BY job_id, job_item HAVING count(*) > 1)").fetchone()[0]
    ideal = requests / concurrency * latency
    print(f"{requests} jobs, concurrency {concurrency}, latency {latency * 1000:.0f} ms, "
          f"{fail_share:.0%} fail first with 429/529 (retry-after 0.2 s):")
    print(f"  {elapsed:.2f} s (ideal {ideal:.2f} s, ratio {elapsed / ideal:.2f}, target <= 1.30); "
          f"{server.requests} HTTP requests; {done}/{requests} jobs done; {candidates} candidates "
          f"(expected {2 * requests}); {dupes} duplicated; {report.failed} failed")


def _store(path: Path):
    from curator.services.demo import prepare_sample
    from curator.services.seeds import import_seeds
    from curator.store import Store

    store = Store(path)
    prepare_sample(store)
    import_seeds(store, TWENTY_SEEDS)
    return store


def bare_sdk(bodies: list[dict], concurrency: int, url: str) -> float:
    """The same bodies through the SDK alone: a semaphore, no store, no retries, no validation."""
    import anthropic

    async def main() -> None:
        client = anthropic.AsyncAnthropic(api_key="bench", base_url=url, max_retries=0, timeout=30)
        gate = asyncio.Semaphore(concurrency)

        async def one(body: dict) -> None:
            async with gate:
                await client.messages.create(**body)

        try:
            await asyncio.gather(*(one(b) for b in bodies))
        finally:
            await client.close()

    t0 = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - t0


def cache_run(requests: int, concurrency: int, latency: float, repeat: int) -> None:
    from before_caching import build_request_before
    from curator.config import Settings, TeacherSettings
    from curator.families import load_families
    from curator.jobs import runner
    from curator.jobs.plan import FewShot, build_request, plan_generation
    from curator.services import generate as service

    fams = load_families(ROOT / "prompts").families
    family = fams["safety"]
    settings = Settings(teacher=TeacherSettings(concurrency=concurrency, retry_after_cap_s=5, timeout_s=30))
    price = settings.price(settings.teacher.model)
    calibrate = 100
    times: dict[str, list[float]] = {"before": [], "after": [], "bare": []}

    def before_run(path: Path):
        """The request as it was built before #24, through the same runner and the same fake."""
        with _store(path) as store:
            plan_generation(store, family, settings, limit=requests)
            runner.build_request, now = build_request_before, runner.build_request
            try:
                with Server(latency) as server:
                    report, elapsed = run_jobs_timed(store, fams, settings, server.url)
            finally:
                runner.build_request = now
            times["before"].append(elapsed)
            return report, store.spent_usd()

    def after_run(path: Path, warmup: int = 0):
        """`warmup` jobs first (to calibrate on), the dry run's estimate of the next ones, then those."""
        with _store(path) as store:
            guess = service.estimate(store, family, settings, limit=requests, count_tokens=False)
            if warmup:
                plan_generation(store, family, settings, limit=warmup)
                with Server(latency) as server:
                    run_jobs_timed(store, fams, settings, server.url)
            estimate = service.estimate(store, family, settings, limit=requests, count_tokens=False)  # (a count to add)
            spent = store.spent_usd()
            plan_generation(store, family, settings, limit=warmup + requests)
            fewshot = FewShot.load(store)
            bodies = [build_request(store, family, store.job(j), settings, structured=True, fewshot=fewshot).body
                      for j in store.queued_job_ids(family="safety")]
            with Server(latency) as server:
                report, elapsed = run_jobs_timed(store, fams, settings, server.url)
            times["after"].append(elapsed)
            return report, store.spent_usd() - spent, guess, estimate, bodies

    def bare_run(bodies: list[dict]) -> None:
        with Server(latency) as server:
            times["bare"].append(bare_sdk(bodies, concurrency, server.url))

    with tempfile.TemporaryDirectory() as tmp:
        before, before_cost = before_run(Path(tmp) / "before.db")
        after, after_cost, guess, estimate, bodies = after_run(Path(tmp) / "after.db", calibrate)
        bare_run(bodies)
        for round in range(1, repeat):  # the times again, interleaved: the best of each is compared
            before_run(Path(tmp) / f"before{round}.db")
            after_run(Path(tmp) / f"after{round}.db")
            bare_run(bodies)
    used = after.usage
    f = estimate.forecast
    old_guess = price.cost(guess.input_tokens, used.output_tokens)  # the old dry run: 1 token / 3 bytes, nothing cached
    best = {k: min(v) for k, v in times.items()}
    print(f"{requests} jobs of safety with a 20-seed few-shot block, concurrency {concurrency}, latency "
          f"{latency * 1000:.0f} ms, {settings.teacher.model} prices:")
    print(f"  before #24: {before.candidates} candidates, {before.usage.input_tokens} input + "
          f"{before.usage.output_tokens} output tokens, ${before_cost:.4f}: "
          f"${before_cost / before.candidates * 1000:.4f} per 1,000 candidates")
    print(f"  after:      {after.candidates} candidates, {used.input_tokens} input + {used.cache_read_tokens} cache read "
          f"+ {used.cache_write_tokens} cache written + {used.output_tokens} output tokens, ${after_cost:.4f}: "
          f"${after_cost / after.candidates * 1000:.4f} per 1,000 candidates ({after_cost / before_cost - 1:+.1%}, "
          f"target <= -30%)")
    print(f"  estimate ({f.calibration.describe()}): {f.prompt_tokens} prompt tokens vs {used.prompt_tokens} "
          f"reported ({f.prompt_tokens / used.prompt_tokens - 1:+.1%}); ${f.cost_usd:.4f} vs ${after_cost:.4f} "
          f"({f.cost_usd / after_cost - 1:+.1%}, target within ±10%); the old guess (1 token per 3 bytes, no cache): "
          f"{guess.input_tokens} tokens ({guess.input_tokens / used.prompt_tokens - 1:+.1%}), "
          f"${old_guess:.4f} ({old_guess / after_cost - 1:+.1%})")
    print(f"  time, best of {repeat}: {best['after']:.2f} s with curator, {best['bare']:.2f} s the bare SDK with the "
          f"same bodies (ratio {best['after'] / best['bare']:.3f}, target <= 1.05); before #24 {best['before']:.2f} s "
          f"({best['before'] / best['bare']:.3f}); every run: " +
          "; ".join(f"{k} {', '.join(f'{t:.2f}' for t in v)}" for k, v in times.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--only", choices=("cache", "retries"), default=None)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each kind (the best is compared)")
    args = parser.parse_args()
    if args.only != "cache":
        run_once(args.requests, args.concurrency, args.latency, 0.0)
        run_once(args.requests, args.concurrency, args.latency, 0.10)
    if args.only != "retries":
        cache_run(args.requests, args.concurrency, args.latency, args.repeat)


if __name__ == "__main__":
    main()
