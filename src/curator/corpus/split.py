"""Split text into passages at paragraph and sentence boundaries, keeping exact character offsets.

Every span satisfies `source[span.start:span.end] == span.text`. Text arrives as a stream of chunks,
so a 1 GB file never sits in memory: only the paragraph being read and the passage being built do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from curator.window import Window

# A paragraph break: a line break followed by one or more blank lines.
_BREAK = re.compile(r"\n(?:[^\S\n]*\n)+")
# A sentence ends at . ! ? ؟ ؛ … (closing quotes or brackets may follow) before white space, or at a line break.
_SENTENCE_END = re.compile(r"(?:[.!?؟؛…]+[\"'»”)\]]*(?=\s)|\n)")
_WS = " \t\r\n\f\v\u00a0\u200c\u200f\u200e\ufeff"
# A paragraph with no break in this many characters is cut at its last sentence end.
MAX_PARAGRAPH = 64_000


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of the source text and where it sits: `source[start:end] == text`."""

    start: int
    end: int
    text: str

    def __len__(self) -> int:
        return self.end - self.start


def _stripped(text: str, base: int) -> Span | None:
    body = text.strip(_WS)
    if not body:
        return None
    left = len(text) - len(text.lstrip(_WS))
    return Span(base + left, base + left + len(body), body)


def _cut_point(text: str, lo: int, hi: int) -> int:
    """The last sentence end (else white space, else `hi`) in text[lo:hi], as an index after it."""
    best = None
    for m in _SENTENCE_END.finditer(text, lo, hi):
        best = m.end()
    if best is None or best <= lo:
        space = max(text.rfind(" ", lo, hi), text.rfind("\n", lo, hi))
        best = space + 1 if space > lo else hi
    return best


def paragraphs(chunks: Iterable[str]) -> Iterator[tuple[Span, str, int, int]]:
    """Yield each paragraph with the exact text that separates it from the previous one, where the
    reading resumes after it and where the text read so far ends. With the paragraph's end these are
    the whole state of the reading: two readings of the same text (from different starts, with chunks
    ending at the same places) that yield a paragraph in the same state go on alike."""
    buf = ""  # the source from offset `base` on
    base = 0  # offset of buf[0]
    prev_end = 0  # end of the last paragraph yielded
    scan = 0  # offset where the next paragraph starts
    for chunk in chunks:
        buf = buf[prev_end - base:] + chunk  # trimmed once a chunk, not once a paragraph
        base = prev_end
        read = base + len(buf)
        while True:
            m = _BREAK.search(buf, scan - base)
            if m is None or m.end() == len(buf):  # no break yet, or one that may go on in the next chunk
                if len(buf) - (scan - base) <= MAX_PARAGRAPH:
                    break
                cut = base + _cut_point(buf, scan - base, scan - base + MAX_PARAGRAPH)
                brk_start = brk_end = cut
            else:
                brk_start, brk_end = base + m.start(), base + m.end()
            span = _stripped(buf[scan - base: brk_start - base], scan)
            if span is not None:
                yield span, buf[prev_end - base: span.start - base], brk_end, read
                prev_end = span.end
            scan = brk_end
    span = _stripped(buf[scan - base:], scan)
    if span is not None:
        yield span, buf[prev_end - base: span.start - base], base + len(buf), base + len(buf)


def sentences_packed(para: Span, max_chars: int) -> Iterator[Span]:
    """Cut a long paragraph into pieces of at most `max_chars`, at sentence ends where possible."""
    text, pos = para.text, 0
    while pos < len(text):
        if len(text) - pos <= max_chars:
            cut = len(text)
        else:
            cut = _cut_point(text, pos, pos + max_chars)
        piece = _stripped(text[pos:cut], para.start + pos)
        if piece is not None:
            yield piece
        pos = cut


def passages(chunks: Iterable[str], window: Window = Window(), marks: list[tuple[int, int, int, int]] | None = None
             ) -> Iterator[Span]:
    """Pack paragraphs into passages inside the window: short ones are merged, long ones split.

    With `marks`, each paragraph kept whole that begins a passage is noted there (its start and end and
    `paragraphs`' state after it) before the passage in front of it is yielded: two packings that note
    the same mark go on alike from there (`curator.corpus.blocks` joins blocks of a file so)."""
    pending: Span | None = None
    low, high = window.min_chars, window.max_chars
    for para, gap, resume, read in paragraphs(chunks):
        # (lengths as end - start: this loop runs once a paragraph, and `len(span)` is a Python call)
        whole = para.end - para.start <= high
        pieces = [para] if whole else list(sentences_packed(para, high))
        for i, piece in enumerate(pieces):
            # What lies between the passage being built and this piece, exactly as in the source.
            sep = gap if i == 0 else para.text[pieces[i - 1].end - para.start: piece.start - para.start]
            if pending is not None:
                size, more = pending.end - pending.start, piece.end - piece.start
                if (size < low or more < low) and size + len(sep) + more <= high:
                    pending = Span(pending.start, piece.end, pending.text + sep + piece.text)
                    continue
                if marks is not None and whole:
                    marks.append((para.start, para.end, resume, read))
                yield pending
            elif marks is not None and whole:
                marks.append((para.start, para.end, resume, read))
            pending = piece
    if pending is not None:
        yield pending


def split_text(text: str, window: Window = Window()) -> list[Span]:
    """All passages of one text (a JSONL field, a test string)."""
    return list(passages([text], window))
