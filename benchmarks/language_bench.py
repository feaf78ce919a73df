"""The language gate's cost: ms per turn and the memory the detector adds, in lingua's high- and
low-accuracy modes, with each mode's accuracy on the labelled sentences.

Usage: python benchmarks/language_bench.py [--turns 2000] [--chars 300] [--runs 5] [--mode high|low]
(without --mode, each mode runs in its own process, so that each RSS figure is its own).
Turns are ~300-character runs of Persian sentences from the bundled sample (corpus and seeds), drawn
at random (seeded). ms/turn is the best of `--runs` passes of `identify` over every turn; ms/example
is the whole gate (`LanguageGate.check`) on a question + that turn as the answer. RSS is read from
/proc before the detector is built and after it has judged the labelled set (all models loaded).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from lingua import LanguageDetectorBuilder

from curator.gates import language
from curator.gates.base import GateContext
from curator.gates.language import LANGUAGES, LanguageGate, identify
from curator.models import Example, Message
from curator.sample import sample_dir

ROOT = Path(__file__).resolve().parents[1]
_SENTENCE_END = re.compile(r"(?<=[.!؟?])\s+")
_PERSIAN = re.compile("[\u0600-\u06ff]")


def persian_sentences() -> list[str]:
    texts = []
    for path in sorted((sample_dir() / "corpus").iterdir()):
        raw = path.read_text(encoding="utf-8")
        texts += [json.loads(line)["text"] for line in raw.splitlines()] if path.suffix == ".jsonl" else [raw]
    for line in (sample_dir() / "seeds.jsonl").read_text(encoding="utf-8").splitlines():
        texts += [m["content"] for m in json.loads(line)["messages"] if m["role"] in ("user", "assistant")]
    sentences = [s.strip(" #*-\n") for t in texts for s in _SENTENCE_END.split(t.replace("\n", " "))]
    return [s for s in sentences if len(s) > 20 and len(_PERSIAN.findall(s)) > len(s) / 2]


def turns(n: int, chars: int, seed: int = 11) -> list[str]:
    rng, pool, out = random.Random(seed), persian_sentences(), []
    for _ in range(n):
        parts: list[str] = []
        while sum(map(len, parts)) < chars:
            parts.append(rng.choice(pool))
        out.append(" ".join(parts)[: chars + 60])
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def accuracy() -> tuple[int, int]:
    rows = [json.loads(line) for line in (ROOT / "tests/data/language_sentences.jsonl").read_text().splitlines()]
    expected = {"fa_latin": "fa"}
    right = sum(identify(r["text"]).language in ({"fa", "unknown"} if expected.get(r["kind"], r["kind"]) == "fa"
                                                 else {r["kind"]}) for r in rows)
    return right, len(rows)


def best_ms(fn, items: list, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=("high", "low"))
    args = parser.parse_args()
    if args.mode is None:
        for mode in ("high", "low"):
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--mode", mode], check=True)
        return
    sample = turns(args.turns, args.chars)
    examples = [Example(family="dialogue", task_type="explanation",
                        messages=[Message(role="user", content="لطفاً این را توضیح بده."),
                                  Message(role="assistant", content=t)]) for t in sample]
    gate, ctx = LanguageGate(), GateContext()
    before = rss_mb()
    builder = LanguageDetectorBuilder.from_languages(*LANGUAGES)
    language._detector = (builder.with_low_accuracy_mode() if args.mode == "low" else builder).build()
    right, total = accuracy()
    added = rss_mb() - before
    per_turn = best_ms(identify, sample, args.runs)
    per_example = best_ms(lambda e: gate.check(e, ctx), examples, args.runs)
    passed = sum(gate.check(e, ctx).verdict == "pass" for e in examples)
    print(f"{args.mode}-accuracy mode, {len(sample)} Persian turns of {sum(map(len, sample)) / len(sample):.0f} chars: "
          f"{right}/{total} labelled sentences right; {per_turn:.2f} ms/turn (identify), {per_example:.2f} ms/example "
          f"(the gate, 2 turns); {passed}/{len(examples)} pass; RSS +{added:.0f} MB for the detector and its models")


if __name__ == "__main__":
    main()
