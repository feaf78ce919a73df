"""The Passages screen on a database of 200k passages, headless (issue #23 item 5: every passage
listed, drawn line by line).

Usage: python benchmarks/passages_bench.py [--n 200000] [--keys 200] [--only down,pagedown,end] [--paces 0,0.1]
       [--db PATH]
Targets: keypress (down, pagedown, end) to the new row drawn with its text in the side panel within
20 ms at the 95th percentile; the screen's first rows drawn, and a search over the whole store, in
well under a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("فاعل مفعول متمم مسند فعل قید صفت جمله دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه برگ نور "
         "است را که از به با در برای این آن هم یک و تاریخ ایران شهر سال").split()
MARKER, EVERY = "ziggurat", 1000  # in one passage in EVERY: what the search looks for
CPU: list[float] = []  # the process's CPU time for each key timed (the last one's at the end)


def build(path: Path, n: int) -> None:
    """`n` passages of 200 to 1,500 characters (what `curator import` cuts), ids 1 to n, one source."""
    from curator.models import now_iso
    from curator.store import Store

    rng = random.Random(5)
    stamp, empty = now_iso(), json.dumps([])

    def text(i: int) -> str:
        words, size = [], 0
        goal = rng.randint(200, 1500)
        while size < goal:
            words.append(rng.choice(WORDS))
            size += len(words[-1]) + 1
        return " ".join(words) + (f" {MARKER}" if i % EVERY == 0 else "")

    rows = ((None, "corpus/big.txt", i, 0, 1500, text(i), f"h{i}", empty, rng.choice(("high", "medium", "reject")),
             json.dumps(["quality medium: built for the benchmark"]), empty, stamp) for i in range(1, n + 1))
    with Store(path) as store:
        store.insert_passage_rows(rows)


async def measure(path: Path, keys: int, only: list[str], paces: list[float]) -> None:
    from textual import events

    from curator.config import Settings
    from curator.tui.app import CuratorApp

    t0 = time.perf_counter()
    app = CuratorApp(path, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="passages")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _passages_screen(app)
        while screen.current() is None:
            await asyncio.sleep(0.005)
        await _drawn(screen)
        startup = time.perf_counter() - t0
        first = screen.current().id
        results: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}  # CPU time per key: the work, whatever else the machine runs
        for pace in paces:
            for key in only:
                keys_now = keys if not pace else min(keys, 100)
                label = "" if not pace else ", paced"
                if screen.current().id != first:
                    await _press(app, screen, "home")
                if key == "end":  # end then home, each from the other end of the list
                    for i in range(keys_now):
                        name = "end" if i % 2 == 0 else "home"
                        results.setdefault(name + label, []).append(await _press(app, screen, name, pace))
                    cpu["end" + label], cpu["home" + label] = CPU[-keys_now::2], CPU[-keys_now + 1::2]
                else:
                    results[key + label] = [await _press(app, screen, key, pace) for _ in range(keys_now)]
                    cpu[key + label] = CPU[-keys_now:]
        if "end" in only:  # the first jump after the list is read again: nothing of the end is kept yet
            from curator.tui.messages import DataChanged

            results["end, cold"], cpu["end, cold"] = [], []
            for _ in range(min(keys, 20)):
                await _press(app, screen, "home") if screen.current().id != first else None
                screen.post_message(DataChanged())
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                results["end, cold"].append(await _press(app, screen, "end", 0.1))
                cpu["end, cold"].append(CPU[-1])
        t = time.perf_counter()
        app.post_message(events.Key("slash", "/"))
        await pilot.pause()
        await pilot.press(*MARKER, "enter")
        while not str(screen.query_one("#info").render()).split()[0].replace(",", "").isdigit() \
                or "matching" not in str(screen.query_one("#info").render()):
            await asyncio.sleep(0.005)
        await _drawn(screen)
        search = time.perf_counter() - t
        info = str(screen.query_one("#info").render()).split(" ·")[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"start to the first rows drawn: {startup:.2f} s")
    print("keypress to the new row drawn with its text beside it (target: p95 <= 20 ms); back to back, each key "
          "waits for the 60 fps frame after the last paint; paced, a key every 100 ms, as a curator presses them; "
          "cpu: the process's CPU time for the key, its drawing included:")
    for name, times in results.items():
        print(f"  {name:>16}: {_figures(times)} over {len(times)} keys; cpu {_figures(cpu.get(name, []))}")
    print(f"search over the whole store: {search:.2f} s to '{info}' drawn (the typing included)")
    print(f"peak memory {peak:.0f} MB")


def _figures(times: list[float]) -> str:
    if not times:
        return "-"
    times = sorted(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    return f"median {statistics.median(times) * 1000:5.1f} ms, p95 {p95 * 1000:5.1f} ms, max {times[-1] * 1000:5.1f} ms"


async def _passages_screen(app):
    from curator.tui.screens.passages import PassagesScreen

    while not isinstance(app.screen, PassagesScreen) or not app.screen.is_mounted:
        await asyncio.sleep(0.005)
    return app.screen


async def _press(app, screen, key: str, pace: float = 0.0) -> float:
    """Seconds from a real key event (through the app's binding dispatch; Pilot.press adds waits of its
    own) to the frame that shows the new row highlighted and its text in the side panel; `pace`: seconds
    to wait before the key (0: at once, back to back)."""
    from textual import events

    if pace:
        await asyncio.sleep(pace)
    shown = screen.current().id
    t, cpu = time.perf_counter(), time.process_time()
    app.post_message(events.Key(key, None))
    while (p := screen.current()) is None or p.id == shown or screen.query_one("#passage-text").text != p.text:
        await asyncio.sleep(0)
    await _drawn(screen)
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - t


async def _drawn(screen) -> None:
    painted = asyncio.Event()
    screen.call_after_refresh(painted.set)  # fires once the screen has been painted
    await painted.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=200, help="presses of each key")
    parser.add_argument("--only", default="down,pagedown,end", help="the keys to time, of down,pagedown,end")
    parser.add_argument("--paces", default="0,0.1", help="seconds between keys: 0 back to back, 0.1 a curator's pace")
    parser.add_argument("--db", type=Path, default=None, help="reuse or keep the database here")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="curator-passages-")) / "bench.db"
    if not path.exists():
        t0 = time.perf_counter()
        builder = multiprocessing.Process(target=build, args=(path, args.n))  # its memory is not the app's
        builder.start()
        builder.join()
        print(f"built {args.n} passages in {time.perf_counter() - t0:.1f} s: {path}")
    asyncio.run(measure(path, args.keys, args.only.split(","), [float(p) for p in args.paces.split(",")]))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
