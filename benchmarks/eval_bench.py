"""The eval loop's speed: asking 1,000 private eval items of a student behind the fake OpenAI-compatible
server (tests/fake_chat_api.py, in its own process) at 200 ms latency and concurrency 16, beside a bare
`openai` AsyncOpenAI loop on the same server; and scoring 1,000 answers without the judge.

Usage: python benchmarks/eval_bench.py [--items 1000] [--concurrency 16] [--latency 0.2]
Targets (issue 22): the run within 1.1x of the bare loop; scoring 1,000 answers <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def answer(body: dict) -> dict:
    """A student that answers every word problem with a final number (right for even operands)."""
    import re

    numbers = [int(n) for n in re.findall(r"\d+", body["messages"][-1]["content"])]
    n = numbers[0] if numbers else 0
    given = 4 * n if n % 2 == 0 else 4 * n + 1
    return {"content": f"{n} × 4 = {given}. پس روی هم {given} هزار تومان می‌دهد."}


def serve(latency: float, port_queue: mp.Queue, stop: mp.Event) -> None:
    from fake_chat_api import FakeChatAPI

    api = FakeChatAPI(script=answer, latency=latency).start()
    port_queue.put(api.url)
    stop.wait()
    api.stop()


def build(path: Path, items: int) -> None:
    from curator.models import Example, Message
    from curator.store import Store

    with Store(path) as store:
        for n in range(1, items + 1):
            store.add_example(Example(kind="eval_item", role="eval", family="school_math", task_type="word_problem",
                                      difficulty=("easy", "medium", "hard")[n % 3], messages=[
                                          Message(role="user", content=f"اگر سارا {n} دفتر بخرد و هر دفتر ۴ هزار "
                                                                       "تومان باشد، روی هم چند هزار تومان می‌دهد؟"),
                                          Message(role="assistant", content=f"{n} × 4 = {4 * n}. پس سارا {4 * n} "
                                                                            "هزار تومان می‌دهد.")]))


async def bare(url: str, items: int, concurrency: int) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with semaphore:
            await client.chat.completions.create(model="student", max_tokens=1024, messages=[
                {"role": "user", "content": f"اگر سارا {n} دفتر بخرد و هر دفتر ۴ هزار تومان باشد، روی هم چند هزار "
                                            "تومان می‌دهد؟"}])

    t0 = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(1, items + 1)))
    elapsed = time.perf_counter() - t0
    await client.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()

    from curator.families import load_families
    from curator.services.evaluation import StudentSettings, run_eval, score_run, scorecard
    from curator.store import Store

    port_queue: mp.Queue = mp.Queue()
    stop = mp.Event()
    server = mp.Process(target=serve, args=(args.latency, port_queue, stop), daemon=True)
    server.start()
    url = port_queue.get(timeout=30)
    try:
        path = Path(tempfile.mkdtemp(prefix="curator-eval-")) / "bench.db"
        build(path, args.items)
        ideal = args.items / args.concurrency * args.latency
        bare_s = asyncio.run(bare(url, args.items, args.concurrency))
        with Store(path) as store:
            t0 = time.perf_counter()
            report = run_eval(store, StudentSettings(endpoint=url, model="student", concurrency=args.concurrency))
            run_s = time.perf_counter() - t0
            families = load_families(ROOT / "prompts").families
            t0 = time.perf_counter()
            scored = score_run(store, report.run, families)
            score_s = time.perf_counter() - t0
            card = scorecard(store, report.run)
    finally:
        stop.set()
        server.join(5)
    math = card.families()[0]
    print(f"{args.items} eval items, concurrency {args.concurrency}, {args.latency * 1000:.0f} ms latency "
          f"(ideal {ideal:.1f} s)")
    print(f"bare AsyncOpenAI loop: {bare_s:.2f} s")
    print(f"curator eval run (leased jobs, answers stored): {run_s:.2f} s = {run_s / bare_s:.2f}x the bare loop "
          f"(target <= 1.1x); {report.answered} answered, {report.failed} failed")
    print(f"scoring {scored} answers without the judge: {score_s:.2f} s (target <= 2 s); "
          f"math {math.passed}/{math.items} passed")


if __name__ == "__main__":
    main()
