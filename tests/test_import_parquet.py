"""`curator import` of Parquet: any Parquet with a text column, and prepared shards with a selection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curator.corpus import prepared
from curator.corpus.importer import import_paths
from curator.services.corpus_import import Selection, import_corpus
from curator.store import Store
from curator.text.normalize import key_hash

ROOT = Path(__file__).resolve().parents[1]
PARA = "فتوسنتز فرایندی است که گیاه با آن غذای خود را می‌سازد. نور خورشید در این فرایند نقش اصلی دارد. "


def shard(path: Path, n: int, *, row_group: int = 7) -> list[dict]:
    """A prepared shard of n passages over three families, without datatrove."""
    rows = []
    for i in range(n):
        text = f"{PARA} بند {i} " + "، ".join(str(j) for j in range(i % 5))
        family = ("school_math", "dialogue", "passage_qa")[i % 3]
        rows.append({"text": text, "source_path": f"/corpus/{i % 4}.txt", "source_sha256": f"{i % 4:064d}",
                     "source_size": 10_000, "source_line": None, "start": 1000 + i, "end": 1000 + i + len(text),
                     "key_hash": key_hash(text), "tags": ["math" if i % 2 else "factual"],
                     "quality": ("high", "medium", "reject")[i % 3], "rules": [f"rule {i}"], "families": [family]})
    rows.sort(key=lambda r: r["source_path"])
    pq.write_table(pa.Table.from_pylist(rows, schema=prepared.schema()), path, row_group_size=row_group)
    return rows


def test_a_parquet_corpus_is_split_and_classified_like_jsonl(store: Store, tmp_path: Path) -> None:
    table = pa.table({"body": [PARA * 3, None, "", "دستور زبان فارسی. " * 30], "n": [1, 2, 3, 4]})
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=2)
    assert not prepared.is_prepared(tmp_path / "c.parquet")
    report = import_paths(store, [tmp_path / "c.parquet"], field_name="body")
    assert report.problems == [] and report.files == 1
    lines = {p.source_line for p in store.passages()}
    assert lines == {1, 4}
    for p in store.passages():
        assert table.column("body")[p.source_line - 1].as_py()[p.start:p.end] == p.text
    missing = import_paths(store, [tmp_path / "c.parquet"], field_name="text")
    assert "no column 'text'" in missing.problems[0]


def test_prepared_shards_keep_their_original_files_and_offsets(store: Store, tmp_path: Path) -> None:
    rows = shard(tmp_path / "00000.parquet", 30)
    report = import_corpus(store, [tmp_path])
    assert report.passages_added == 30 and report.files == 1
    got = {(p.source_path, p.start, p.end, p.key_hash, tuple(p.families), p.quality) for p in store.passages()}
    assert got == {(r["source_path"], r["start"], r["end"], r["key_hash"], tuple(r["families"]), r["quality"])
                   for r in rows}
    assert sorted(s["path"] for s in store.source_paths([p.id for p in store.passages()])) == [
        f"/corpus/{i}.txt" for i in range(4)]
    assert import_corpus(store, [tmp_path]).passages_added == 0


def test_selection_filters_tags_and_quality(store: Store, tmp_path: Path) -> None:
    rows = shard(tmp_path / "s.parquet", 40)
    import_corpus(store, [tmp_path / "s.parquet"], selection=Selection(tags=("math",), qualities=("high", "medium")))
    want = {r["key_hash"] for r in rows if "math" in r["tags"] and r["quality"] != "reject"}
    assert {p.key_hash for p in store.passages()} == want


def test_a_seeded_sample_per_family_is_the_same_whatever_the_shards(tmp_path: Path) -> None:
    rows = shard(tmp_path / "all.parquet", 60)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        pq.write_table(pa.Table.from_pylist(rows[i::3][::-1], schema=prepared.schema()), parts / f"{i}.parquet")
    picked = []
    for name, source in (("one.db", [tmp_path / "all.parquet"]), ("three.db", [parts])):
        with Store(tmp_path / name) as store:
            import_corpus(store, source, selection=Selection(sample=4, per="family", seed=7))
            picked.append({p.key_hash for p in store.passages()})
            families = [p.families[0] for p in store.passages()]
            assert sorted(families.count(f) for f in set(families)) == [4, 4, 4]
    assert picked[0] == picked[1]
    with Store(tmp_path / "other.db") as store:
        import_corpus(store, [tmp_path / "all.parquet"], selection=Selection(sample=4, seed=8))
        assert {p.key_hash for p in store.passages()} != picked[0]
    with Store(tmp_path / "tags.db") as store:
        import_corpus(store, [tmp_path / "all.parquet"], selection=Selection(sample=5, per="tag"))
        assert store.count_passages() == 10


def test_import_cli_selection(tmp_path: Path) -> None:
    shard(tmp_path / "s.parquet", 30)
    db = tmp_path / "x.db"
    out = subprocess.run([sys.executable, "-m", "curator", "import", str(tmp_path / "s.parquet"), "--quality", "high",
                          "--sample", "2", "--per", "family", "--seed", "3", "--db", str(db)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "2 passages added" in out.stdout  # only school_math passages are high quality here
    (tmp_path / "a.txt").write_text(PARA * 3, encoding="utf-8")
    mixed = subprocess.run([sys.executable, "-m", "curator", "import", str(tmp_path / "a.txt"), "--tag", "math",
                            "--db", str(db)], capture_output=True, text=True, cwd=ROOT)
    assert mixed.returncode == 2 and "prepared shards only" in mixed.stderr
