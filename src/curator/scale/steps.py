"""curator's corpus stages as datatrove pipeline steps (imported only when a preparation runs).

A passage travels as a datatrove Document: `text` is the passage exactly as in the source, the
metadata carries where it sits (source path, sha256, size, line, start, end), its classification,
its match-key hash and the task that read it. The steps reuse the direct import's own code
(`file_spans`, `classify`, `key_hash`), so both paths compute the same passages.
"""

from __future__ import annotations

import json
import re
from collections import Counter, deque
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature, _mersenne_prime as _MERSENNE_PRIME
from datatrove.utils.binaryio import read_tuples_from_file
from datatrove.utils.typeshelper import ExtensionHelperSD, StatHints
from datatrove.utils.word_tokenizers import WordTokenizer

from curator.batching import batched
from curator.corpus import prepared
from curator.corpus.batch import classify_batch
from curator.corpus.readers import ByteCount, CorpusError, file_sha256, text_chunks
from curator.corpus.spans import file_spans
from curator.scale.plan import Plan
from curator.text.normalize import hash_of_key, match_key, match_keys

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


class _BatchStep(PipelineStep):
    """A step that handles BATCH documents at once (`annotate`), in their order."""

    BATCH = 1024

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for batch in batched(data, self.BATCH):
            yield from self._annotated(batch)

    def _annotated(self, batch: list[Document]) -> DocumentsPipeline:
        with self.track_time():
            self.annotate(batch)
        yield from batch

    def annotate(self, batch: list[Document]) -> None:
        raise NotImplementedError


class ClassifyPassages(_BatchStep):
    """Heuristic classification: tags, quality, the rules that fired, and the families a passage serves
    (`classify_batch`, a batch at once)."""

    type = "🏷 - CLASSIFIER"
    name = "curator classify"

    def __init__(self, plan: Plan):
        super().__init__()
        self.window = plan.window

    def annotate(self, batch: list[Document]) -> None:
        qualities: Counter[str] = Counter()
        for doc, c in zip(batch, classify_batch([doc.text for doc in batch], self.window)):
            doc.metadata.update(tags=c.tags, quality=c.quality, rules=c.rules, families=c.families)
            qualities[c.quality] += 1
        for quality, count in qualities.items():
            self.stat_update(f"quality_{quality}", value=count)


class MatchKeyHash(_BatchStep):
    """The match-key hash the store keys passages on (`curator.text.normalize.key_hash`; `match_keys`:
    one pass over a batch). With `keep_keys`, the match key stays in the metadata (`match_key`) for
    `MatchKeySignature`, which takes it out."""

    type = "🔑 - KEY"
    name = "curator match key"

    def __init__(self, keep_keys: bool = False):
        super().__init__()
        self.keep_keys = keep_keys

    def annotate(self, batch: list[Document]) -> None:
        for doc, key in zip(batch, match_keys([doc.text for doc in batch])):
            doc.metadata["key_hash"] = hash_of_key(key)
            if self.keep_keys:
                doc.metadata["match_key"] = key


