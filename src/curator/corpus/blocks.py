"""A big text file split and analysed in blocks by worker processes, and joined again exactly.

Each worker reads its own byte range of the file (`text_block`): the importing process sends no text
and splits nothing; it only writes what comes back. Splitting is a running state (short paragraphs are
merged into the passage before them), so a block read from its own start does not know the passage it
starts in. Its worker therefore also reads on past its end, beside the reading of the next block (which
starts there afresh), until both readings note the same mark (`split.passages`): a paragraph kept whole
that begins a passage, in the same state of the reading. From that mark on, the two readings go on
alike, so the block hands over there: it keeps its passages before the mark, the next block its
passages from the mark on (`joined`). Blocks end at multiples of the reading's chunk size, so every
reading's chunks end where those of one reading from the start of the file end, and a paragraph too
long to wait for (`split.MAX_PARAGRAPH`) is cut at the same place.

The lines of a JSONL file need no such join: a block holds the lines that begin in it (`jsonl_block`),
and its line numbers and problems are counted from its first line.

A block whose two readings never meet (a pathological file) is read on to the end of the file, and the
blocks after it give nothing: the result is then slower, never different.
"""

from __future__ import annotations

import codecs
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from curator.corpus.analysis import Analysis, analyse
from curator.corpus.readers import ByteCount, _check_start, field_text, text_chunks
from curator.corpus.split import _BREAK, Span, passages, split_text
from curator.corpus import split
from curator.jsonl import parse_line
from curator.window import Window

_CONTINUATION = frozenset(bytes([b]) for b in range(0x80, 0xC0))  # the bytes that go on a character


@dataclass
class Block:
    """What a worker returns for one block: its passages (offsets from the block's first character,
    texts as UTF-8) with their analyses, where the next block takes over (None: no block does, this one
    was read to the end of the file), where the next block's first character is, and whether the block
    found no place to hand over near its end (`lost`: it is then of no use)."""

    starts: array
    ends: array
    texts: list[bytes]
    analyses: list[Analysis]
    handover: int | None
    next_origin: int
    lost: bool = False


class _NeedMore(Exception):
    """A first look past a block's end was not enough: read the next chunk whole."""


_LOOK = 32 << 10  # bytes past a block's end read at first (the readings usually meet a few KB after it)


class _Readings:
    """A reading of a text file from `start`, and one from `stop` (`second`), the bytes from `stop` on
    decoded once for both. `origin` (where the second reading begins, in the first's characters) is
    known once the first reading is past `stop`; the second is taken only then.

    With `look`, past `stop` both readings get only the first `look` bytes of the next chunk, then
    raise _NeedMore: they yield what the readings of the whole chunk yield up to there, as long as no
    paragraph is cut at MAX_PARAGRAPH there for want of a break (a cut depends on where the text read
    so far ends). That is made sure before (`look` is less than MAX_PARAGRAPH and the text before it
    holds a complete break in its last MAX_PARAGRAPH characters), or no look is taken (`look` is 0)."""

    def __init__(self, path: Path, start: int, stop: int, chunk_bytes: int, look: int) -> None:
        self.path, self.stop, self.look = path, stop, look
        self.counter = ByteCount()
        self.source = text_chunks(path, self.counter, start, chunk_bytes)
        self.after: list[str] = []  # the chunks from `stop` on (a few: the readings meet soon after it)
        self.before = 0  # the characters of the chunks before `stop`
        self.origin: int | None = None
        self.first = self._first()

    def _fetch(self) -> bool:
        if self.look:
            if self.after:
                raise _NeedMore
            self.after.append(self._look())
            return True
        text = next(self.source, None)
        if text is not None:
            self.after.append(text)
        return text is not None

    def _look(self) -> str:
        """The first characters past `stop`: those of `look` bytes (with the one that spans `stop`)."""
        back = min(self.stop, 3)
        with self.path.open("rb") as fh:
            fh.seek(self.stop - back)
            data = fh.read(back + self.look)
        begin = back  # where the characters past `stop` begin in `data`
        if self.origin != self.before:  # a character spans `stop`: it is read from its first byte
            while begin > 0 and data[begin - 1] & 0xC0 == 0x80:
                begin -= 1
            begin -= 1
            if begin < 0:
                raise _NeedMore  # (not UTF-8: the whole reading says where)
        try:
            text = codecs.getincrementaldecoder("utf-8")("strict").decode(data[begin:])
        except UnicodeDecodeError:
            raise _NeedMore from None
        if not text:
            raise _NeedMore
        return text

    def _first(self) -> Iterator[str]:
        last = ""
        while self.counter.bytes_read < self.stop:  # the next chunk begins before `stop`
            text = next(self.source, None)
            if text is None:
                return
            self.before += len(text)
            last = text
            yield text
        with self.path.open("rb") as fh:  # a character begun before `stop` ends after it: not the second's
            fh.seek(self.stop)
            self.origin = self.before + (fh.read(1)[:1] in _CONTINUATION)
        if self.look:
            self._fetch()
            tail = (last[-split.MAX_PARAGRAPH:] + self.after[0])[-split.MAX_PARAGRAPH:]
            if not any(m.end() < len(tail) for m in _BREAK.finditer(tail)):
                raise _NeedMore  # no complete break within MAX_PARAGRAPH: a paragraph may be cut at the look's end
        at = 0
        while at < len(self.after) or self._fetch():
            yield self.after[at]
            at += 1

    def second(self) -> Iterator[str]:
        if self.origin is None:
            raise RuntimeError("the next block's reading was taken before this one reached it")
        skip, at = self.origin - self.before, 0
        while at < len(self.after) or self._fetch():
            yield self.after[at][skip:] if at == 0 else self.after[at]
            at += 1


