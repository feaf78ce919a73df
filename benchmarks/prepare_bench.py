"""`curator prepare` (datatrove, local executor) at 1, 2 and 4 tasks beside `curator import` on the same files.

Usage: python benchmarks/prepare_bench.py [--mb 500] [--files 8] [--tasks 1,2,4] [--no-near-dedup] [--keep DIR]
Prints throughput (MB/s) of each, the ratio prepare/import, the scaling over one task, the load
average, and where the first run's time went (each stage's steps, from datatrove's stats). Needs the
scale extra. The machine's cores bound the local scaling; on a cluster each task is its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from synthetic import generate  # noqa: E402 - the same generated corpus as the import benchmark


def timed(*args: str) -> tuple[float, str]:
    """Run `curator *args`; its wall time and its output, with its CPU time (and its children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"curator {args[0]} failed: {out.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, f"{out.stdout.strip()}   CPU {cpu:.1f} s"


def breakdown(out: Path) -> str:
    """Each stage's steps that took 0.1 s or more, by datatrove's `time_stats` (wall time, summed over
    the stage's tasks). Steps pull their documents lazily from the steps before them, so a step's time
    may hold some of theirs (in read, the Parquet writer and the MinHash signatures step hold the rest)."""
    lines = []
    for stats in sorted((out / "work" / "logs").glob("*/stats.json"), key=lambda p: p.stat().st_mtime):
        steps = []
        for step in json.loads(stats.read_text(encoding="utf-8")):
            total = step.get("time_stats", 0)
            total = total.get("total", 0) if isinstance(total, dict) else total
            if total >= 0.1:
                steps.append(f"{step['name']} {total:.1f} s")
        lines.append(f"  {stats.parent.name}: " + (", ".join(steps) or "-"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=500)
    parser.add_argument("--files", type=int, default=8, help="the corpus is this many files (tasks take files)")
    parser.add_argument("--tasks", default="1,2,4")
    parser.add_argument("--no-near-dedup", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="keep the corpus and outputs here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="curator-prepare-bench-"))
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    size = sum(generate(corpus / f"part{i:02d}.txt", args.mb / args.files, seed=7 + i) for i in range(args.files))
    mb = size / 1e6
    print(f"generated {mb:.1f} MB in {args.files} files in {time.perf_counter() - t0:.1f} s: {corpus}; "
          f"{os.cpu_count()} cores")
    os.sync()

    db = work / "direct.db"
    for stale in work.glob("direct.db*"):
        stale.unlink()
    load = os.getloadavg()[0]
    direct, line = timed("import", str(corpus), "--db", str(db))
    print(f"import (direct):   {direct:7.1f} s  {mb / direct:6.1f} MB/s   {line}   load {load:.1f}")
    results = {}
    for tasks in (int(t) for t in args.tasks.split(",")):
        out = work / f"prepared-{tasks}"
        shutil.rmtree(out, ignore_errors=True)
        flags = ["--no-near-dedup"] if args.no_near_dedup else []
        load = os.getloadavg()[0]
        elapsed, cpu = timed("prepare", str(corpus), "--out", str(out), "--tasks", str(tasks), *flags)
        if tasks > 1:  # datatrove's pool workers are children of its forkserver, which nobody waits for
            cpu = cpu.rsplit("   CPU", 1)[0] + "   CPU: not counted (the pool's workers)"
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        results[tasks] = elapsed
        print(f"prepare tasks={tasks}: {elapsed:7.1f} s  {mb / elapsed:6.1f} MB/s   {manifest['passages']} passages, "
              f"prepare/import throughput {direct / elapsed:.2f}x, scaling over 1 task "
              f"{results[min(results)] / elapsed:.2f}x   load {load:.1f}   {cpu.strip()}")
        if len(results) == 1:
            print(breakdown(out))
    first = min(results)
    imported, line = timed("import", str(work / f"prepared-{first}" / "passages"), "--db", str(work / "shards.db"))
    print(f"import of the shards: {imported:.1f} s ({line})")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
