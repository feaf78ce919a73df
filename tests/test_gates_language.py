"""The language gate (v2): every labelled sentence judged right, turn by turn; Arabic in Persian
letter forms, Finglish, Urdu and English fail; English sentences in an answer are flagged with their
offsets, terms and code are not; families' other-language roles; the sample data all passes; the
triage card shows the evidence."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from curator.config import Settings
from curator.families import FamilyError, load_families, load_family
from curator.gates import language
from curator.gates.base import GateContext
from curator.gates.language import LanguageGate, english_spans, identify
from curator.services.gating.runner import PER_EXAMPLE
from curator.models import Example, Message, ToolCall
from curator.services.demo import build_demo
from curator.services.gate import run_gates
from curator.store import Store
from curator.text.normalize import key_hash
from tui_fixtures import settle

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = load_families(ROOT / "prompts").families
SENTENCES = [json.loads(line) for line in (ROOT / "tests/data/language_sentences.jsonl").read_text().splitlines()]
EXPECTED = {"fa": "fa", "fa_latin": "fa", "ar": "ar", "finglish": "finglish", "en": "en", "ur": "ur"}
REASON = {"ar": "arabic_not_persian", "finglish": "romanized_persian", "en": "not_persian", "ur": "not_persian"}
QUESTION = "لطفاً به این پرسش کوتاه پاسخ بده."


def ex(*turns: tuple[str, str], family: str = "dialogue") -> Example:
    return Example(family=family, task_type="explanation", messages=[Message(role=r, content=c) for r, c in turns])


def check(example: Example, family=None) -> object:
    return LanguageGate().check(example, GateContext(family=family))


def test_the_runner_uses_this_gate() -> None:
    assert isinstance(PER_EXAMPLE["language"], LanguageGate) and PER_EXAMPLE["language"].version == "2"


def test_the_labelled_set_has_every_class() -> None:
    counts = {kind: sum(s["kind"] == kind for s in SENTENCES) for kind in EXPECTED}
    assert min(counts.values()) >= 6, counts


@pytest.mark.parametrize("item", SENTENCES, ids=[f"{s['kind']}-{i}" for i, s in enumerate(SENTENCES)])
def test_every_labelled_sentence_is_identified(item: dict) -> None:
    found = identify(item["text"])
    assert found.language in ({"fa", "unknown"} if item["kind"] in ("fa", "fa_latin") else {EXPECTED[item["kind"]]})


@pytest.mark.parametrize("item", SENTENCES, ids=[f"{s['kind']}-{i}" for i, s in enumerate(SENTENCES)])
@pytest.mark.parametrize("role", ["user", "assistant"])
def test_every_labelled_sentence_passes_or_fails_in_either_turn(item: dict, role: str) -> None:
    turns = [("user", item["text"]), ("assistant", "پاسخ این پرسش در متن آمده است.")] if role == "user" \
        else [("user", QUESTION), ("assistant", item["text"])]
    v = check(ex(*turns))
    if item["kind"] in ("fa", "fa_latin"):
        assert v.verdict == "pass", v
    else:
        assert (v.verdict, v.reason) == ("fail", REASON[item["kind"]])
        assert (v.detail["turn"], v.detail["role"]) == ((0, "user") if role == "user" else (1, "assistant"))


@pytest.mark.parametrize("answer", ["فاعل «علی» است", "«علی» فاعل است.", "آیا «علی» فاعل است؟",
                                    "«کتب» جمع مکسر عربی «کتاب» است."])
def test_short_persian_turns_full_of_arabic_loanwords_stay_persian(answer: str) -> None:
    """The folded pass alone calls «فاعل «علی» است» Arabic (0.646); Persian's own words outweigh it."""
    assert identify(answer).language == "fa"
    assert check(ex(("user", "فاعل جمله را کوتاه بگو."), ("assistant", answer)), FAMILIES["grammar_tutor"]).verdict == "pass"


