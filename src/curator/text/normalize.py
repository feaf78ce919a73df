"""The match key: one folded form of Persian text used for dedup and decontamination.

The key is for comparing, never for storing in place of the text. Steps, in this order:

1. drop isolated diacritic presentation forms (U+FE70-FE7F) and bidi/format controls, because NFKC
   would turn the former into "space + mark";
2. NFKC, which unfolds the Arabic presentation forms (U+FB50-FDFF, FE80-FEFC) to base letters;
3. fold what NFKC leaves apart: Arabic ي/ى/ك to Persian ی/ک, teh marbuta and heh-with-hamza to ه,
   hamza-seated letters to their seat, digits of every script to ASCII, Persian punctuation to Latin;
4. drop diacritics (harakat, tanwin, superscript alef, hamza above/below) and tatweel;
5. remove ZWNJ together with any stray spaces around it, casefold Latin, and squeeze whitespace.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

# Characters removed before NFKC: isolated/medial diacritic presentation forms and invisible controls.
_PRE_DROP = {cp: None for cp in range(0xFE70, 0xFE80)}
_PRE_DROP.update(
    {
        cp: None
        for cp in (
            0x200E, 0x200F, 0x061C,  # LRM, RLM, ALM
            0x202A, 0x202B, 0x202C, 0x202D, 0x202E,  # LRE RLE PDF LRO RLO
            0x2066, 0x2067, 0x2068, 0x2069,  # LRI RLI FSI PDI
            0x200D, 0x00AD, 0xFEFF, 0x200B, 0x2060,  # ZWJ, soft hyphen, BOM, ZWSP, word joiner
        )
    }
)

_DIACRITICS = list(range(0x064B, 0x0660)) + [0x0670] + list(range(0x06D6, 0x06EE)) + [0x0640]

_FOLD: dict[int, str | None] = {cp: None for cp in _DIACRITICS}
_FOLD.update(
    {
        ord("ي"): "ی", ord("ى"): "ی", ord("ې"): "ی", ord("ۍ"): "ی", ord("ئ"): "ی",
        ord("ك"): "ک", ord("ڪ"): "ک",
        ord("ة"): "ه", ord("ۀ"): "ه", ord("ە"): "ه", ord("ۃ"): "ه",
        ord("أ"): "ا", ord("إ"): "ا", ord("ٱ"): "ا",
        ord("ؤ"): "و",
        ord("،"): ",", ord("؛"): ";", ord("؟"): "?", ord("٪"): "%",
        ord("٫"): ".", ord("٬"): ",",
        ord("«"): '"', ord("»"): '"', ord("“"): '"', ord("”"): '"', ord("„"): '"',
        ord("‘"): "'", ord("’"): "'",
        ord("–"): "-", ord("—"): "-", ord("−"): "-",
    }
)
for _i in range(10):
    _FOLD[0x06F0 + _i] = str(_i)  # Persian digits
    _FOLD[0x0660 + _i] = str(_i)  # Arabic-Indic digits

# Everything the fold touches, as one character class: the scan is fast and only matches pay.
_FOLD_CHARS = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_FOLD) + sorted(_PRE_DROP)) + "]+")
_FOLD_ALL = {**{cp: None for cp in _PRE_DROP}, **_FOLD}
_SPACE_BEFORE_PUNCT = re.compile(r" (?=[,;:?!.)\]}])")
_DIACRITIC_FORMS_UTF8 = b"\xef\xb9"  # the UTF-8 prefix of U+FE40-FE7F
# White space that NFKC leaves as it is (it maps NBSP, thin spaces and the like to a plain space).
_OTHER_SPACE_CHARS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u1680\u2028\u2029"
_OTHER_SPACE = re.compile(f"[{_OTHER_SPACE_CHARS}]")


def _fold_run(m: re.Match[str]) -> str:
    return m.group().translate(_FOLD_ALL)


def _nfkc(text: str) -> str:
    if _DIACRITIC_FORMS_UTF8 in text.encode("utf-8", "surrogatepass"):
        text = text.translate(_PRE_DROP)  # before NFKC: it would turn these into "space + mark"
    return unicodedata.normalize("NFKC", text)


def match_key(text: str) -> str:
    """Fold `text` so that orthographic variants of the same Persian text compare equal."""
    if not unicodedata.is_normalized("NFKC", text):  # a fast check; most text is NFKC already
        text = _nfkc(text)
    text = _FOLD_CHARS.sub(_fold_run, text)
    if "  " in text or text[:1] == " " or text[-1:] == " " or _OTHER_SPACE.search(text):
        text = " ".join(text.split())  # white space runs, NBSP (after NFKC), line breaks
    if "\u200c" in text:  # drop ZWNJ with the (single, after the join) spaces around it
        text = text.replace(" \u200c", "\u200c").replace("\u200c ", "\u200c").replace("\u200c", "")
    text = text.casefold()
    # The spaces around quotes and after opening brackets go. After the join a space stands alone,
    # so plain replaces do it (a regex with a group in its template calls back into Python per match).
    for quote in '"\'':
        if quote in text:
            text = text.replace(" " + quote, quote).replace(quote + " ", quote)
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    for bracket in "([{":
        if bracket in text:
            text = text.replace(bracket + " ", bracket)
    return text


def key_hash(text: str) -> str:
    """A short stable hash of the match key of `text` (used for exact dedup)."""
    return hash_of_key(match_key(text))


def hash_of_key(key: str) -> str:
    """`key_hash` of a text whose match key is `key`."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


