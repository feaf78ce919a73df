"""A bulk decision of 10,000 candidates while another `curator` process writes to the same file: the
seconds each part's transaction takes (target ≤ 0.2 s each), the whole bulk, its undo, and what the other
process waited.

Usage: python benchmarks/bulk_bench.py [--n 50000] [--bulk 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def build(path: Path, n: int, selected: int) -> None:
    from curator.models import now_iso
    from curator.store import Store

    stamp = now_iso()
    with Store(path) as store, store.transaction():
        rows = []
        for i in range(1, n + 1):
            family = "school_math" if i <= selected else "grammar_tutor"
            messages = json.dumps([{"role": "user", "content": f"پرسش {i}"},
                                   {"role": "assistant", "content": f"پاسخ {i}"}], ensure_ascii=False)
            rows.append((i, "candidate", family, "generated", messages, "gated", "pass", stamp, f"u{i:032x}",
                         f"u{i:032x}", f"k{i}"))
        store.conn.executemany(
            "INSERT INTO examples (id, kind, family, source_type, messages, state, gate_status, created_at, uid, "
            "lineage, key_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)


def other_writer(path: Path, n: int, stop: threading.Event, waits: list[float]) -> None:
    """Another process deciding candidates outside the bulk, one `curator triage note` after another."""
    k = 0
    while not stop.is_set():
        k += 1
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "curator", "triage", "note", str(n - k), "--note", "another",
                        "--db", str(path)], check=True, capture_output=True)
        waits.append(time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from curator.services import bulk
    from curator.services.triage import Filters
    from curator.store import Store

    worst_part, wholes, undos, others = [], [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bulk.db"
            build(path, args.n, args.bulk)
            stop, waits = threading.Event(), []
            writer = threading.Thread(target=other_writer, args=(path, args.n, stop, waits))
            writer.start()
            while not waits:  # the other process is writing before the bulk starts
                time.sleep(0.05)
            marks = []
            with Store(path) as store:
                t0 = time.perf_counter()
                plan = bulk.plan(store, "reject", Filters(family="school_math"), reason="off_topic")
                bulk_id = bulk.start(store, plan)
                planned = time.perf_counter() - t0
                marks.append(time.perf_counter())
                done = bulk.resume(store, bulk_id, progress=lambda d, t: marks.append(time.perf_counter()))
                whole = time.perf_counter() - t0
                t1 = time.perf_counter()
                bulk.undo(store, bulk_id)
                undo = time.perf_counter() - t1
            stop.set()
            writer.join()
            parts = [b - a for a, b in zip(marks, marks[1:])]
            assert done.done == args.bulk, done
            worst_part.append(max(parts))
            wholes.append(whole)
            undos.append(undo)
            others.extend(waits)
            print(f"run {run + 1}: plan {planned:.2f} s, {len(parts)} parts of {bulk.PART}: slowest {max(parts):.3f} s, "
                  f"median {sorted(parts)[len(parts) // 2]:.3f} s; whole bulk {whole:.2f} s; undo {undo:.2f} s; "
                  f"the other process: {len(waits)} commands, slowest {max(waits):.2f} s")
    print(f"best of {args.runs}: slowest part {min(worst_part):.3f} s (target <= 0.2), whole bulk of {args.bulk:,} "
          f"{min(wholes):.2f} s, undo {min(undos):.2f} s; worst over all runs: slowest part {max(worst_part):.3f} s")


if __name__ == "__main__":
    main()
