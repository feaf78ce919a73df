"""A generated Persian-like corpus (for concurrency tests and the import benchmark)."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = (
    "فاعل مفعول متمم مسند فعل قید صفت جمله ساده مرکب دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه "
    "برگ نور انرژی فرایند تاریخ ایران شهر سال قرن پادشاه شاعر شعر زبان فارسی واژه معنا نمونه مثال "
    "تمرین پرسش پاسخ عدد جمع تفریق ضرب تقسیم کسر درصد قیمت تومان هزار میلیون دریا کوه رود باران ابر "
    "است بود شد می‌شود می‌کند کرد داشت دارد را که از به با در برای این آن هم یک دو سه و یا اما چون"
).split()
ENDS = [".", ".", ".", "؟", "!", "؛"]


def generate(path: Path, megabytes: float, seed: int = 7) -> int:
    """Write a Persian-like corpus of about `megabytes` MB in paragraphs; returns its size in bytes."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
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
