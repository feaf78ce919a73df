"""curator's corpus stages as datatrove pipeline steps (imported only when a preparation runs).

A passage travels as a datatrove Document: `text` is the passage exactly as in the source, the
metadata carries where it sits (source path, sha256, size, line, start, end), its classification,
its match-key hash and the task that read it. The steps reuse the direct import's own code
(`file_spans`, `classify`, `key_hash`), so both paths compute the same passages.
"""

from __future__ import annotations

import json
import re
import struct
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.pipeline.writers.parquet import ParquetWriter
from datatrove.utils.binaryio import read_tuples_from_file
from datatrove.utils.word_tokenizers import WordTokenizer

from curator.corpus import prepared
from curator.corpus.classify import classify
from curator.corpus.readers import ByteCount, CorpusError, file_sha256, text_chunks
from curator.corpus.spans import file_spans
from curator.scale.plan import Plan
from curator.text.normalize import key_hash, match_key

_ROW_FIELDS = tuple(name for name, _ in prepared.COLUMNS if name != "text")


class ReadPassages(PipelineStep):
    """Read this task's files (txt/md/jsonl/Parquet) and split them into passages with their offsets.

    A file is skipped whole, as the direct import skips it, when it cannot be read: a text file's
    bytes are checked before any of its passages goes on. Problems go to `work/problems/<task>.json`.
    """

    type = "📖 - READER"
    name = "curator passages"

    def __init__(self, plan: Plan):
        super().__init__()
        self.plan = plan

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        problems: list[str] = []
        for source in self.plan.files_of(rank):
            path = Path(source.absolute)
            try:
                sha = file_sha256(path)
                if path.suffix.lower() in (".txt", ".md"):
                    deque(text_chunks(path, ByteCount()), maxlen=0)  # bad bytes skip the file before it starts
                spans = file_spans(path, self.plan.field_name, self.plan.window, ByteCount(), problems)
                self.stat_update("files")
                for span, line in spans:
                    self.stat_update("passages")
                    yield Document(span.text, f"{source.path}#{line or 0}:{span.start}", metadata={
                        "source_path": source.path, "source_sha256": sha, "source_size": source.size,
                        "source_line": line, "start": span.start, "end": span.end, "task": rank})
            except CorpusError as exc:
                problems.append(str(exc))
            except OSError as exc:
                problems.append(f"{source.path}: cannot read ({exc.strerror or exc})")
        folder = self.plan.folder("problems")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{rank:05d}.json").write_text(json.dumps(problems, ensure_ascii=False), encoding="utf-8")
        self.stat_update("problems", value=len(problems))


class ClassifyPassages(PipelineStep):
    """Heuristic classification: tags, quality, the rules that fired, and the families a passage serves."""

    type = "🏷 - CLASSIFIER"
    name = "curator classify"

    def __init__(self, plan: Plan):
        super().__init__()
        self.window = plan.window

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                c = classify(doc.text, self.window)
                doc.metadata.update(tags=c.tags, quality=c.quality, rules=c.rules, families=c.families)
                self.stat_update(f"quality_{c.quality}")
            yield doc


class MatchKeyHash(PipelineStep):
    """The match-key hash the store keys passages on (`curator.text.normalize.key_hash`)."""

    type = "🔑 - KEY"
    name = "curator match key"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                doc.metadata["key_hash"] = key_hash(doc.text)
            yield doc


def passage_row(writer: Any, doc: Document) -> dict[str, Any]:
    """A Document as a row of a prepared shard (a ParquetWriter adapter)."""
    return {"text": doc.text, **{name: doc.metadata[name] for name in _ROW_FIELDS}}


def shard_writer(folder: Path) -> ParquetWriter:
    """Passages to `<folder>/<task>.parquet` in the prepared-shard schema (one file a task)."""
    return ParquetWriter(str(folder), output_filename="${rank}.parquet", adapter=passage_row,
                         schema=prepared.schema(), max_file_size=-1, use_content_defined_chunking=False)


class ReadShard(PipelineStep):
    """Read back what an earlier stage of the same task wrote (`<folder>/<task>.parquet`), in order."""

    type = "📖 - READER"
    name = "curator shard"

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = str(folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = Path(self.folder) / f"{rank:05d}.parquet"
        if not path.exists():  # the task had no passage
            return
        for rows in prepared.shard_rows(path):
            for row in rows:
                text = row.pop("text")
                row["task"] = rank
                yield Document(text, f"{row['source_path']}#{row['source_line'] or 0}:{row['start']}", metadata=row)


def passage_key(doc: Document) -> bytes:
    """What exact dedup compares: the match-key hash (its bytes: datatrove hashes them again)."""
    return bytes.fromhex(doc.metadata["key_hash"])


def passage_priority(doc: Document) -> int:
    """Earlier tasks win among exact duplicates (then the earlier passage in a task): import order."""
    return 65535 - doc.metadata["task"]


class MatchKeyWords(WordTokenizer):
    """Words of a match key: it is folded already, so white space separates them."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


_PUNCTUATION = re.compile(r"[^\w\s\u200c]")  # anything but letters, digits, spaces and ZWNJ


def xxhash64_text(text: str) -> int:
    """64-bit xxhash of a shingle's UTF-8 bytes (datatrove 0.10 hands xxhash 4 a str, which it refuses)."""
    return xxhash.xxh64_intdigest(text.encode("utf-8"))


class MatchKeySignature(MinhashDedupSignature):
    """datatrove's MinHash signatures, computed on the match key (Persian variants compare equal)."""

    def __init__(self, output_folder: str, config: Any = None):
        super().__init__(output_folder, config, language=MatchKeyWords())
        if self.config.hash_config.hash_fc == "xxhash" and self.config.hash_config.precision == 64:
            self._hash_func = xxhash64_text

    def get_shingles(self, text: str) -> Any:
        """The hashed word n-grams of the match key with its punctuation taken out (what datatrove's
        `simplify_text` does, a character at a time, for a fifth of this step's time: the match key is
        lower-cased, folded and spaced already)."""
        words = _PUNCTUATION.sub(" ", match_key(text)).split()
        n = self.config.n_grams
        grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
        return np.fromiter(map(self._hash_func, grams), dtype=np.uint64, count=len(grams)).reshape((-1, 1))


class KeepFirstCluster(PipelineStep):
    """MinHash stage 3, keeping the FIRST passage of each cluster (lowest task, then place in it):
    datatrove's own clustering keeps whichever root its union happens to pick."""

    type = "🫂 - DEDUP"
    name = "curator keep-first clusters"

    def __init__(self, input_folder: str, output_folder: str):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> None:
        parent: dict[tuple[int, int], tuple[int, int]] = {}

        def root(x: tuple[int, int]) -> tuple[int, int]:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        with self.track_time():
            for name in self.input_folder.list_files(glob_pattern="*.dups"):
                with self.input_folder.open(name, "rb") as fh:
                    for f1, d1, f2, d2 in read_tuples_from_file(fh, "4I"):
                        a, b = root((f1, d1)), root((f2, d2))
                        if a != b:
                            parent[max(a, b)] = min(a, b)
            with self.output_folder.get_output_file_manager(mode="wb") as out:
                for node in sorted(parent):
                    if root(node) != node:
                        out.write(f"{node[0]:06d}.remove", struct.pack("<I", node[1]))
                        self.stat_update("to_remove")
