"""The batch paths of import analysis give exactly what the per-text functions give.

`match_keys`/`key_hashes` (one pass over a joined batch) against `match_key`/`key_hash` on each text,
on varied Persian text: Persian and Arabic-Indic digits, ZWNJ with stray spaces, Arabic letter
variants, presentation forms, diacritics, mixed Latin, emoji, control and white-space characters.
"""

from __future__ import annotations

import random

import pytest

from curator.text.normalize import key_hash, key_hashes, match_key, match_keys

# Characters the steps of the match key treat specially, and some they leave alone.
ALPHABET = list(
    "abcXYZ ΣΑßİ  \t\n\r\x0b\x0c\x1c\x1f\x85\u00a0\u1680\u2000\u2009\u202f\u205f\u3000\u2028\u2029"
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202e\u2066\u2069\ufeff\u00ad\u061c"
    ",;:?!.)]}([{\"'«»“”„‘’–—−،؛؟٪٫٬"
    "يىكڪةۀأإٱؤئېکیپچژگهابتسمنلو"
    "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩0123456789"
    "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670\u0654\u0655\u0640\u06d6"
    "\ufe70\ufe71\ufe77\ufe7f\ufb50\ufb8e\ufbfe\ufe8d\ufedb\ufefb\ufdf2\ufe98"
    "😀👍🏽\x01\x07\x7f+-×÷*/=%"
)
PERSIAN = [
    "دانش‌آموزان در کلاس درس، فاعل و مفعول را یاد می‌گیرند.",
    "در سال ۱۴۰۲ جمعیت استان ۳٬۵۰۰٬۰۰۰ نفر بود؛ یعنی ٢٠٪ بیشتر.",
    "كتاب‌هاي  عربي\u200c  را مي‌خوانم ؟",
    "کُتُبٌ « مُعَلِّم » ( نمونه ) [ مثال ] { \"api\": 1 }",
    "Hello  World\tAPI endpoint‌ ‌ parameters\r\n\r\nفصل دوم",
    "\ufedb\ufe98\ufe8e\ufe8f و \ufe70کتاب و \ufefb",
    "  ",
    "",
    "👍 خوب بود 😀\u202bمتن\u202c\u200f",
]


def _random_texts(rng: random.Random) -> list[str]:
    texts = []
    for _ in range(rng.randint(1, 12)):
        pieces = [rng.choice(PERSIAN)[: rng.randint(0, 40)] if rng.random() < 0.3 else rng.choice(ALPHABET)
                  for _ in range(rng.randint(0, 40))]
        texts.append("".join(pieces))
    return texts


@pytest.mark.parametrize("seed", range(40))
def test_match_keys_of_a_batch_are_the_keys_of_each_text(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        texts = _random_texts(rng)
        assert match_keys(texts) == [match_key(t) for t in texts]
        assert key_hashes(texts) == [key_hash(t) for t in texts]


def test_match_keys_on_the_examples() -> None:
    assert match_keys(PERSIAN) == [match_key(t) for t in PERSIAN]
    assert key_hashes(PERSIAN) == [key_hash(t) for t in PERSIAN]
    assert match_keys([]) == [] and key_hashes([]) == []


def test_a_text_holding_the_separator_is_keyed_on_its_own() -> None:
    texts = ["کتاب\x00 ها", " مدرسه ", "a\x00"]
    assert match_keys(texts) == [match_key(t) for t in texts]
    assert key_hashes(texts) == [key_hash(t) for t in texts]


def test_minhash_signatures_of_a_batch_are_datatroves_of_each_text(tmp_path) -> None:
    pytest.importorskip("datatrove")
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    from curator.scale.steps import MatchKeySignature

    step = MatchKeySignature(str(tmp_path), MinhashConfig())
    step.BLOCK = 64  # many blocks, documents on both sides of their edges
    rng = random.Random(3)
    words = [w for text in PERSIAN for w in text.split()]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 60))) for _ in range(300)] + PERSIAN
    for _ in range(100):  # punctuation, white space and symbols anywhere, words among them
        texts.append("".join(rng.choice(words) + " " if rng.random() < 0.5 else rng.choice(ALPHABET)
                             for _ in range(rng.randint(0, 80))))
    expected = []
    for text in texts:
        shingles = step.shingles(text).reshape((-1, 1))
        expected.append(MinhashDedupSignature.get_signature(step, shingles) if shingles.size else None)
    assert step.signatures(texts) == expected
    assert sum(sig is None for sig in expected) >= 3  # texts with fewer words than an n-gram
    assert all(isinstance(x, int) for sig in expected if sig for band in sig for x in band)
    assert np.array(expected[0]).shape == (14, 8)