_SEP = "\x00"  # joins a batch: no step below matches it, produces it or reads across it


def _batch_keys(texts: list[str], codes: Any = None) -> str | None:
    """The match keys of `texts` joined by `_SEP` (None when a text holds `_SEP` itself).

    The steps of `match_key` on the joined batch, each one pass over it (the fold, white space and
    ZWNJ steps in `_folded_and_spaced`, with numpy): NFKC and the fold work char
    by char, and the white space, ZWNJ, quote and bracket steps look only at the text next to what they
    change, which never holds `_SEP`. Squeezing white space always is what `match_key` does when it
    finds something to squeeze (and a no-op when not); after NFKC the white space outside
    `_OTHER_SPACE` is a plain space, so turning those into spaces and squeezing runs of spaces is the
    same; the single spaces left beside `_SEP` are each text's ends, so they go. The quote, punctuation
    and bracket steps come after the casefold in `match_key`, but the casefold makes no space, quote,
    punctuation or bracket and takes none away, so they are done before it, with the others.
    """
    normal = [t if unicodedata.is_normalized("NFKC", t) else _nfkc(t) for t in texts]
    text = _SEP.join(normal)
    if text.count(_SEP) != len(texts) - 1:
        return None
    same = codes is not None and all(a is b for a, b in zip(normal, texts))  # (NFKC changed none of them)
    return _folded_and_spaced(text, codes if same else None)


_DELETE = 0xFFFFFFFF
_TABLE: Any = None  # BMP code point -> code point, a space or _DELETE (numpy, made on first use)
_CASED: Any = None  # BMP code point -> does casefold change it
# A (single) space goes when what stands before it, or after it, is one of these (0: `_SEP` or an end).
_DROP_AFTER = "\x00\u200c\"'([{"
_DROP_BEFORE = "\x00\u200c\"',;:?!.)]}"


_AFTER = [ord(c) for c in _DROP_AFTER]
_BEFORE = [ord(c) for c in _DROP_BEFORE]
# A space goes when what stands before it has bit 1 here, or what stands after it bit 2 (a table
# lookup instead of two `isin`s; a code point past the table reads its last entry, 0).
_SPACE_DROP: Any = None


