"""A text file split in blocks by the workers is joined into exactly the passages of one reading."""

import json
import random
from array import array
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from curator.corpus import importer as importer_module
from curator.corpus import readers, split
from curator.corpus.blocks import Block, Joined, split_block, text_block
from curator.corpus.importer import import_paths
from curator.corpus.readers import ByteCount, text_chunks
from curator.corpus.split import passages
from curator.store import Store
from curator.window import Window

WORDS = ["سلام", "کتاب", "é", "a", "𝔸", "دانش‌آموز", "۱۲۳", "x.", "؟", "!", "«نقل»", "فتوسنتز"]
SEPARATORS = [" ", " ", " ", "\n", "\n\n", "\n \n", "\n\n\n", ". ", "\r\n\r\n", "\u00a0\n\n"]


def _text(rng: random.Random, words: int) -> str:
    text = "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(words))
    return ("\ufeff" + text) if rng.random() < 0.2 else text


def _one_reading(path: Path, window: Window, chunk: int) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.text) for s in passages(text_chunks(path, ByteCount(), 0, chunk), window)]


def _joined(path: Path, window: Window, chunk: int, block: int) -> tuple[list[tuple[int, int, str]], int | None]:
    size = path.stat().st_size
    found = []
    for start in range(0, size, block):
        spans, handover, origin, lost = split_block(path, start, min(start + block, size), size, window, chunk)
        found.append(Block(array("q", [s.start for s in spans]), array("q", [s.end for s in spans]),
                           [s.text for s in spans], [None] * len(spans), handover, origin, lost))
    joined = Joined(found)
    return [(start, end, text) for part in joined for _, start, end, text, _ in part], joined.resume


@pytest.mark.parametrize("seed", range(4))
def test_blocks_join_into_the_passages_of_one_reading(tmp_path: Path, monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "a.txt"
    handed_over = 0
    for _ in range(25):
        path.write_text(_text(rng, rng.randint(50, 2500)), encoding="utf-8")
        window = Window(rng.randint(5, 60), rng.randint(80, 400))
        chunk = rng.choice([63, 64, 256, 1000])
        block = chunk * rng.randint(1, 6)
        monkeypatch.setattr(split, "MAX_PARAGRAPH", rng.choice([64_000, 300, 1000]))
        expected = _one_reading(path, window, chunk)
        found, resume = _joined(path, window, chunk, block)
        if resume is not None:  # what the importer then reads from the start
            found += [p for p in expected if p[0] >= resume]
        else:
            handed_over += 1
        assert found == expected
    assert handed_over >= 5  # (the joins were tried, not only the fallback)


def test_a_file_without_a_place_to_hand_over_is_read_again_from_the_start(tmp_path: Path, monkeypatch) -> None:
    # No blank line at all: every paragraph is cut at MAX_PARAGRAPH, none is kept whole, no block hands over.
    path = tmp_path / "a.txt"
    path.write_text(" ".join(f"جملهٔ {i} درباره کتاب است." for i in range(3000)), encoding="utf-8")
    size = path.stat().st_size
    monkeypatch.setattr(split, "MAX_PARAGRAPH", 2000)
    assert split_block(path, 0, 4096, size, Window(), 4096)[3]  # lost
    monkeypatch.setattr(readers, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(importer_module, "BLOCK_CHUNKS", 1)
    with Store(tmp_path / "one.db") as one:
        import_paths(one, [path], workers=1)
        expected = one.conn.execute('SELECT start, "end", text, key_hash, rules FROM passages ORDER BY id').fetchall()
    seen: list[int] = []
    with Store(tmp_path / "two.db") as two, ThreadPoolExecutor(2) as pool:
        importer_module.import_file(two, path, pool=pool, progress=seen.append)
        found = two.conn.execute('SELECT start, "end", text, key_hash, rules FROM passages ORDER BY id').fetchall()
    assert found == expected and len(found) > 20
    assert sum(seen) == size


def test_a_block_returns_its_texts_as_utf8_and_offsets_from_its_first_character(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    body = "\n\n".join("کتاب " * 60 + f"شمارهٔ {i}." for i in range(40))
    if body.encode("utf-8")[4096] & 0xC0 != 0x80:
        body = "x" + body  # so that a character spans the first block's end
    path.write_text(body, encoding="utf-8")
    size = path.stat().st_size
    first = text_block(path, 0, 4096, size, Window(), 4096)
    second = text_block(path, 4096, 8192, size, Window(), 4096)
    assert first.handover is not None and not first.lost
    text = path.read_text(encoding="utf-8")
    for block, base in ((first, 0), (second, first.next_origin)):
        for start, end, data in zip(block.starts, block.ends, block.texts):
            assert data == text[base + start: base + end].encode("utf-8")
    data = path.read_bytes()
    assert data[4096] & 0xC0 == 0x80  # a character spans the blocks' boundary: it is the first block's
    assert first.next_origin == len(data[:4096].decode("utf-8", "ignore")) + 1


def test_jsonl_blocks_give_the_lines_numbers_and_problems_of_one_reading(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(7)
    lines = []
    for i in range(400):
        kind = rng.random()
        if kind < 0.05:
            lines.append(b"\xff not utf-8")
        elif kind < 0.1:
            lines.append(b"{not json")
        elif kind < 0.13:
            lines.append(b"[1, 2]")
        elif kind < 0.16:
            lines.append(b'{"body": "x"}')
        elif kind < 0.19:
            lines.append(b'{"text": 5}')
        elif kind < 0.23:
            lines.append(b"   ")
        else:  # sometimes a line longer than several blocks
            words = rng.randint(3, 3000 if rng.random() < 0.02 else 200)
            lines.append(json.dumps({"text": _text(rng, words)}, ensure_ascii=rng.random() < 0.5).encode())
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    monkeypatch.setattr(readers, "CHUNK_BYTES", 2048)
    monkeypatch.setattr(importer_module, "BLOCK_CHUNKS", 1)
    monkeypatch.setattr(importer_module, "PARALLEL_MIN_BYTES", 0)
    query = 'SELECT source_line, start, "end", text, key_hash, tags, quality, rules, families FROM passages ORDER BY id'
    with Store(tmp_path / "one.db") as one:
        single = import_paths(one, [path], workers=1)
        expected = one.conn.execute(query).fetchall()
    seen: list[int] = []
    with Store(tmp_path / "two.db") as two:
        parallel = import_paths(two, [path], workers=2, progress=seen.append)
        assert two.conn.execute(query).fetchall() == expected
    assert parallel.problems == single.problems and len(single.problems) > 40
    assert single.passages_added > 300
    assert sum(seen) == path.stat().st_size


def test_blocks_of_a_file_whose_first_chunk_decodes_to_nothing(tmp_path: Path) -> None:
    # A BOM and the first byte of a four-byte character fill the first 4-byte chunk: it decodes to no
    # text, and the readings must still know where each chunk ends.
    path = tmp_path / "a.txt"
    rng = random.Random(3)
    path.write_bytes(b"\xef\xbb\xbf" + ("𝔸" + "".join(rng.choice(["𝔸", "کتاب", "\n\n", " ", "a. "])
                                                      for _ in range(400))).encode("utf-8"))
    window = Window(10, 60)
    found, resume = _joined(path, window, 4, 4)
    expected = _one_reading(path, window, 4)
    if resume is not None:
        found += [p for p in expected if p[0] >= resume]
    assert found == expected
