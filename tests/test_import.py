"""Corpus import: streamed, idempotent, one transaction per file, and clear about bad input."""

import json
from pathlib import Path

import pytest

from curator.corpus.importer import import_paths
from curator.corpus import importer as importer_module
from curator.corpus import readers
from curator.store import Store

PARA = "فتوسنتز فرایندی است که گیاه با آن غذای خود را می‌سازد. نور خورشید در این فرایند نقش اصلی دارد. "


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_imports_txt_md_and_jsonl_with_source_offsets(store: Store, tmp_path: Path) -> None:
    txt = write(tmp_path / "a.txt", PARA * 3 + "\n\n" + "دستور زبان فارسی. " * 30)
    md = write(tmp_path / "b.md", "# درس\n\n" + "مفعول با را می‌آید. " * 30)
    rows = [{"text": "ماه تنها قمر زمین است. " * 12, "id": 1}, {"text": "خلیج فارس در جنوب ایران است. " * 12}]
    jsonl = write(tmp_path / "c.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    report = import_paths(store, [txt, md, jsonl])
    assert report.problems == []
    assert report.files == 3 and report.passages_added >= 4
    for p in store.passages():
        if p.source_line is None:
            assert Path(p.source_path).read_text(encoding="utf-8")[p.start:p.end] == p.text
        else:
            line = Path(p.source_path).read_text(encoding="utf-8").splitlines()[p.source_line - 1]
            assert json.loads(line)["text"][p.start:p.end] == p.text
        assert p.rules, "every passage says which rules classified it"


def test_reimporting_the_same_content_adds_nothing(store: Store, tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", PARA * 5)
    first = import_paths(store, [a])
    again = import_paths(store, [a])
    copy = write(tmp_path / "copy.txt", PARA.replace("ی", "ي") * 5)  # same text, Arabic yeh
    third = import_paths(store, [copy])
    assert first.passages_added > 0
    assert again.passages_added == 0 and third.passages_added == 0
    assert store.count("passages") == first.passages_added


def test_folders_are_imported_recursively(store: Store, tmp_path: Path) -> None:
    (tmp_path / "x" / "y").mkdir(parents=True)
    write(tmp_path / "x" / "one.txt", PARA * 3)
    write(tmp_path / "x" / "y" / "two.md", "درس دوم. " * 40)
    write(tmp_path / "x" / "y" / "ignored.csv", "a,b")
    report = import_paths(store, [tmp_path / "x"])
    assert report.files == 2 and report.problems == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.txt", PARA.encode() + b"\xff\xfe broken", "invalid UTF-8 at byte"),
        ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        ("empty.txt", b"", "empty file"),
        ("data.csv", b"a,b", "unsupported file type .csv"),
    ],
)
def test_bad_files_are_reported_and_skipped(store: Store, tmp_path: Path, name: str, content: bytes,
                                            expected: str) -> None:
    good = write(tmp_path / "good.txt", PARA * 3)
    bad = tmp_path / name
    bad.write_bytes(content)
    report = import_paths(store, [bad, good])
    assert len(report.problems) == 1
    assert str(bad) in report.problems[0] and expected in report.problems[0]
    assert report.files == 1
    assert {p.source_path for p in store.passages()} == {str(good)}


def test_invalid_utf8_byte_offset_is_exact(store: Store, tmp_path: Path) -> None:
    prefix = ("سلام " * 300000).encode()  # more than one read chunk
    bad = tmp_path / "late.txt"
    bad.write_bytes(prefix + b"\xc3\x28")
    report = import_paths(store, [bad])
    assert report.problems == [f"{bad}: invalid UTF-8 at byte {len(prefix)}"]
    assert store.count("passages") == 0 and store.count("sources") == 0


