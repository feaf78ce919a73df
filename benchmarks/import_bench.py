"""Import throughput (MB/s) and peak memory on a generated Persian-like corpus.

Usage: python benchmarks/import_bench.py [--mb 200] [--keep DIR] [--runs 1]
Target (issue 25): at least 25 MB/s on one 200 MB file; (issue 2) peak memory under 300 MB on a 2-core
machine. Prints the CPU time of the importing process and of its workers beside the wall time, and the
load average (the machine may be shared: compare runs made in the same conditions).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from synthetic import generate  # noqa: E402 - the same generated corpus as the concurrency tests


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from /proc/PID/task/TID/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                todo.extend(int(c) for c in open(f"/proc/{current}/task/{task}/children").read().split())
        except OSError:
            pass
    return out


def _memory_kb(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in kB ((0, 0) if it is gone)."""
    found = {"Rss:": 0, "Pss:": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key = line[:4]
                if key in found:
                    found[key] = int(line.split()[1])
    except OSError:
        pass
    return found["Rss:"], found["Pss:"]


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeMemory(threading.Thread):
    """Samples the summed memory of a process and its workers every 100 ms; keeps the peaks, and the
    last CPU time seen of the process itself (its workers' is the rest of its children's total)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss, self.done, self.cpu = pid, 0, 0, False, 0.0

    def run(self) -> None:
        while not self.done:
            samples = [_memory_kb(p) for p in _tree(self.pid)]
            self.peak_rss = max(self.peak_rss, sum(rss for rss, _ in samples))
            self.peak_pss = max(self.peak_pss, sum(pss for _, pss in samples))
            self.cpu = max(self.cpu, _cpu_s(self.pid) or 0.0)
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the corpus and database here (a corpus of the same size there is used again)")
    parser.add_argument("--runs", type=int, default=1, help="import this many times (each into a new database)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="curator-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus, db = work / f"corpus-{args.mb}mb.txt", work / "bench.db"
    t0 = time.perf_counter()
    if corpus.exists():
        size = corpus.stat().st_size
        print(f"using {size / 1e6:.1f} MB: {corpus}")
    else:
        size = generate(corpus, args.mb)
        print(f"generated {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s: {corpus}")
    for _ in range(args.runs):
        _import(corpus, db, size)


def _import(corpus: Path, db: Path, size: int) -> None:
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    os.sync()  # the corpus's dirty pages would otherwise be flushed while the import writes
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "curator", "import", str(corpus), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeMemory(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - t0
    sampler.done = True
    if proc.returncode != 0:
        sys.exit(f"import failed: {stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    largest = after.ru_maxrss / 1024
    total = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(stdout.strip())
    print(f"import: {elapsed:.1f} s, {size / 1e6 / elapsed:.1f} MB/s (target >= 25); CPU {total:.1f} s: "
          f"importing process {sampler.cpu:.1f} s, workers {total - sampler.cpu:.1f} s; "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"memory, all processes together: peak PSS {sampler.peak_pss / 1024:.0f} MB (target < 300), "
          f"peak RSS sum {sampler.peak_rss / 1024:.0f} MB; largest single process {largest:.0f} MB")
    print("(PSS shares a page among the processes that map it; the RSS sum counts shared pages twice.)")


if __name__ == "__main__":
    main()