class WriteShard(PipelineStep):
    """Passages to `<folder>/<task>.parquet` in the prepared-shard schema, passed on: a batch of rows at
    a time (pyarrow from columns, not a dict a row), into a partial file renamed once the task's last
    passage is in. No shard when the task has no passage."""

    type = "💽 - WRITER"
    name = "curator shard"
    BATCH = 4096

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = str(folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = Path(self.folder) / f"{rank:05d}.parquet"
        partial = target.with_name(f".{target.name}.partial")
        schema, writer = prepared.schema(), None
        try:
            for batch in batched(data, self.BATCH):
                with self.track_time():
                    if writer is None:
                        partial.parent.mkdir(parents=True, exist_ok=True)
                        writer = pq.ParquetWriter(partial, schema, compression="snappy")
                    columns = {"text": [doc.text for doc in batch]}
                    columns.update((name, [doc.metadata[name] for doc in batch]) for name in _ROW_FIELDS)
                    writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema))
                self.stat_update(StatHints.total, value=len(batch))
                yield from batch
        finally:
            if writer is not None:
                writer.close()
        if writer is not None:
            partial.replace(target)


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
    """datatrove's MinHash signatures, computed on the match key (Persian variants compare equal).

    The signatures are datatrove's own (the same permutations of the same shingles), computed for a
    batch of documents at once: the batch's match keys in one pass (`match_keys`), then every shingle
    of the batch through every permutation in blocks, and each document's minimum by `np.minimum.reduceat`.
    `run` writes the files datatrove's stage 1 writes (`bucket_<band>/<task>.minhash.sig`: per band, a
    record of the band's hashes and the document's index in the task, sorted), a batch of records a band
    at a time, and passes the documents on: the step can sit inside a stage instead of ending one.
    """

    BATCH = 1024  # documents a batch
    BLOCK = 1024  # shingles a block: the (block x permutations) values stay in the cache

    def __init__(self, output_folder: str, config: Any = None):
        super().__init__(output_folder, config, language=MatchKeyWords())
        if self.config.hash_config.hash_fc == "xxhash" and self.config.hash_config.precision == 64:
            self._hash_func = xxhash64_text

    @property
    def record(self) -> np.dtype:
        return band_record(self.config)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        bands, width = self.config.num_buckets, self.config.hashes_per_bucket
        names = [f"bucket_{band:03d}/{rank:05d}.minhash.sig" for band in range(bands)]
        files = [self.output_folder.open(name, mode="wb") for name in names]
        seen = signed = 0
        try:
            for batch in batched(data, self.BATCH):
                with self.track_time():
                    keys = [doc.metadata.pop("match_key", None) for doc in batch]
                    texts = [doc.text for doc in batch]
                    docs, mins = self.signature_matrix(texts, None if None in keys else keys)
                    records = np.empty((len(docs), bands), dtype=self.record)
                    records["sig"] = mins.reshape(len(docs), bands, width)
                    records["doc"] = (docs + seen)[:, None]
                    for band, fh in enumerate(files):
                        fh.write(np.ascontiguousarray(records[:, band]).tobytes())
                    seen, signed = seen + len(batch), signed + len(docs)
                self.stat_update(StatHints.total, value=len(batch))
                yield from batch
        finally:
            for fh in files:
                fh.close()
        with self.track_time():
            for name in names:
                self._sort(name, signed)

    def _sort(self, name: str, count: int) -> None:
        """Sort a band's file by (hashes, document), datatrove's order; its size is checked first."""
        with self.output_folder.open(name, mode="rb") as fh:
            raw = fh.read()
        if len(raw) != count * self.record.itemsize:
            raise ValueError(f"{name}: {len(raw)} bytes of MinHash signatures, expected "
                             f"{count * self.record.itemsize} ({count} documents)")
        records = np.frombuffer(raw, dtype=self.record)
        with self.output_folder.open(name, mode="wb") as fh:
            fh.write(records[_record_order(records["sig"], records["doc"])].tobytes())

    def signature_matrix(self, texts: list[str], keys: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The texts that have a shingle (their places in `texts`) and their signatures, one row each
        (datatrove's `get_signature`, its bands side by side, in the hash's numpy type). `keys`: the
        texts' match keys, when they are known already."""
        keys = match_keys(texts) if keys is None else keys
        if self._hash_func is xxhash64_text:
            shingles, counts = self._batch_shingles(keys)
        else:
            each = [self.shingles(text, key) for text, key in zip(texts, keys)]
            shingles = np.concatenate(each) if each else np.zeros(0, dtype=np.uint64)
            counts = np.array([len(s) for s in each], dtype=np.int64)
        hc = self.config.hash_config
        docs = np.flatnonzero(counts)
        if not len(docs):
            return docs, np.zeros((0, self.num_hashes), dtype=hc.np_dtype)
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        a, b = self.parameters
        parts = []
        lo_doc = 0
        while lo_doc < len(docs):  # blocks of whole documents, about BLOCK shingles each
            hi_doc = max(lo_doc + 1, int(np.searchsorted(offsets[docs + 1], offsets[docs[lo_doc]] + self.BLOCK,
                                                            side="right")))
            block = docs[lo_doc:hi_doc]
            lo, hi = offsets[block[0]], offsets[block[-1] + 1]
            phv = np.multiply(shingles[lo:hi, None], a)  # datatrove's arithmetic, wrapping
            if hc.precision == 32:
                phv = np.bitwise_and(_mod_mersenne61(phv, b), hc.max)
                parts.append(np.minimum.reduceat(phv, offsets[block] - lo, axis=0).astype(hc.np_dtype))
            else:
                parts.append(_min_mod_mersenne61(phv, b, offsets[block] - lo))
            lo_doc = hi_doc
        return docs, np.concatenate(parts)

    def signatures(self, texts: list[str]) -> list[list[list[int]] | None]:
        """Each text's signature as datatrove's `get_signature` makes it (None: the text has no shingle)."""
        docs, mins = self.signature_matrix(texts)
        out: list[list[list[int]] | None] = [None] * len(texts)
        for doc, row in zip(docs.tolist(), mins.reshape(len(docs), self.config.num_buckets, -1).tolist()):
            out[doc] = row
        return out

    def shingles(self, text: str, key: str | None = None) -> np.ndarray:
        """The hashed word n-grams of the match key with its punctuation taken out (what datatrove's
        `simplify_text` does, a character at a time, for a fifth of this step's time: the match key is
        lower-cased, folded and spaced already)."""
        words = _PUNCTUATION.sub(" ", match_key(text) if key is None else key).split()
        n = self.config.n_grams
        grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
        return np.fromiter(map(self._hash_func, grams), dtype=np.uint64, count=len(grams))

    def _batch_shingles(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`shingles` of every key of a batch, concatenated, and how many each key has: the keys, their
        punctuation made spaces, one line each in one UTF-8 buffer; an n-gram is the bytes from its first
        word's start to its last word's end (one space between words, as `" ".join` puts them), hashed
        straight from the buffer."""
        n = self.config.n_grams
        buffer = _words_by_line(keys).encode("utf-8")
        codes = np.frombuffer(buffer, dtype=np.uint8)
        breaks = np.flatnonzero(codes == 10)
        bounds = np.flatnonzero((codes == 10) | (codes == 32))
        starts = np.concatenate([[0], bounds + 1])
        ends = np.concatenate([bounds, [len(codes)]])
        word = ends > starts  # an empty key is an empty line: no word
        starts, ends = starts[word], ends[word]
        line = np.searchsorted(breaks, starts)
        if len(starts) < n:
            return np.zeros(0, dtype=np.uint64), np.zeros(len(keys), dtype=np.int64)
        inside = line[: len(line) - n + 1] == line[n - 1:]
        first, last = starts[: len(starts) - n + 1][inside], ends[n - 1:][inside]
        hashes = np.fromiter(map(xxhash.xxh64_intdigest, map(buffer.__getitem__, map(slice, first.tolist(),
                                                                                        last.tolist()))),
                             dtype=np.uint64, count=len(first))
        return hashes, np.bincount(line[: len(line) - n + 1][inside], minlength=len(keys))


_SHIFT61 = np.uint64(61)
_PUNCT_TABLE = np.zeros(0x110000, dtype=np.uint8)  # 0: not looked at yet, 1: kept, 2: punctuation


def _words_by_line(keys: list[str]) -> str:
    """The keys one a line (they hold no line break), their `_PUNCTUATION` made spaces, runs of spaces
    squeezed, no space at a line's ends: what `" ".join(_PUNCTUATION.sub(" ", key).split())` gives each
    key (the key's white space is single plain spaces already), with numpy over the whole batch."""
    codes = np.frombuffer("\n".join(keys).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    kinds = _PUNCT_TABLE[codes]
    if not kinds.all():
        for cp in np.unique(codes[kinds == 0]).tolist():
            _PUNCT_TABLE[cp] = 2 if _PUNCTUATION.fullmatch(chr(cp)) else 1
        kinds = _PUNCT_TABLE[codes]
    codes = np.where(kinds == 2, np.uint32(32), codes)
    if len(codes) > 1:  # squeeze: a space after a space goes
        space = codes == 32
        repeated = np.zeros(len(codes), dtype=bool)
        np.logical_and(space[1:], space[:-1], out=repeated[1:])
        codes = codes[~repeated]
    line_end = np.array([10], dtype=np.uint32)
    padded = np.concatenate([line_end, codes, line_end])  # the buffer's ends are line ends
    drop = (codes == 32) & ((padded[:-2] == 10) | (padded[2:] == 10))
    return codes[~drop].tobytes().decode("utf-32-le", "surrogatepass")


def _record_order(sig: np.ndarray, *after: np.ndarray) -> np.ndarray:
    """The order that sorts rows by (hash 1, ..., hash k, then the `after` keys), as datatrove's
    `records.sort(order=...)` and its merge of sorted files do: by the first hash (the hashes are
    uniform, so it almost always decides), then the runs that tie on it by every key (`np.lexsort`)."""
    first = sig[:, 0]
    order = np.argsort(first, kind="stable")
    ranked = first[order]
    same = ranked[1:] == ranked[:-1]
    if same.any():
        tied = np.zeros(len(order), dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        runs = order[tied]  # runs of equal first hashes, in ascending order of it
        keys = [key[runs] for key in reversed(after)] + [sig[runs, j] for j in range(sig.shape[1] - 1, -1, -1)]
        order[tied] = runs[np.lexsort(keys)]
    return order


def _min_mod_mersenne61(values: np.ndarray, add: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """`np.minimum.reduceat((values + add) % (2**61 - 1), starts, axis=0)` (uint64, wrapping), `values`
    overwritten. hi + lo (below) is the remainder unless it is p or more, which needs lo within 8 of p
    (about one value in 2^58): the block skips `_mod_mersenne61`'s subtraction unless it has one."""
    values += add
    folded = values >> _SHIFT61
    values &= _MERSENNE_PRIME
    folded += values
    if folded.max(initial=0) >= _MERSENNE_PRIME:
        np.subtract(folded, _MERSENNE_PRIME, out=values)
        np.minimum(folded, values, out=folded)
    return np.minimum.reduceat(folded, starts, axis=0)


def _mod_mersenne61(values: np.ndarray, add: np.ndarray) -> np.ndarray:
    """`(values + add) % (2**61 - 1)` (uint64, wrapping) without a division, `values` overwritten: v =
    hi * 2^61 + lo, and 2^61 = 1 (mod p), so v = hi + lo (mod p); hi + lo < 2p needs at most one
    subtraction, and min(x, x - p) (wrapping) is that. In place: two arrays, not seven."""
    values += add
    out = values >> _SHIFT61
    values &= _MERSENNE_PRIME
    out += values
    np.subtract(out, _MERSENNE_PRIME, out=values)
    np.minimum(out, values, out=out)
    return out


def band_record(config: Any) -> np.dtype:
    """A band's record in datatrove's signature files (`<{hashes per band}{hash}I`, no padding)."""
    hc = config.hash_config
    return np.dtype([("sig", f"<{hc.struct_format}", (config.hashes_per_bucket,)), ("doc", "<u4")])


class BandPairs(PipelineStep):
    """MinHash stage 2, one task a band: the `.dups` file datatrove's MinhashDedupBuckets writes (every
    two neighbours with the same band hashes in the merged order of the tasks' sorted signature files:
    hashes, then file, then document), with numpy instead of a heap a record at a time.

    The files are mapped, not read: a slice of the first hash's range at a time (about CHUNK records,
    cut where the data's quantiles say) is taken from each file by binary search, sorted and compared,
    so memory stays bounded however many passages there are; equal hashes never straddle two slices.

    With `exact_folder` (datatrove's exact duplicates, `*/<task>.c4_dup`: the signatures were made before
    exact dedup), their records are left out first: the pairs are those of the passages that survive
    exact dedup, as if only those had been signed, and an exact duplicate never joins a cluster."""

    type = "🫂 - DEDUP"
    name = "curator band pairs"
    CHUNK = 1 << 20

    def __init__(self, input_folder: Path, output_folder: Path, config: Any, exact_folder: Path | None = None):
        super().__init__()
        self.input_folder, self.output_folder, self.config = str(input_folder), str(output_folder), config
        self.exact_folder = str(exact_folder) if exact_folder else None

    def exact_duplicates(self, task: int) -> np.ndarray:
        """The sorted indices of a task's exact duplicates."""
        if not self.exact_folder:
            return np.zeros(0, dtype=np.uint32)
        found = [np.fromfile(f, dtype="<u4") for f in
                 Path(self.exact_folder).glob(f"*/{task:05d}{ExtensionHelperSD.stage_2_duplicates}")]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint32)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> None:
        if world_size != self.config.num_buckets:
            raise ValueError(f"band pairs run one task a band: {self.config.num_buckets} tasks, not {world_size}")
        files = sorted((Path(self.input_folder) / f"bucket_{rank:03d}").glob("*.minhash.sig"))
        stems = np.array([int(f.name.removesuffix(".minhash.sig")) for f in files], dtype="<u4")
        record = band_record(self.config)
        maps = [np.memmap(f, dtype=record, mode="r") if f.stat().st_size else np.zeros(0, dtype=record)
                for f in files]
        exact = [self.exact_duplicates(int(stem)) for stem in stems]
        out = Path(self.output_folder) / f"{rank:05d}_00.dups"
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        with self.track_time(), partial.open("wb") as fh:
            for lo, hi in self._slices(maps):
                spans = [(i, int(np.searchsorted(m["sig"][:, 0], lo)),
                          len(m) if hi is None else int(np.searchsorted(m["sig"][:, 0], hi))) for i, m in enumerate(maps)]
                parts = [(i, maps[i][a:b]) for i, a, b in spans if b > a]
                parts = [(i, part[~np.isin(part["doc"], exact[i])] if len(exact[i]) else part) for i, part in parts]
                parts = [(i, part) for i, part in parts if len(part)]
                if not parts:
                    continue
                records = np.concatenate([part for _, part in parts])
                file_ids = np.repeat([i for i, _ in parts], [len(part) for _, part in parts])
                order = _record_order(records["sig"], file_ids, records["doc"])
                sig, docs, file_ids = records["sig"][order], records["doc"][order], file_ids[order]
                same = np.flatnonzero((sig[1:] == sig[:-1]).all(axis=1))
                pairs = np.empty((len(same), 4), dtype="<u4")
                pairs[:, 0], pairs[:, 1] = stems[file_ids[same]], docs[same]
                pairs[:, 2], pairs[:, 3] = stems[file_ids[same + 1]], docs[same + 1]
                fh.write(pairs.tobytes())
                self.stat_update("total_matches", value=len(same))
        partial.replace(out)

    def _slices(self, maps: list[np.ndarray]) -> list[tuple[int, int | None]]:
        """Ranges [lo, hi) of the first hash holding about CHUNK records each (None: no upper end), cut
        at quantiles of a sample of every file (the minima are far from uniform)."""
        total = sum(len(m) for m in maps)
        if total <= self.CHUNK:
            return [(0, None)]
        slices = -(-total // self.CHUNK)
        step = max(1, self.CHUNK // 64)
        sample = np.sort(np.concatenate([m["sig"][::step, 0] for m in maps if len(m)]))
        cuts = np.unique(sample[(np.arange(1, slices) * len(sample)) // slices]).tolist()
        return list(zip([0, *cuts], [*cuts, None]))


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
            by_task: dict[int, list[int]] = {}
            for node in parent:
                if root(node) != node:
                    by_task.setdefault(node[0], []).append(node[1])
                    self.stat_update("to_remove")
            for task, docs in sorted(by_task.items()):
                with self.output_folder.open(f"{task:06d}.remove", "wb") as out:
                    out.write(np.array(sorted(docs), dtype="<u4").tobytes())


class DropListed(PipelineStep):
    """The last stage of a task: its shard of stage 1 less the passages listed by index (datatrove's
    exact duplicates `*/<task>.c4_dup`, the clusters' `<task>.remove`), written as the output shard with
    pyarrow a record batch at a time (no Document a row), atomically. No shard when no passage is left."""

    type = "🫂 - DEDUP"
    name = "curator drop listed"
    BATCH_ROWS = 8192

    def __init__(self, shard_folder: Path, out_folder: Path, *, exact_folder: Path | None = None,
                 remove_folder: Path | None = None):
        super().__init__()
        self.shard_folder, self.out_folder = str(shard_folder), str(out_folder)
        self.exact_folder = str(exact_folder) if exact_folder else None
        self.remove_folder = str(remove_folder) if remove_folder else None

    def listed(self, rank: int) -> np.ndarray:
        """The sorted indices (in the task's shard) of the passages to drop."""
        files = []
        if self.exact_folder:
            files += Path(self.exact_folder).glob(f"*/{rank:05d}{ExtensionHelperSD.stage_2_duplicates}")
        if self.remove_folder:
            files.append(Path(self.remove_folder) / f"{rank:06d}.remove")
        found = [np.fromfile(f, dtype="<u4") for f in files if f.exists()]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint32)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        source = Path(self.shard_folder) / f"{rank:05d}.parquet"
        if not source.exists():  # the task had no passage
            return
        target = Path(self.out_folder) / source.name
        partial = target.with_name(f".{target.name}.partial")
        with self.track_time():
            drop = self.listed(rank)
            shard = pq.ParquetFile(source)
            writer, seen = None, 0
            try:
                for batch in shard.iter_batches(batch_size=self.BATCH_ROWS):
                    index = np.arange(seen, seen + batch.num_rows)
                    keep = ~np.isin(index, drop[(drop >= seen) & (drop < seen + batch.num_rows)])
                    seen += batch.num_rows
                    kept = int(keep.sum())
                    self.stat_update(StatHints.total, value=batch.num_rows)
                    self.stat_update(StatHints.dropped, value=batch.num_rows - kept)
                    self.stat_update(StatHints.forwarded, value=kept)
                    if kept:
                        if writer is None:
                            partial.parent.mkdir(parents=True, exist_ok=True)
                            writer = pq.ParquetWriter(partial, shard.schema_arrow, compression="snappy")
                        writer.write_batch(batch.filter(pa.array(keep)))
            finally:
                if writer is not None:
                    writer.close()
            if writer is not None:
                partial.replace(target)