def split_block(path: Path, start: int, stop: int, size: int, window: Window,
                chunk_bytes: int) -> tuple[list[Span], int | None, int, bool]:
    """The passages of bytes [start, stop) of a text file (offsets from the block's first character),
    the offset where the next block takes over (None if none does), the next block's first character,
    and whether no place to hand over was found within about a block's length past the end (lost).
    Past `stop`, the readings take a first look (`_LOOK` bytes) and read the next chunk whole only if
    they did not meet in it."""
    if stop >= size:
        return list(passages(text_chunks(path, ByteCount(), start, chunk_bytes), window)), None, 0, False
    look = min(_LOOK, split.MAX_PARAGRAPH // 2, chunk_bytes, size - stop - 1)
    if look > 0:
        try:
            return _split_block(_Readings(path, start, stop, chunk_bytes, look), start, stop, window)
        except _NeedMore:
            pass
    return _split_block(_Readings(path, start, stop, chunk_bytes, 0), start, stop, window)


def _split_block(readings: _Readings, start: int, stop: int, window: Window
                 ) -> tuple[list[Span], int | None, int, bool]:
    marks: list[tuple[int, int, int, int]] = []
    mine = passages(readings.first, window, marks)
    out: list[Span] = []
    while readings.origin is None:
        try:
            out.append(next(mine))
        except StopIteration:  # (the file is shorter than it was)
            return out, None, readings.before, False
    origin = readings.origin  # the next block's first character, counted from this one's
    limit = origin + (stop - start)  # (a block has at most as many characters as bytes)
    next_marks: list[tuple[int, int, int, int]] = []
    theirs = passages(readings.second(), window, next_marks)
    mine_at = theirs_at = 0  # the marks looked at so far
    while True:
        while mine_at >= len(marks) or marks[mine_at][0] < origin:
            if mine_at < len(marks):
                mine_at += 1
                continue
            try:
                out.append(next(mine))
            except StopIteration:  # read to the end of the file: no block takes over
                return out, None, origin, False
            if out[-1].start > limit:
                return out, None, origin, True
        while theirs_at >= len(next_marks):
            try:
                span = next(theirs)
            except StopIteration:  # the next block's reading ended without meeting this one's
                out.extend(mine)  # (within `limit`: neither reading found a mark before it)
                return out, None, origin, False
            if span.start + origin > limit:
                return out, None, origin, True
        ours, theirs_mark = marks[mine_at], tuple(x + origin for x in next_marks[theirs_at])
        if ours == theirs_mark:
            handover = ours[0]
            return [p for p in out if p.start < handover], handover, origin, False
        if ours[0] <= theirs_mark[0]:
            mine_at += 1
        if theirs_mark[0] <= ours[0]:
            theirs_at += 1


def text_block(path: Path, start: int, stop: int, size: int, window: Window, chunk_bytes: int) -> Block:
    """Split and analyse one block of a text file (what a worker process does)."""
    spans, handover, origin, lost = split_block(path, start, stop, size, window, chunk_bytes)
    if lost:
        return Block(array("q"), array("q"), [], [], None, origin, True)
    starts, ends = array("q", [s.start for s in spans]), array("q", [s.end for s in spans])
    texts = [s.text for s in spans]
    del spans
    analyses = analyse(texts, window)  # (before the texts are encoded: the two peaks of memory apart)
    return Block(starts, ends, _utf8(texts), analyses, handover, origin)


def _utf8(texts: list[str]) -> list[bytes]:
    """The texts as UTF-8, each let go of once encoded (the list is emptied)."""
    out = [t.encode("utf-8") for t in texts]
    texts.clear()
    return out


class Joined:
    """The passages of consecutive blocks of one file, in order, as one reading of the whole file yields
    them, a list a block: (line None, start, end, UTF-8 text, analysis), offsets from the file's first
    character. If a block is lost, the iteration stops there and `resume` is the offset where the
    passages not given yet begin (the rest must be read from the start of the file, those before it
    skipped)."""

    def __init__(self, blocks: Iterable[Block]) -> None:
        self.blocks, self.resume = blocks, None

    def __iter__(self) -> Iterator[list[tuple[None, int, int, bytes, Analysis]]]:
        base = 0  # the block's first character, from the file's
        covered = 0  # the passages before this offset were given
        for block in self.blocks:
            if block.lost:
                self.resume = covered
                return
            first = bisect_left(block.starts, covered - base)  # (those before were given by a block before)
            yield [(None, base + start, base + end, text, analysis) for start, end, text, analysis
                   in zip(block.starts[first:], block.ends[first:], block.texts[first:], block.analyses[first:])]
            if block.handover is None:
                return  # read to the end of the file
            covered = max(covered, base + block.handover)
            base += block.next_origin


@dataclass
class Lines:
    """What a worker returns for one block of a JSONL file: the lines that begin in it, each passage's
    line number (from the block's first line), offsets in its record and UTF-8 text with its analysis,
    the problems of its bad lines (line number, what is wrong) and how many lines it holds."""

    lines: array
    starts: array
    ends: array
    texts: list[bytes]
    analyses: list[Analysis]
    problems: list[tuple[int, str]]
    count: int


def _line_start(fh: BinaryIO, at: int, size: int) -> int:
    """Where the first line that begins at byte `at` or after begins (`size` if none does)."""
    if at == 0:
        return 0
    fh.seek(at - 1)
    where = at - 1
    while piece := fh.read(1 << 16):
        found = piece.find(b"\n")
        if found >= 0:
            return where + found + 1
        where += len(piece)
    return size


def jsonl_block(path: Path, start: int, stop: int, size: int, field: str, window: Window) -> Lines:
    """Read, split and analyse the lines of a JSONL file that begin in bytes [start, stop) (what a worker
    process does): each line as `readers.jsonl_records` reads it."""
    lines, starts, ends, texts = array("q"), array("q"), array("q"), []
    problems: list[tuple[int, str]] = []
    number = 0
    with path.open("rb") as fh:
        if start == 0:
            _check_start(path, fh.read(8192))
        first, last = _line_start(fh, start, size), _line_start(fh, stop, size) if stop < size else size
        fh.seek(first)
        at = first
        while at < last and (raw := fh.readline()):
            at += len(raw)
            number += 1
            obj = parse_line(raw, first == 0 and number == 1)
            if obj is None:
                continue
            if isinstance(obj, str):
                problems.append((number, obj))
                continue
            value, problem = field_text(obj, field)
            if problem is not None:
                problems.append((number, problem))
            elif value is not None:
                for span in split_text(value, window):
                    lines.append(number)
                    starts.append(span.start)
                    ends.append(span.end)
                    texts.append(span.text)
    analyses = analyse(texts, window)
    return Lines(lines, starts, ends, _utf8(texts), analyses, problems, number)
