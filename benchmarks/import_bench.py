"""Import throughput (MB/s) and peak memory on a generated Persian-like corpus.

Usage: python benchmarks/import_bench.py [--mb 200] [--keep DIR]
Target (issue 2): at least 15 MB/s and peak memory under 300 MB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (
    "فاعل مفعول متمم مسند فعل قید صفت جمله ساده مرکب دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه "
    "برگ نور انرژی فرایند تاریخ ایران شهر سال قرن پادشاه شاعر شعر زبان فارسی واژه معنا نمونه مثال "
    "تمرین پرسش پاسخ عدد جمع تفریق ضرب تقسیم کسر درصد قیمت تومان هزار میلیون دریا کوه رود باران ابر "
    "است بود شد می‌شود می‌کند کرد داشت دارد را که از به با در برای این آن هم یک دو سه و یا اما چون"
).split()
ENDS = [".", ".", ".", "؟", "!", "؛"]


def generate(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write a Persian-like corpus of about `megabytes` MB in paragraphs; returns its size in bytes."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < target:
            sentences = []
            for _ in range(rng.randint(2, 14)):
                words = rng.choices(WORDS, k=rng.randint(6, 22))
                sentences.append(" ".join(words) + rng.choice(ENDS))
            para = " ".join(sentences) + f" ({rng.randrange(10**9)})\n\n"
            fh.write(para)
            written += len(para.encode("utf-8"))
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="keep the corpus and database here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="curator-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus, db = work / "corpus.txt", work / "bench.db"
    for stale in work.glob("bench.db*"):
        stale.unlink()
    t0 = time.perf_counter()
    size = generate(corpus, args.mb)
    print(f"generated {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s: {corpus}")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "curator", "import", str(corpus), "--db", str(db)],
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"import failed: {out.stderr}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(out.stdout.strip())
    print(f"import: {elapsed:.1f} s, {size / 1e6 / elapsed:.1f} MB/s (target >= 15), "
          f"peak RSS {peak_mb:.0f} MB (target < 300)")


if __name__ == "__main__":
    main()