def test_the_words_of_a_batch_of_keys_are_the_regex_ones() -> None:
    pytest.importorskip("datatrove")
    import re

    from curator.scale.steps import _PUNCTUATION, _words_by_line

    rng = random.Random(4)
    for _ in range(2000):
        keys = ["".join(rng.choice(ALPHABET[:40] + ALPHABET[-30:]) for _ in range(rng.randint(0, 15))).replace("\n", "")
                for _ in range(rng.randint(1, 5))]
        expected = re.sub("  +", " ", _PUNCTUATION.sub(" ", "\n".join(keys)))
        assert _words_by_line(keys) == expected.replace(" \n", "\n").replace("\n ", "\n").strip(" ")


def test_minhash_signature_files_are_the_ones_datatroves_stage_writes(tmp_path) -> None:
    """`MatchKeySignature.run` passes every document on and leaves, byte for byte, the sorted band
    files datatrove's own stage 1 (`MinhashDedupSignature.run`, one document at a time) writes."""
    pytest.importorskip("datatrove")
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    from curator.scale.steps import MatchKeySignature, MatchKeyWords

    config = MinhashConfig()
    ours = MatchKeySignature(str(tmp_path / "ours"), config)
    ours.BATCH = 7  # documents without a shingle on both sides of batch edges

    class Reference(MinhashDedupSignature):
        def get_shingles(self, text: str):
            return ours.shingles(text).reshape((-1, 1))

    rng = random.Random(5)
    words = [w for text in PERSIAN for w in text.split()]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 40))) for _ in range(120)]
    texts += texts[:30]  # exact copies: records that tie on every hash, ordered by document
    texts += [t.replace(t.split()[-1], "چندین") for t in texts[:60] if len(t.split()) > 8]  # near copies
    rng.shuffle(texts)
    docs = [Document(text, str(i)) for i, text in enumerate(texts)]
    assert list(ours.run(iter(docs), rank=3)) == docs
    Reference(str(tmp_path / "theirs"), config, language=MatchKeyWords()).run(iter(docs), rank=3)
    for band in range(config.num_buckets):
        name = f"bucket_{band:03d}/00003.minhash.sig"
        mine, theirs = (tmp_path / "ours" / name).read_bytes(), (tmp_path / "theirs" / name).read_bytes()
        assert mine == theirs and len(mine) > 100 * 68


def test_band_records_are_ordered_as_datatrove_sorts_them() -> None:
    """Ties on the first hash (and on all of them) are ordered by the other hashes, then the document."""
    pytest.importorskip("datatrove")
    import numpy as np

    from curator.scale.steps import _record_order

    rng = np.random.default_rng(6)
    dtype = np.dtype([("sig", "<u8", (4,)), ("doc", "<u4")])
    for size in (0, 1, 2, 50, 500):
        records = np.zeros(size, dtype=dtype)
        records["sig"] = rng.integers(0, 3, size=(size, 4))  # few values: ties of every depth
        records["doc"] = rng.permutation(size)
        flat = np.dtype([(f"field{i + 1}", "<u8") for i in range(4)] + [("field5", "<u4")])
        expected = np.sort(records.view(flat), order=flat.names)
        assert records[_record_order(records["sig"], records["doc"])].tobytes() == expected.tobytes()


def test_band_pairs_are_the_ones_datatroves_buckets_stage_writes(tmp_path) -> None:
    """`BandPairs` writes, byte for byte, datatrove's MinhashDedupBuckets `.dups` of signature files of
    several tasks (copies inside a task and across tasks), in slices of the hash range or in one."""
    pytest.importorskip("datatrove")
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets

    from curator.scale.steps import BandPairs, MatchKeySignature

    config = MinhashConfig()
    rng = random.Random(8)
    words = [w for text in PERSIAN for w in text.split()]
    pool = [" ".join(rng.choices(words, k=rng.randint(3, 30))) for _ in range(80)]
    for task in range(4):
        texts = rng.choices(pool, k=60) + [t.replace(t.split()[0], "چندین") for t in rng.sample(pool, 10)]
        step = MatchKeySignature(str(tmp_path / "sigs"), config)
        assert len(list(step.run(iter(Document(t, str(i)) for i, t in enumerate(texts)), rank=task))) == 70
    for band in range(config.num_buckets):
        MinhashDedupBuckets(str(tmp_path / "sigs"), str(tmp_path / "theirs"), config=config).run(
            rank=band, world_size=config.num_buckets)
        for chunk, folder in ((1 << 20, "whole"), (16, "sliced")):
            ours = BandPairs(tmp_path / "sigs", tmp_path / folder, config)
            ours.CHUNK = chunk
            ours.run(rank=band, world_size=config.num_buckets)
        name = f"{band:05d}_00.dups"
        theirs = (tmp_path / "theirs" / name).read_bytes()
        assert len(theirs) > 40 * 16
        assert (tmp_path / "whole" / name).read_bytes() == theirs
        assert (tmp_path / "sliced" / name).read_bytes() == theirs
    with pytest.raises(ValueError, match="one task a band"):
        BandPairs(tmp_path / "sigs", tmp_path / "x", config).run(rank=0, world_size=2)