def test_the_evidence_names_the_turn_and_rounds_confidences() -> None:
    v = check(ex(("user", QUESTION), ("assistant", "ما هی عاصمه الیابان؟")))
    assert (v.reason, v.detail["turn"], v.detail["role"], v.detail["language"]) == (
        "arabic_not_persian", 1, "assistant", "ar")
    assert v.detail["ar_folded"] >= language.ARABIC_WHEN_FOLDED > v.detail["ar"], "caught by the folded pass"
    numbers = [x for x in v.detail.values() if isinstance(x, float)]
    assert numbers and all(round(x, 3) == x for x in numbers)


def test_another_script_is_not_persian() -> None:
    v = check(ex(("user", "Привет! Как дела у тебя сегодня?"), ("assistant", "خوبم، ممنون که پرسیدی.")))
    assert (v.reason, v.detail["turn"], v.detail["language"]) == ("not_persian", 0, "other")


def test_finglish_evidence_lists_its_words() -> None:
    v = check(ex(("user", "lotfan in soal ro baram tozih bede."), ("assistant", "حتماً، با کمال میل.")))
    assert v.reason == "romanized_persian" and "lotfan" in v.detail["finglish_words"]


def test_the_finglish_list_is_read_from_the_familys_prompts_folder(tmp_path: Path) -> None:
    (tmp_path / "families").mkdir()
    family_file = tmp_path / "families" / "dialogue.toml"
    family_file.write_text((ROOT / "prompts/families/dialogue.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "language.toml").write_text('finglish = ["zorb", "flimp"]\n', encoding="utf-8")
    family = load_family(family_file)
    text = ex(("user", "zorb flimp zorb the cat"), ("assistant", "بله، درست است."))
    assert check(text, family).reason == "romanized_persian"
    assert check(ex(("user", "lotfan in soal ro baram tozih bede."), ("assistant", "بله، درست است.")),
                 family).reason == "not_persian", "the folder's own list replaces the bundled one"


def test_persian_in_arabic_letter_forms_fails() -> None:
    v = check(ex(("user", "كتابي كه ديروز خريدم درباره تاريخ ايران است."), ("assistant", "كتاب خوبي است.")))
    assert (v.verdict, v.reason) == ("fail", "arabic_letter_forms")


def test_too_little_persian_script_fails_on_the_familys_ratio() -> None:
    answer = "برای این کار در کتابخانهٔ pandas از متدهای groupby و merge و pivot_table روی DataFrame استفاده کنید."
    e = ex(("user", "چطور جدول‌ها را با هم ترکیب کنم؟"), ("assistant", answer))
    v = check(e, FAMILIES["dialogue"])
    assert (v.verdict, v.reason, v.detail["threshold"]) == ("fail", "low_persian_ratio", 0.8)
    assert 0.6 < v.detail["ratio"] < 0.8 and check(e).verdict == "pass", "the default threshold is 0.6"


def test_an_english_sentence_in_an_answer_is_flagged_with_its_span() -> None:
    answer = ("فتوسنتز فرایندی است که گیاه با آن از نور خورشید، آب و کربن دی‌اکسید غذا می‌سازد و اکسیژن آزاد می‌کند. "
              "Plants use sunlight to make sugar. "
              "این کار بیشتر در برگ‌ها و به کمک سبزینه انجام می‌شود.")
    v = check(ex(("user", "فتوسنتز چیست؟"), ("assistant", answer)), FAMILIES["dialogue"])
    assert (v.verdict, v.reason, v.detail["turn"], v.detail["role"]) == ("flag", "english_span", 1, "assistant")
    start, end = v.detail["span"]
    assert answer[start:end] == v.detail["text"] == "Plants use sunlight to make sugar"
    assert v.detail["confidence"] > 0.5 and "more_spans" not in v.detail


def test_every_english_span_is_listed_with_offsets_into_its_turn() -> None:
    text = "اول: This is the first sentence here. دوم: And here is the second one."
    spans = english_spans(text)
    assert [s["text"] for s in spans] == ["This is the first sentence here", "And here is the second one"]
    assert all(text[s["span"][0]:s["span"][1]] == s["text"] for s in spans)


@pytest.mark.parametrize("answer", [
    "برای نصب کتابخانه در Python 3.12 از دستور pip install numpy استفاده کنید.",
    "نظریهٔ نسبیت را Albert Einstein در سال ۱۹۰۵ مطرح کرد.",
    "این حلقه را اجرا کنید: `for i in range(10): print(i) if i > 2 else None` و خروجی را ببینید.",
    "مستندات را در https://docs.python.org/3/library/functions.html ببینید و مثال‌ها را امتحان کنید.",
    "```python\nfor item in the_list:\n    print(item, end=' ')\n```\nاین کد همهٔ اعضای فهرست را چاپ می‌کند.",
])
def test_terms_names_commands_and_code_do_not_flag(answer: str) -> None:
    v = check(ex(("user", "چطور این کار را انجام بدهم؟"), ("assistant", answer)))
    assert v.verdict == "pass", v


def test_english_in_the_users_question_is_not_flagged_as_a_span() -> None:
    v = check(ex(("user", "معنی جملهٔ «The early bird catches the worm» چیست؟"),
                 ("assistant", "یعنی کسی که زودتر دست به کار شود، موفق‌تر است؛ مثل «سحرخیز باش تا کامروا باشی».")))
    assert v.verdict == "pass"


def test_multi_turn_dialogue_is_judged_turn_by_turn() -> None:
    turns = [("user", "سلام، می‌شود دربارهٔ چرخهٔ آب توضیح بدهی؟"),
             ("assistant", "بله. آب دریا بخار می‌شود، ابر می‌سازد و دوباره می‌بارد."),
             ("user", "چرا بخار بالا می‌رود؟"),
             ("assistant", "چون هوای گرم سبک‌تر است و بالا می‌رود."),
             ("user", "ممنون!"),
             ("assistant", "خواهش می‌کنم.")]
    assert check(ex(*turns), FAMILIES["dialogue"]).verdict == "pass"
    turns[2] = ("user", "chera bokhar mire bala? nemidunam.")
    v = check(ex(*turns), FAMILIES["dialogue"])
    assert (v.reason, v.detail["turn"], v.detail["role"]) == ("romanized_persian", 2, "user")
    turns[2] = ("user", "چرا بخار بالا می‌رود؟")
    turns[3] = ("assistant", "Because warm air is lighter and rises.")
    v = check(ex(*turns), FAMILIES["dialogue"])
    assert (v.reason, v.detail["turn"], v.detail["language"]) == ("not_persian", 3, "en")


def test_system_turns_tool_calls_and_tool_results_are_skipped() -> None:
    call = ToolCall(id="c1", function={"name": "get_weather", "arguments": json.dumps({"city": "Tehran", "unit": "celsius"})})
    e = Example(family="tool_calling", task_type="tool_needed", messages=[
        Message(role="system", content="You are a helpful assistant that can call tools when they are needed."),
        Message(role="user", content="هوای تهران الان چطور است؟"),
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="tool", tool_call_id="c1", name="get_weather",
                content=json.dumps({"city": "Tehran", "temperature": 18, "condition": "partly cloudy with light wind"})),
        Message(role="assistant", content="الان در تهران ۱۸ درجه است و هوا کمی ابری است."),
    ])
    assert check(e, FAMILIES["tool_calling"]).verdict == "pass"


def test_a_familys_other_language_roles_may_be_in_another_language() -> None:
    translation = ex(("user", "Translate into Persian: The library opens at nine in the morning."),
                     ("assistant", "کتابخانه ساعت نه صبح باز می‌شود."))
    family = SimpleNamespace(min_persian_ratio=0.8, other_language_roles=("user",))
    assert check(translation, family).verdict == "pass"
    assert check(translation, SimpleNamespace(min_persian_ratio=0.8)).reason == "not_persian"
    wrong = ex(("user", translation.messages[0].content), ("assistant", "The library opens at nine in the morning."))
    assert check(wrong, family).reason == "not_persian", "the answer must still be Persian"


def test_other_language_roles_are_read_and_checked_in_the_family_file(tmp_path: Path) -> None:
    text = (ROOT / "prompts/families/dialogue.toml").read_text(encoding="utf-8")
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('other_language_roles = ["user"]\n' + text, encoding="utf-8")
    bad.write_text('other_language_roles = ["tool"]\n' + text, encoding="utf-8")
    assert load_family(good).other_language_roles == ("user",)
    with pytest.raises(FamilyError, match=r"bad.toml:1: other_language_roles"):
        load_family(bad)
    assert all(f.other_language_roles == () for f in FAMILIES.values())


def test_one_detector_per_process_used_from_worker_threads() -> None:
    seen: list[tuple[object, str]] = []

    def work() -> None:
        seen.append((language.detector(), identify("ما هی عاصمه الیابان؟").language))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(d) for d, _ in seen}) == 1 and seen[0][0] is language.detector()
    assert [found for _, found in seen] == ["ar"] * 8


