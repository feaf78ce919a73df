"""`curator gate` end to end on a big store, as a curator runs it (a fresh process each time): the
first run, a run after adding 1,000 candidates, and a run with nothing new; wall time and peak
memory of each (GNU time). The meaning gates are left out (`--no-embed`: nothing is embedded).

Targets (issue 13): after 1,000 new candidates on a 200k store <= 3 s; nothing new <= 0.5 s;
peak memory of the set-level gates at 400k candidates <= 1 GB.
Used by gates_bench.py --incremental.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def conversation(q: str, a: str) -> str:
    return json.dumps([{"role": "user", "content": q}, {"role": "assistant", "content": a}], ensure_ascii=False)


def build_store(path: Path, cands: list[tuple[str, str]], evals: list[tuple[str, str]]) -> None:
    """Candidates with their rule verdicts already stored (as after earlier runs), and the eval items."""
    from curator.models import now_iso
    from curator.store import Store

    stamp = now_iso()
    with Store(path) as store:
        for start in range(0, len(cands), 20_000):
            part = range(start, min(start + 20_000, len(cands)))
            with store.transaction():
                store.conn.executemany(
                    "INSERT INTO examples (id, kind, family, task_type, source_type, messages, state, key_hash, "
                    "created_at, uid, lineage) VALUES (?, 'candidate', 'grammar_tutor', 'explanation', 'generated', "
                    "?, 'new', ?, ?, ?, ?)",
                    [(i + 1, conversation(*cands[i]), f"k{i}", stamp, f"u{i}", f"u{i}") for i in part])
                store.conn.executemany(
                    "INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, score, reason, detail, "
                    "created_at) VALUES (?, 'format', '1', 'pass', 1.0, 'ok', '{}', ?)", [(i + 1, stamp) for i in part])
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO examples (kind, role, family, source_type, messages, key_hash, created_at, uid, lineage) "
                "VALUES ('eval_item', 'eval', 'eval', 'eval_import', ?, ?, ?, ?, ?)",
                [(conversation(q, a), f"e{i}", stamp, f"e{i}", f"e{i}") for i, (q, a) in enumerate(evals)])


def add_new(path: Path, new: list[tuple[str, str]]) -> None:
    """New candidates as generation leaves them: no verdict yet (the rule gates run on them)."""
    from curator.models import Example, Message
    from curator.store import Store
    from curator.text.normalize import key_hash

    with Store(path) as store:
        for q, a in new:
            e = Example(kind="candidate", family="grammar_tutor", task_type="explanation",
                        messages=[Message(role="user", content=q), Message(role="assistant", content=a)])
            e.key_hash = key_hash(q + "\n" + a)
            store.add_example(e)


def copy_db(source: Path, target: Path) -> None:
    """Copy a closed database (and its WAL, if one is left) over another."""
    for suffix in ("", "-wal", "-shm"):
        src, dst = Path(f"{source}{suffix}"), Path(f"{target}{suffix}")
        if src.exists():
            shutil.copyfile(src, dst)
        elif dst.exists():
            dst.unlink()


def gate(path: Path) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, the command's last lines) of `curator gate --no-embed`."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "curator", "--db", str(path), "gate",
                          "--no-embed"], capture_output=True, text=True, cwd=ROOT, env={**os.environ})
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    wall, peak = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(peak) // 1024, out.stdout.strip()


def run(n: int, evals: int, build, perturb, sentence, repeats: int = 3) -> None:
    t0 = time.perf_counter()
    cands, eval_items, _, _ = build(n, evals)
    path = Path(tempfile.mkdtemp(prefix="curator-incremental-")) / "bench.db"
    build_store(path, cands, eval_items)
    print(f"store with {n} candidates and {evals} eval items built in {time.perf_counter() - t0:.1f} s: {path}")
    startup = subprocess.run(["/usr/bin/time", "-f", "%e", sys.executable, "-m", "curator", "gate", "--help"],
                             capture_output=True, text=True, cwd=ROOT)
    print(f"process start (curator gate --help): {startup.stderr.strip().splitlines()[-1]} s")

    wall, peak, out = gate(path)
    print(f"first run: {wall:.1f} s, peak {peak} MB")
    print("  " + out.replace("\n", "\n  "))

    rng = random.Random(5)
    new = []
    for i in range(1000):
        if i % 20 == 0:  # some are near-duplicates of stored candidates
            q, a = cands[rng.randrange(n)]
            new.append((perturb(rng, q), perturb(rng, a)))
        else:
            new.append((sentence(rng, rng.randint(8, 20)) + "؟", sentence(rng, rng.randint(25, 60)) + "."))
    base = path.with_name("gated.db")
    copy_db(path, base)  # each repeat starts from the same state: the store as the first run left it
    runs = []
    for _ in range(repeats):
        copy_db(base, path)
        add_new(path, new)  # as generation adds them: a curator process that checked the file and sealed it
        runs.append(gate(path))
    wall, peak, out = min(runs)
    print(f"after adding 1,000 candidates: {wall:.2f} s (best of {repeats}; target <= 3), peak {peak} MB")
    print("  " + out.replace("\n", "\n  "))

    times = [gate(path) for _ in range(repeats)]
    best = min(times)
    print(f"nothing new: {best[0]:.2f} s (best of {repeats}; target <= 0.5), peak {best[1]} MB")
    print("  " + best[2].replace("\n", "\n  "))