def test_band_pairs_leave_the_exact_duplicates_out(tmp_path) -> None:
    """With datatrove's exact-duplicate lists, the pairs are datatrove's on signature files that never
    held those passages (their records taken out, the other documents keeping their indices)."""
    pytest.importorskip("datatrove")
    import numpy as np
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets

    from curator.scale.steps import BandPairs, MatchKeySignature, band_record

    config = MinhashConfig()
    rng = random.Random(10)
    words = [w for text in PERSIAN for w in text.split()]
    pool = [" ".join(rng.choices(words, k=rng.randint(6, 30))) for _ in range(40)]
    listed = {0: [3, 1, 9, 2], 2: [0, 30, 31, 5]}  # as ExactFindDedups leaves them: unsorted, per task
    for task in range(3):
        step = MatchKeySignature(str(tmp_path / "sigs"), config)
        list(step.run(iter(Document(t, str(i)) for i, t in enumerate(rng.choices(pool, k=40))), rank=task))
    for task, docs in listed.items():
        (tmp_path / "exact" / "00000").mkdir(parents=True, exist_ok=True)
        np.array(docs, dtype="<u4").tofile(tmp_path / "exact" / "00000" / f"{task:05d}.c4_dup")
    for sig in (tmp_path / "sigs").glob("*/*.minhash.sig"):  # the files without the listed passages
        records = np.fromfile(sig, dtype=band_record(config))
        kept = records[~np.isin(records["doc"], listed.get(int(sig.name.split(".")[0]), []))]
        (tmp_path / "kept" / sig.parent.name).mkdir(parents=True, exist_ok=True)
        kept.tofile(tmp_path / "kept" / sig.parent.name / sig.name)
    for band in range(config.num_buckets):
        MinhashDedupBuckets(str(tmp_path / "kept"), str(tmp_path / "theirs"), config=config).run(
            rank=band, world_size=config.num_buckets)
        BandPairs(tmp_path / "sigs", tmp_path / "ours", config, tmp_path / "exact").run(
            rank=band, world_size=config.num_buckets)
        BandPairs(tmp_path / "sigs", tmp_path / "all", config).run(rank=band, world_size=config.num_buckets)
        name = f"{band:05d}_00.dups"
        theirs = (tmp_path / "theirs" / name).read_bytes()
        assert (tmp_path / "ours" / name).read_bytes() == theirs
        assert len((tmp_path / "all" / name).read_bytes()) > len(theirs) > 20 * 16


def test_the_minima_modulo_the_mersenne_prime_are_exact_near_the_prime() -> None:
    """The rare values whose folded remainder reaches p (and those that wrap past 2^64) reduce exactly."""
    pytest.importorskip("datatrove")
    import numpy as np

    from curator.scale.steps import _min_mod_mersenne61

    p = (1 << 61) - 1
    rng = random.Random(9)
    near = [p - 1, p, p + 1, 2 * p - 1, 2 * p, 7 * (1 << 61) + p - 3, (1 << 64) - 1, (1 << 64) - 8, 0, 1]
    add = np.array([[0, 1, 3, rng.randrange(p), rng.randrange(p), 2]], dtype=np.uint64)  # small: stays near p
    values = [[rng.choice(near) if rng.random() < 0.6 else rng.randrange(1 << 64) for _ in range(6)]
              for _ in range(40)]
    starts = np.array([0, 1, 5, 17, 39])
    exact = [[(v + int(b)) % (1 << 64) % p for v, b in zip(row, add[0])] for row in values]
    expected = [[min(col) for col in zip(*exact[s:e])] for s, e in zip(starts, [*starts[1:], len(values)])]
    got = _min_mod_mersenne61(np.array(values, dtype=np.uint64), add, starts)
    assert got.tolist() == expected
    assert (got < 8).any()  # some minima come from the values that needed the subtraction
