"""Generation throughput against the fake Messages API server (tests/fake_messages_api.py).

Usage: python benchmarks/generate_bench.py [--requests 1000] [--concurrency 16] [--latency 0.2]
Target (issue 3): 1,000 requests at concurrency 16 with 200 ms latency within 1.3x of the ideal
(requests / concurrency * latency = 12.5 s); with 10% of requests failing first with 429/529, all
complete and none is duplicated.
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


def run_once(requests: int, concurrency: int, latency: float, fail_share: float) -> None:
    from curator.config import Settings, TeacherSettings
    from curator.store import Store
    from curator.teacher.client import Teacher
    from curator.families import load_families
    from curator.jobs.plan import plan_generation
    from curator.jobs.runner import run_jobs

    port_queue: mp.Queue = mp.Queue()
    stop = mp.Event()
    server = mp.Process(target=serve, args=(latency, fail_share, port_queue, stop), daemon=True)
    server.start()
    url = port_queue.get(timeout=30)
    fams = load_families(ROOT / "prompts").families
    settings = Settings(teacher=TeacherSettings(concurrency=concurrency, retry_after_cap_s=5, timeout_s=30))
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        plan_generation(store, fams["safety"], settings, limit=requests)

        async def main():
            teacher = Teacher(settings.teacher, api_key="bench", base_url=url)
            try:
                return await run_jobs(store, fams, teacher, settings)
            finally:
                await teacher.close()

        t0 = time.perf_counter()
        report = asyncio.run(main())
        elapsed = time.perf_counter() - t0
        stop.set()
        sent = port_queue.get(timeout=30)
        server.join(timeout=10)
        done = store.count("jobs", "state = 'done'")
        candidates = store.count("examples", "kind = 'candidate'")
        dupes = store.conn.execute("SELECT count(*) FROM (SELECT job_id, job_item FROM examples "
                                   "GROUP BY job_id, job_item HAVING count(*) > 1)").fetchone()[0]
    ideal = requests / concurrency * latency
    print(f"{requests} jobs, concurrency {concurrency}, latency {latency * 1000:.0f} ms, "
          f"{fail_share:.0%} fail first with 429/529 (retry-after 0.2 s):")
    print(f"  {elapsed:.2f} s (ideal {ideal:.2f} s, ratio {elapsed / ideal:.2f}, target <= 1.30); "
          f"{sent} HTTP requests; {done}/{requests} jobs done; {candidates} candidates "
          f"(expected {2 * requests}); {dupes} duplicated; {report.failed} failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    run_once(args.requests, args.concurrency, args.latency, 0.0)
    run_once(args.requests, args.concurrency, args.latency, 0.10)


if __name__ == "__main__":
    main()