def test_bad_jsonl_lines_are_reported_with_line_numbers(store: Store, tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": PARA * 3}, ensure_ascii=False),
        "{not json",
        json.dumps({"body": "x"}),
        json.dumps({"text": 42}),
        json.dumps(["a list"]),
        "",
        json.dumps({"text": "ماه قمر زمین است. " * 20}, ensure_ascii=False),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe\n")
    report = import_paths(store, [path])
    joined = "\n".join(report.problems)
    assert f"{path}:2: not valid JSON" in joined
    assert f"{path}:3: no field 'text'" in joined
    assert f"{path}:4: field 'text' is int" in joined
    assert f"{path}:5: expected a JSON object" in joined
    assert f"{path}:8: invalid UTF-8" in joined
    assert report.files == 1
    assert {p.source_line for p in store.passages()} == {1, 7}


def test_field_option_names_the_jsonl_text_field(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "rows.jsonl", json.dumps({"body": PARA * 3}, ensure_ascii=False) + "\n")
    assert import_paths(store, [path], field_name="body").passages_added > 0


def test_missing_path_is_reported(store: Store, tmp_path: Path) -> None:
    report = import_paths(store, [tmp_path / "nope.txt"])
    assert report.problems == [f"{tmp_path / 'nope.txt'}: no such file or folder"]


def test_an_interrupted_file_leaves_nothing_behind(store: Store, tmp_path: Path, monkeypatch) -> None:
    good = write(tmp_path / "good.txt", PARA * 3)
    import_paths(store, [good])
    before = store.table_counts()
    big = write(tmp_path / "big.txt", "\n\n".join(f"پاراگراف شمارهٔ {i}. " + PARA * 3 for i in range(3000)))
    calls = {"n": 0}
    real = store.insert_passage_rows

    def crash_on_second_batch(batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(batch)

    monkeypatch.setattr(store, "insert_passage_rows", crash_on_second_batch)
    monkeypatch.setattr(importer_module, "WRITE_BATCHES", 1)  # one write a batch
    with pytest.raises(KeyboardInterrupt):
        import_paths(store, [big])
    assert calls["n"] == 2, "the first batch was written inside the file's transaction"
    assert store.table_counts() == before
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_progress_reports_every_byte(store: Store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(importer_module, "BATCH", 10)
    path = write(tmp_path / "a.txt", "\n\n".join(f"بند {i}. " + PARA * 3 for i in range(100)))
    seen = []
    import_paths(store, [path], progress=seen.append)
    assert sum(seen) == path.stat().st_size
    assert len(seen) > 2


def _rows(store: Store) -> list[tuple]:
    return store.conn.execute(
        'SELECT source_path, source_line, start, "end", text, key_hash, tags, quality, rules, families '
        "FROM passages ORDER BY id").fetchall()


def _mixed_corpus(folder: Path) -> Path:
    folder.mkdir()
    write(folder / "a.txt", "\n\n".join(f"بند {i}: فاعل و مفعول در جملهٔ ساده. " + PARA * (i % 7 + 1) for i in range(400)))
    write(folder / "b.md", "# درس\n\n" + "\n\n".join(f"در سال ۱۳{i:02d} این شهر {i} هزار نفر جمعیت داشت. " + PARA
                                                   for i in range(300)))
    write(folder / "c.jsonl", "\n".join(json.dumps({"text": f"مثال {i}. " + PARA * 4}, ensure_ascii=False)
                                        for i in range(200)) + "\n")
    return folder


def test_worker_processes_store_exactly_what_one_process_stores(tmp_path: Path, monkeypatch) -> None:
    corpus = _mixed_corpus(tmp_path / "corpus")
    monkeypatch.setattr(importer_module, "BATCH", 50)  # many batches in flight, returned in any order
    monkeypatch.setattr(readers, "CHUNK_BYTES", 8192)  # the text files are split by the workers in blocks
    monkeypatch.setattr(importer_module, "BLOCK_CHUNKS", 1)
    with Store(tmp_path / "one.db") as one:
        single = import_paths(one, [corpus], workers=1)
        expected = _rows(one)
    monkeypatch.setattr(importer_module, "PARALLEL_MIN_BYTES", 0)
    pools = []
    real_pool_for = importer_module._pool_for
    monkeypatch.setattr(importer_module, "_pool_for", lambda *a: pools.append(real_pool_for(*a)) or pools[-1])
    with Store(tmp_path / "two.db") as two:
        parallel = import_paths(two, [corpus], workers=2)
        assert _rows(two) == expected
    assert isinstance(pools[0], importer_module.ProcessPoolExecutor)
    assert parallel.summary() == single.summary()
    assert single.passages_added > 500


def test_a_bad_file_among_big_ones_is_skipped_whole_by_the_workers(tmp_path: Path, monkeypatch) -> None:
    corpus = _mixed_corpus(tmp_path / "corpus")
    good = (corpus / "a.txt").read_bytes()
    cut = len(good) * 2 // 3
    while good[cut] & 0xC0 == 0x80:  # not inside a character: the bad bytes are the first error
        cut += 1
    (corpus / "bad.txt").write_bytes(good[:cut] + b"\xff\xfe" + good[cut:])
    monkeypatch.setattr(importer_module, "BATCH", 50)
    monkeypatch.setattr(importer_module, "PARALLEL_MIN_BYTES", 0)
    with Store(tmp_path / "c.db") as store:
        report = import_paths(store, [corpus], workers=2)
        assert report.problems == [f"{corpus / 'bad.txt'}: invalid UTF-8 at byte {cut}"]
        assert report.files == 3
        paths = {row[0] for row in store.conn.execute("SELECT DISTINCT source_path FROM passages")}
        assert paths == {str(corpus / n) for n in ("a.txt", "b.md", "c.jsonl")}
        assert store.conn.execute("SELECT count(*) FROM sources WHERE path LIKE '%bad.txt'").fetchone()[0] == 0


def test_an_import_checkpoints_less_often_and_restores_the_setting(store: Store, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def interval() -> int:
        return store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]

    before = interval()
    seen = []
    real_write = importer_module._write

    def spying_write(*args, **kwargs):
        seen.append(interval())
        return real_write(*args, **kwargs)

    monkeypatch.setattr(importer_module, "_write", spying_write)
    report = import_paths(store, [write(tmp_path / "a.txt", PARA * 3)])
    assert report.passages_added == 1
    assert seen == [10_000]  # while the passages were written
    assert interval() == before  # and as it was afterwards
