"""`curator prepare` (datatrove, local executor) gives the same passages as `curator import`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.corpus_import import import_corpus
from curator.store import Store

pytest.importorskip("datatrove")

from curator.scale.plan import assign_tasks, make_plan, read_manifest  # noqa: E402
from curator.services.prepare import PrepareError, prepare  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSON = ("دانش‌آموزان در کلاس درس دستور زبان، فاعل و مفعول را یاد می‌گیرند. معلم برای نمونه جمله‌ای ساده "
          "می‌نویسد و توضیح می‌دهد که نهاد و گزاره چیست. ")
HISTORY = "تهران در سال ۱۳۰۰ خورشیدی پایتخت بود و جمعیت استان در قرن چهاردهم به چند میلیون رسید. "
MATH = "حاصل ۱۲ + ۳۰ برابر ۴۲ است. برای محاسبه مساحت مستطیل، طول را در عرض ضرب می‌کنیم. "
WORDS = ("کوه", "دریا", "باران", "شهر", "کتاب", "درخت", "آسمان", "رود", "باغ", "خانه", "مردم", "راه", "دشت", "ابر",
         "گل", "سنگ", "جنگل", "پل", "بازار", "کودک", "نان", "آب", "آتش", "باد", "خاک", "ماه", "ستاره", "شب")


def prose(seed: int, n: int = 70) -> str:
    """Text that does not repeat itself (so MinHash sees it as one text, not a loop)."""
    import random

    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def corpus(root: Path) -> Path:
    """A few files: ZWNJ, Arabic letter variants, Persian digits, an exact and a near-duplicate, a jsonl."""
    src = root / "corpus"
    src.mkdir()
    (src / "a_lessons.txt").write_text(LESSON * 4 + "\n\n" + HISTORY * 4 + "\n\n" + MATH * 5, encoding="utf-8")
    # The same lesson in Arabic yeh/kaf and without ZWNJ: an exact duplicate by match key.
    (src / "b_arabic.md").write_text((LESSON * 4).replace("ی", "ي").replace("ک", "ك").replace("\u200c", "")
                                     + "\n\n" + "کتاب درسی فصل تازه‌ای دارد. " * 12, encoding="utf-8")
    original = prose(1)
    near = original.replace(original.split()[30], "چندین", 1)  # one word differs: a near-duplicate
    (src / "a_lessons.txt").write_text((src / "a_lessons.txt").read_text(encoding="utf-8") + "\n\n" + original,
                                       encoding="utf-8")
    (src / "c_near.txt").write_text(prose(2) + "\n\n" + near, encoding="utf-8")
    rows = [{"text": MATH * 5}, {"text": prose(3)}, {"other": 1}, {"text": "دنیا " * 80}]
    (src / "d_rows.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                      encoding="utf-8")
    return src


FIELDS = ("text", "source_path", "source_line", "start", "end", "key_hash", "quality")


def passages_of(store: Store) -> set[tuple]:
    return {(*(getattr(p, f) for f in FIELDS), tuple(p.tags), tuple(p.families), tuple(p.rules))
            for p in store.passages()}


def direct(tmp_path: Path, src: Path, name: str) -> set[tuple]:
    with Store(tmp_path / name) as store:
        report = import_corpus(store, [src], workers=1)
        assert report.files == 4
        return passages_of(store)


def prepared(tmp_path: Path, src: Path, name: str, *, near_dedup: bool) -> tuple[set[tuple], dict]:
    out = tmp_path / f"prep-{name}"
    report = prepare([src], out, tasks=3, workers=1, near_dedup=near_dedup)
    assert report.files == 4 and report.shards >= 1
    with Store(tmp_path / name) as store:
        imported = import_corpus(store, [out / "passages"])
        assert imported.passages_added == report.passages
        return passages_of(store), read_manifest(out)


def test_prepared_and_direct_imports_give_the_same_passages(tmp_path: Path) -> None:
    src = corpus(tmp_path)
    want = direct(tmp_path, src, "b.db")
    got, manifest = prepared(tmp_path, src, "a.db", near_dedup=False)
    assert got == want
    assert {f["task"] for f in manifest["inputs"]} == {0, 1, 2}
    assert manifest["tasks"] == 3 and manifest["executor"] == "local" and manifest["near_dedup"] is False
    assert manifest["versions"]["datatrove"].startswith("0.10")
    assert any("no field 'text'" in p for p in manifest["problems"])
    exact = next(s for s in manifest["stages"] if s["name"] == "exact-filter")
    assert sum(c.get("dropped", 0) for c in exact["counts"].values()) >= 1, "the Arabic-letter copy was dropped"
    # Offsets point into the original files, not the shards.
    for text, path, line, start, end, *_ in got:
        if line is None:
            assert Path(path).read_text(encoding="utf-8")[start:end] == text


def test_near_dedup_drops_only_the_later_near_duplicate(tmp_path: Path) -> None:
    src = corpus(tmp_path)
    want = direct(tmp_path, src, "b.db")
    got, manifest = prepared(tmp_path, src, "a.db", near_dedup=True)
    dropped = want - got
    assert got < want and len(dropped) == 1
    (text, path, *_), = dropped
    assert path.endswith("c_near.txt") and "چندین" in text
    assert manifest["minhash"]["bands"] == 14
    stages = {s["name"]: s["counts"] for s in manifest["stages"]}
    assert [s["name"] for s in manifest["stages"]] == ["read", "exact-find", "minhash-buckets", "minhash-cluster",
                                                       "dedup-filter"]
    assert stages["minhash-cluster"]["🫂 - DEDUP: curator keep-first clusters"]["to_remove"] == 1
    read = stages["read"]["📖 - READER: curator passages"]["passages"]
    dropped = stages["dedup-filter"]["🫂 - DEDUP: curator drop listed"]
    assert dropped["total"] == read and dropped["forwarded"] == len(got)
    assert dropped["dropped"] >= 2  # the near-duplicate and the Arabic-letter copy (an exact one) in one filter


def test_tasks_take_contiguous_runs_of_files_balanced_by_bytes(tmp_path: Path) -> None:
    assert assign_tasks([10, 10, 10, 10], 2) == [0, 0, 1, 1]
    assert assign_tasks([100, 1, 1, 1], 2) == [0, 1, 1, 1]
    assert assign_tasks([5, 5], 4) == [1, 3]
    plan = make_plan([corpus(tmp_path)], tmp_path / "out", tasks=3)
    tasks = [f.task for f in plan.inputs]
    assert tasks == sorted(tasks)


def test_a_used_output_folder_is_refused_and_the_same_run_resumes(tmp_path: Path) -> None:
    src = corpus(tmp_path)
    out = tmp_path / "out"
    first = prepare([src], out, tasks=2, workers=1, near_dedup=False)
    again = prepare([src], out, tasks=2, workers=1, near_dedup=False)  # every task done: nothing re-runs
    assert again.passages == first.passages
    with pytest.raises(PrepareError, match="another preparation"):
        prepare([src], out, tasks=3, workers=1)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    with pytest.raises(PrepareError, match="not empty"):
        prepare([src], tmp_path / "other", tasks=1)


def test_slurm_and_ray_executors_are_built_with_the_chain(tmp_path: Path) -> None:
    from datatrove.executor.ray import RayPipelineExecutor
    from datatrove.executor.slurm import SlurmPipelineExecutor

    from curator.scale.pipeline import ClusterOptions, executors

    src = corpus(tmp_path)
    plan = make_plan([src], tmp_path / "out", tasks=8, executor="slurm")
    chain = executors(plan, ClusterOptions(workers=4, partition="cpu", time="2:00:00"))
    assert all(isinstance(e, SlurmPipelineExecutor) for e in chain)
    assert [e.tasks for e in chain] == [8, 1, 14, 1, 8, 1]
    assert all(e.partition == "cpu" and e.time == "2:00:00" for e in chain)
    assert chain[0].depends is None and all(b.depends is a for a, b in zip(chain, chain[1:]))
    assert chain[0].job_name == "curator-read"
    ray = executors(make_plan([src], tmp_path / "out", tasks=4, executor="ray", near_dedup=False), ClusterOptions())
    assert all(isinstance(e, RayPipelineExecutor) for e in ray)
    assert [e.tasks for e in ray] == [4, 1, 4, 1]
    assert [type(s).__name__ for s in ray[0].pipeline] == [
        "ReadPassages", "ClassifyPassages", "MatchKeyHash", "WriteShard", "ExactDedupSignature"]
    local = executors(make_plan([src], tmp_path / "out", tasks=4), ClusterOptions(workers=2))
    assert [(e.tasks, e.workers) for e in local] == [(4, 2), (1, 1), (14, 1), (1, 1), (4, 2), (1, 1)]  # bands: no pool
    with pytest.raises(PrepareError, match="--partition and --time"):
        prepare([src], tmp_path / "out2", executor="slurm", tasks=2)


def test_prepare_cli_end_to_end(tmp_path: Path) -> None:
    src = corpus(tmp_path)
    out = subprocess.run([sys.executable, "-m", "curator", "prepare", str(src), "--out", str(tmp_path / "p"),
                          "--tasks", "2", "--workers", "1"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 3, out.stderr  # (as `curator import`: some line was skipped, the rest prepared)
    assert "4 files" in out.stdout and "passages in" in out.stdout
    assert "skipped:" in out.stderr and "Traceback" not in out.stderr
    assert (tmp_path / "p" / "manifest.json").exists()


def test_prepare_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nclass _Block:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'datatrove' or name.startswith('datatrove.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    out = subprocess.run([sys.executable, "-m", "curator", "prepare", str(tmp_path), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 1
    assert out.stderr.strip() == "curator prepare needs the scale extra: pip install -e '.[scale]'"
    listed = subprocess.run([sys.executable, "-m", "curator", "--help"], capture_output=True, text=True, cwd=ROOT,
                            env=env)
    assert listed.returncode == 0 and "prepare" in listed.stdout


def test_the_last_stage_drops_the_listed_passages_across_batches(tmp_path: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curator.corpus import prepared as shards
    from curator.scale.steps import DropListed

    rows = [{"text": f"متن {i}", "source_path": "a.txt", "source_sha256": "0" * 64, "source_size": 9,
             "source_line": None, "start": i, "end": i + 1, "key_hash": f"{i:032x}", "tags": [], "quality": "high",
             "rules": [], "families": ["x"]} for i in range(50)]
    (tmp_path / "read").mkdir()
    for task, part in ((0, rows), (1, rows[:3])):
        pq.write_table(pa.Table.from_pylist(part, schema=shards.schema()), tmp_path / "read" / f"{task:05d}.parquet")
    (tmp_path / "exact" / "00000").mkdir(parents=True)
    np.array([9, 2, 40], dtype="<u4").tofile(tmp_path / "exact" / "00000" / "00000.c4_dup")  # as found: unsorted
    np.array([1, 0, 2], dtype="<u4").tofile(tmp_path / "exact" / "00000" / "00001.c4_dup")
    (tmp_path / "remove").mkdir()
    np.array([2, 7, 8, 49], dtype="<u4").tofile(tmp_path / "remove" / "000000.remove")
    step = DropListed(tmp_path / "read", tmp_path / "out", exact_folder=tmp_path / "exact",
                      remove_folder=tmp_path / "remove")
    step.BATCH_ROWS = 8  # the listed indices on both sides of batch edges
    step.run(rank=0)
    step.run(rank=1)  # every passage of task 1 is listed: no shard
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00000.parquet"]
    kept = pq.read_table(tmp_path / "out" / "00000.parquet")
    assert kept.to_pylist() == [r for i, r in enumerate(rows) if i not in {2, 7, 8, 9, 40, 49}]
    assert shards.is_prepared(tmp_path / "out" / "00000.parquet")
    assert step.stats["dropped"].total == 6 + 3 and step.stats["forwarded"].total == 44