def _folded_and_spaced(text: str, raw: Any = None) -> str:
    """The steps of `match_key` after NFKC on a joined batch, with numpy: every code point through one
    table (the fold, `_OTHER_SPACE` to a space, what goes marked), then runs of spaces squeezed to one,
    then the spaces beside `_SEP`, at the ends, beside a ZWNJ or a quote, before punctuation or a closing
    bracket or after an opening one dropped, and the ZWNJ (after the squeeze a space stands alone, so
    `match_key`'s replaces drop exactly these); the casefold last, when a character needs it."""
    global _TABLE, _CASED, _SPACE_DROP
    import numpy as np

    if _SPACE_DROP is None:
        drop = np.zeros(max(_AFTER + _BEFORE) + 2, dtype=np.uint8)
        drop[_AFTER] |= 1
        drop[_BEFORE] |= 2
        _SPACE_DROP = drop
    if _TABLE is None:
        table = np.arange(0x10000, dtype=np.uint32)  # the fold and the spaces are all in the BMP
        for cp, to in _FOLD_ALL.items():
            table[cp] = _DELETE if to is None else ord(to)
        table[[ord(c) for c in _OTHER_SPACE_CHARS]] = 32
        _CASED = np.array([chr(cp).casefold() != chr(cp) for cp in range(0x10000)])
        _TABLE = table
    if raw is None:  # (`raw`: the code points of `text`, when the caller has them)
        raw = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = np.take(_TABLE, raw, mode="clip")  # past the BMP: U+FFFF's entry, itself; fixed below
    astral = np.flatnonzero(raw > 0xFFFF)
    codes[astral] = raw[astral]
    del raw
    codes = codes[codes != _DELETE]
    if len(codes) > 1:
        space = codes == 32
        repeated = np.zeros(len(codes), dtype=bool)
        np.logical_and(space[1:], space[:-1], out=repeated[1:])
        codes = codes[~repeated]
    if len(codes):
        spaces = np.flatnonzero(codes == 32)
        before = np.zeros(len(spaces), dtype=np.uint32)  # what stands before each space (0: the start)
        inner = spaces > 0
        before[inner] = codes[spaces[inner] - 1]
        after = np.zeros(len(spaces), dtype=np.uint32)  # and after it (0: the end)
        inner = spaces < len(codes) - 1
        after[inner] = codes[spaces[inner] + 1]
        drop = ((np.take(_SPACE_DROP, before, mode="clip") & 1) | (np.take(_SPACE_DROP, after, mode="clip") & 2)) > 0
        keep = codes != 0x200C
        keep[spaces[drop]] = False
        codes = codes[keep]
    cased = bool(np.take(_CASED, codes, mode="clip").any() or (codes > 0xFFFF).any())
    text = codes.tobytes().decode("utf-32-le", "surrogatepass")
    return text.casefold() if cased else text


def batch_codes(texts: list[str]) -> Any:
    """The code points of `texts` joined by NUL, as a read-only numpy array (what the match keys and the
    classification of a batch both start from)."""
    import numpy as np

    return np.frombuffer("\x00".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def match_keys(texts: list[str]) -> list[str]:
    """`[match_key(t) for t in texts]`, computed on the batch at once."""
    if not texts:
        return []
    joined = _batch_keys(texts)
    return [match_key(t) for t in texts] if joined is None else joined.split(_SEP)


def key_hashes(texts: list[str], codes: Any = None) -> list[str]:
    """`[key_hash(t) for t in texts]`, computed on the batch at once (`codes`: the code points of the
    texts joined by NUL, as `batch_codes` gives them, if the caller has them)."""
    if not texts:
        return []
    joined = _batch_keys(texts, codes)
    if joined is None:
        return [key_hash(t) for t in texts]
    blake2b = hashlib.blake2b
    return [blake2b(key, digest_size=16).hexdigest() for key in joined.encode("utf-8").split(b"\x00")]