def test_the_sample_and_demo_data_all_pass(tmp_path: Path) -> None:
    with Store(tmp_path / "demo.db") as store:
        build_demo(store, Settings(), FAMILIES, per_family=20)
        examples = store.examples("1 = 1")
    assert len(examples) >= 50
    for e in examples:
        v = LanguageGate().check(e, GateContext(family=FAMILIES.get(e.family)))
        assert v.verdict == "pass", (e.id, e.family, v)


async def test_the_triage_card_shows_the_language_evidence(tmp_path: Path) -> None:
    from curator.tui.app import CuratorApp
    from tui_fixtures import build_db

    db = build_db(tmp_path / "tui.db")
    answer = ("فاعل کسی یا چیزی است که کار را انجام می‌دهد؛ مثلاً در جملهٔ «مریم نامه را نوشت» مریم فاعل است، "
              "چون نوشتن کار اوست. The subject does the action. در جملهٔ «باران آمد» هم باران فاعل است.")
    with Store(db) as store:
        e = Example(kind="candidate", family="grammar_tutor", task_type="explanation", model="gen-model",
                    messages=[Message(role="user", content="فاعل چیست؟"), Message(role="assistant", content=answer)])
        e.key_hash = key_hash(e.messages[0].content + "\n" + answer)
        target = store.add_example(e)
        run_gates(store, FAMILIES)
        assert store.current_verdicts([target])[target]["language"]["reason"] == "english_span"
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
        screen = app.screen
        screen.position = screen.ids.index(target)
        screen.show_current()
        await pilot.pause()
        shown = str(screen.query_one("#verdicts").render())
        # One line per gate, cut to the panel; the full evidence is one key away (g).
        assert "language" in shown and "english_span" in shown
        await pilot.press("g")
        await pilot.pause()
        details = "\n".join(w.text for w in app.screen.query("RtlText"))
        assert '"text": "The subject does the action"' in details


def test_confidences_warmed_for_a_batch_in_parallel_give_the_same_identities() -> None:
    texts = [s["text"] for s in SENTENCES]
    one_by_one = [identify(t) for t in texts]
    language.warm(texts)
    try:
        assert language._warm, "the batch's Arabic-script texts were computed ahead"
        def same(i):  # the parallel sums may differ in the last bit; verdicts keep 3 decimals
            return i.language, round(i.confidence, 6), i.evidence
        assert [same(identify(t)) for t in texts] == [same(i) for i in one_by_one]
    finally:
        language.warm([])
