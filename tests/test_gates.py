"""Each gate with good and bad cases, Persian orthographic variants included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.gates.base import GateContext
from curator.gates.decontam import Text, decontaminate
from curator.gates.dedup import DedupItem, dedup
from curator.gates.math_tools import MathGate, ToolsGate, evaluate
from curator.gates.language import LanguageGate
from curator.gates.rules import FaithfulnessGate, FormatGate, LengthGate
from curator.models import Example, Message
from curator.families import load_families
from curator.generators.tools import TOOLS
from curator.text import match_key

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = load_families(ROOT / "prompts").families


def ex(*turns: tuple[str, str], family: str = "grammar_tutor", **kw) -> Example:
    return Example(family=family, task_type=kw.pop("task_type", "explanation"),
                   messages=[Message(role=r, content=c) for r, c in turns], **kw)


def ctx(family: str = "grammar_tutor", passage: str | None = None) -> GateContext:
    return GateContext(family=FAMILIES.get(family), passage_text=passage)


GOOD = ex(("user", "در جملهٔ «علی کتاب را خواند» فاعل کدام است؟"),
          ("assistant", "«علی» فاعل است، چون انجام‌دهندهٔ کار خواندن است."))

# -- format -----------------------------------------------------------------------------------


def test_format_passes_a_clean_example() -> None:
    assert FormatGate().check(GOOD, ctx()).verdict == "pass"


@pytest.mark.parametrize(
    ("turns", "reason"),
    [
        ((("assistant", "سلام"), ("user", "سلام")), "bad_role_order"),
        ((("user", "سلام"), ("user", "خوبی؟"), ("assistant", "بله")), "bad_role_order"),
        ((("user", "سلام"),), "bad_role_order"),
        ((("user", "سلام"), ("assistant", "خوبم"), ("system", "تو دستیار هستی")), "bad_role_order"),
        ((("user", "متن: <passage id=\"p1\"> ... پرسش؟"), ("assistant", "پاسخ")), "template_leftover"),
        ((("user", "درباره‌ی {topic} بگو"), ("assistant", "پاسخ")), "template_leftover"),
        ((("user", "فاعل چیست؟"), ("assistant", "Here is the JSON: فاعل کننده است")), "template_leftover"),
    ],
)
def test_format_fails_with_a_reason(turns, reason) -> None:
    v = FormatGate().check(ex(*turns), ctx())
    assert (v.verdict, v.reason) == ("fail", reason)


def test_format_checks_the_family_schema() -> None:
    math = ex(("user", "۲ + ۲ چند است؟"), ("assistant", "۲ + ۲ = ۴. پس پاسخ ۴ است."), family="school_math")
    v = FormatGate().check(math, ctx("school_math"))
    assert (v.verdict, v.reason, v.detail["field"]) == ("fail", "schema_invalid", "answer")
    math.answer = "4"
    assert FormatGate().check(math, ctx("school_math")).verdict == "pass"

# -- language ---------------------------------------------------------------------------------


def test_language_passes_persian_with_latin_technical_words() -> None:
    e = ex(("user", "در زبان Python چطور یک فهرست بسازم؟"),
           ("assistant", "فهرست را با کروشه می‌سازید؛ مثلاً [1, 2] یک list با دو عضو است."))
    v = LanguageGate().check(e, GateContext())
    assert v.verdict == "pass" and v.detail["verdict"] == "fa"


def test_language_fails_arabic() -> None:
    e = ex(("user", "ما هو الفاعل في هذه الجملة؟"), ("assistant", "الفاعل هو الذي قام بالفعل في الجملة."))
    v = LanguageGate().check(e, ctx())
    assert (v.verdict, v.reason) == ("fail", "arabic_not_persian")


def test_language_fails_english_and_flags_english_leakage() -> None:
    english = ex(("user", "What is a subject?"), ("assistant", "The subject is who does the action."))
    v = LanguageGate().check(english, GateContext())
    assert (v.reason, v.detail["language"]) == ("not_persian", "en")
    leaky = ex(("user", "فاعل چیست؟"), ("assistant", "فاعل یعنی the doer of the action، مثل علی در جملهٔ «علی آمد»."))
    v = LanguageGate().check(leaky, GateContext())
    assert (v.verdict, v.reason, v.detail["text"]) == ("flag", "english_span", "the doer of the action")

# -- length -----------------------------------------------------------------------------------


def test_length_bounds_come_from_the_family() -> None:
    long_answer = ex(("user", "فاعل چیست؟"), ("assistant", "فاعل کسی است که کار را انجام می‌دهد. " * 60))
    v = LengthGate().check(long_answer, ctx("grammar_tutor"))
    assert (v.verdict, v.reason) == ("fail", "response_too_long")
    assert v.detail["response_max_tokens"] == FAMILIES["grammar_tutor"].length["response_max_tokens"]
    short = ex(("user", "فاعل چیست؟"), ("assistant", "بله"))
    assert LengthGate().check(short, ctx("grammar_tutor")).reason == "response_too_short"
    assert LengthGate().check(GOOD, ctx("grammar_tutor")).verdict == "pass"

# -- math -------------------------------------------------------------------------------------


def math_ex(answer: str, solution: str) -> Example:
    return ex(("user", "مسئله"), ("assistant", solution), family="school_math", answer=answer)


@pytest.mark.parametrize(
    ("answer", "solution"),
    [
        ("120000", "۳ × ۴۰٬۰۰۰ = ۱۲۰٬۰۰۰. بنابراین علی ۱۲۰ هزار تومان پرداخت می‌کند."),
        ("120000", "3 × 40,000 = 120,000. So the total is 120,000 تومان."),
        ("120000", "٣ × ٤٠٬٠٠٠ = ١٢٠٬٠٠٠. بنابراین پاسخ ١٢٠٬٠٠٠ است."),
        ("3/4", "یک منهای یک‌چهارم: ۱ − ۱/۴ = ۳/۴. پس ۳/۴ کیک مانده است."),
        ("12.5", "۲۵ ÷ ۲ = ۱۲٫۵. بنابراین هر نفر ۱۲٫۵ کیلو برمی‌دارد."),
        ("600000", "۸۰۰٬۰۰۰ × ۲۵ ÷ ۱۰۰ = ۲۰۰٬۰۰۰ و ۸۰۰٬۰۰۰ − ۲۰۰٬۰۰۰ = ۶۰۰٬۰۰۰. قیمت نهایی ۶۰۰ هزار تومان است."),
        ("20", "سهم او ۲۰٪ است."),
        ("2500000", "جمع کل ۲ میلیون و ۵۰۰ هزار تومان می‌شود."),
    ],
)
def test_math_accepts_correct_answers_in_every_numeral_style(answer: str, solution: str) -> None:
    v = MathGate().check(math_ex(answer, solution), ctx("school_math"))
    assert v.verdict == "pass", v


def test_math_fails_a_wrong_final_answer() -> None:
    v = MathGate().check(math_ex("120000", "۳ × ۴۰٬۰۰۰ = ۱۲۰٬۰۰۰. بنابراین علی ۱۳۰ هزار تومان می‌پردازد."), ctx())
    assert (v.verdict, v.reason) == ("fail", "math_mismatch")


def test_math_fails_a_wrong_computation_even_with_the_right_answer() -> None:
    v = MathGate().check(math_ex("12", "۳ × ۵ = ۱۲. پس پاسخ ۱۲ است."), ctx())
    assert (v.verdict, v.reason, v.detail["correct"]) == ("fail", "computation_error", "15")


def test_math_without_an_answer_field_checks_the_stated_computations() -> None:
    e = ex(("user", "۲۳ × ۴۷؟"), ("assistant", "۲۳ × ۴۷ = ۱۰۸۱. پاسخ ۱۰۸۱ است."))
    assert MathGate().check(e, ctx()).verdict == "pass"
    e2 = ex(("user", "؟"), ("assistant", "پاسخ تقریباً هزار است."))
    assert MathGate().check(e2, ctx()).verdict == "flag"


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "2 ** 10", "1 + ", "(1 + 2", "abs(-3)"])
def test_the_evaluator_never_runs_code(text: str) -> None:
    with pytest.raises(ValueError):
        evaluate(text)


def test_the_evaluator_is_exact() -> None:
    assert str(evaluate("1/3 + 1/6")) == "1/2"
    assert evaluate("(2 + 3) × ۴ − ۶ ÷ ۳") == 18

# -- tools ------------------------------------------------------------------------------------


def tool_ex(arguments, *, name="calculator", answered=True, task="tool_needed", tools=None, final="حاصل ۱۰۸۱ است.") -> Example:
    msgs = [Message(role="user", content="حاصل ۲۳ ضربدر ۴۷؟"),
            Message(role="assistant", tool_calls=[{"type": "function", "id": "c1",
                                                   "function": {"name": name, "arguments": arguments}}])]
    if answered:
        msgs.append(Message(role="tool", content="1081", tool_call_id="c1"))
    msgs.append(Message(role="assistant", content=final))
    return Example(family="tool_calling", task_type=task, messages=msgs, tools=tools or [TOOLS["calculator"]])


def test_tools_pass_a_valid_trace() -> None:
    assert ToolsGate().check(tool_ex('{"expression": "23*47"}'), ctx("tool_calling")).verdict == "pass"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"arguments": '{"expression": "23*47"}', "name": "weather"}, "unknown_tool"),
        ({"arguments": '{"expression": 23*47}'}, "arguments_not_json"),
        ({"arguments": '["23*47"]'}, "arguments_not_object"),
        ({"arguments": "{}"}, "arguments_schema"),
        ({"arguments": '{"expression": 1081}'}, "arguments_schema"),
        ({"arguments": '{"expression": "1", "extra": true}'}, "arguments_schema"),
        ({"arguments": '{"expression": "23*47"}', "answered": False}, "call_unanswered"),
        ({"arguments": '{"expression": "23*47"}', "task": "no_tool_needed"}, "negative_case_calls_tool"),
        ({"arguments": '{"expression": "23*47"}',
          "tools": [{"type": "function", "function": {"name": "calculator", "parameters": {"type": "objekt"}}}]},
         "bad_tool_schema"),
    ],
)
def test_tools_fail_each_kind_of_error(kwargs, reason) -> None:
    v = ToolsGate().check(tool_ex(**kwargs), ctx("tool_calling"))
    assert (v.verdict, v.reason) == ("fail", reason), v


def test_tools_enum_errors_name_the_path() -> None:
    weather = Example(family="tool_calling", task_type="tool_needed", tools=[TOOLS["get_weather"]], messages=[
        Message(role="user", content="هوای تبریز؟"),
        Message(role="assistant", tool_calls=[{"type": "function", "id": "c", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "تبریز", "unit": "kelvin"})}}]),
        Message(role="tool", content='{"temperature": 12}', tool_call_id="c"),
        Message(role="assistant", content="دما ۱۲ درجه است.")])
    v = ToolsGate().check(weather, ctx("tool_calling"))
    assert (v.reason, v.detail["path"]) == ("arguments_schema", "unit")


def test_tools_flag_a_final_answer_that_ignores_the_result() -> None:
    v = ToolsGate().check(tool_ex('{"expression": "23*47"}', final="حاصل ۹۹۹ است."), ctx("tool_calling"))
    assert (v.verdict, v.reason) == ("flag", "result_not_used")


def test_negative_cases_without_calls_pass() -> None:
    e = Example(family="tool_calling", task_type="ambiguous_request", tools=[TOOLS["get_weather"]],
                messages=[Message(role="user", content="هوا چطوره؟"),
                          Message(role="assistant", content="هوای کدام شهر را می‌خواهید؟")])
    assert ToolsGate().check(e, ctx("tool_calling")).verdict == "pass"

# -- faithfulness -----------------------------------------------------------------------------

PASSAGE = "تخت جمشید در استان فارس است. تالار اصلی کاخ آپادانا ۷۲ ستون داشت و ساخت آن به فرمان داریوش آغاز شد."


def test_faithful_answers_pass_and_invented_ones_are_flagged() -> None:
    grounded = ex(("user", "تالار آپادانا چند ستون داشت؟"), ("assistant", "تالار اصلی کاخ آپادانا ۷۲ ستون داشت."),
                  family="passage_qa")
    invented = ex(("user", "تالار آپادانا چند ستون داشت؟"),
                  ("assistant", "معماران یونانی با سنگ مرمر سفید و طلای فراوان گنبدهای بزرگی ساختند."), family="passage_qa")
    assert FaithfulnessGate().check(grounded, ctx("passage_qa", PASSAGE)).verdict == "pass"
    v = FaithfulnessGate().check(invented, ctx("passage_qa", PASSAGE))
    assert (v.verdict, v.reason) == ("flag", "unsupported_answer")
    assert "مرمر" in v.detail["unsupported_words"]

# -- dedup ------------------------------------------------------------------------------------

A = "در جملهٔ «علی کتاب را خواند» فاعل «علی» است، چون انجام‌دهندهٔ کار خواندن است و کتاب مفعول جمله است."


def test_exact_duplicates_across_orthographic_variants() -> None:
    variant = A.replace("ی", "ي").replace("ک", "ك").replace("\u200c", "")
    v = dedup([DedupItem(1, match_key(A)), DedupItem(2, match_key(variant))])
    assert v[1].verdict == "pass" and (v[2].verdict, v[2].reason, v[2].detail["keeper"]) == ("fail", "duplicate_of", 1)


def test_near_duplicates_fail_naming_the_keeper_and_seeds_win() -> None:
    near = A.replace("علی", "رضا", 1)
    other = "مفعول با نشانهٔ «را» می‌آید و کار روی آن انجام می‌شود؛ مثلاً در «مریم نامه را نوشت» نامه مفعول است."
    items = [DedupItem(1, match_key(A)), DedupItem(2, match_key(near)), DedupItem(3, match_key(other)),
             DedupItem(9, match_key(near), seed=True)]
    v = dedup(items)
    assert v[9].verdict == "pass" and v[3].verdict == "pass"
    assert v[1].reason == "near_duplicate_of" and v[1].detail["keeper"] == 9
    assert v[2].reason == "duplicate_of" and v[2].detail["keeper"] == 9


def test_a_generated_duplicate_never_removes_a_seed() -> None:
    items = [DedupItem(1, match_key(A), accepted=True, judge_score=1.0), DedupItem(5, match_key(A), seed=True)]
    v = dedup(items)
    assert v[5].verdict == "pass" and v[1].verdict == "fail"


def test_keeper_prefers_judge_score_then_age() -> None:
    v = dedup([DedupItem(1, match_key(A), judge_score=0.6), DedupItem(2, match_key(A), judge_score=0.9),
               DedupItem(3, match_key(A), judge_score=0.9)])
    assert v[2].verdict == "pass" and v[1].detail["keeper"] == 2 and v[3].detail["keeper"] == 2

# -- decontamination --------------------------------------------------------------------------


EVAL_Q = "سرودن شاهنامه چند سال طول کشید و این کتاب چند بیت دارد؟"
EVAL_A = "سرودن شاهنامه نزدیک به سی سال طول کشید و این کتاب حدود پنجاه هزار بیت دارد و داستان ایران را روایت می‌کند."


def text(id_: int, q: str, a: str) -> Text:
    return Text(id_, match_key(q + "\n" + a), match_key(q))


def test_an_arabic_spelled_eval_item_catches_its_persian_copy() -> None:
    arabic_eval = text(100, EVAL_Q.replace("ی", "ي").replace("ک", "ك"),
                       EVAL_A.replace("ی", "ي").replace("ک", "ك").replace("سی", "٣٠"))
    copy = text(1, "یک پرسش دیگر درباره‌ی فردوسی", "به گفته‌ی متن، " + EVAL_A.replace("سی", "۳۰"))
    clean = text(2, "فتوسنتز چیست؟", "فتوسنتز فرایندی است که گیاه با نور خورشید غذای خود را می‌سازد.")
    v = decontaminate([copy, clean], [arabic_eval])
    assert v[2].verdict == "pass"
    assert (v[1].verdict, v[1].reason) == ("fail", "contaminated")
    hit = v[1].detail["hits"][0]
    assert hit["eval_id"] == 100 and hit["test"] == "8-gram" and "پنجاه هزار بیت" in hit["span"]


def test_short_eval_questions_are_caught_by_fuzzy_match() -> None:
    short_eval = text(200, "فاعل در جمله ی «علی آمد» کدام است؟", "علی")
    rephrased = text(3, "فاعل در جملهٔ «علی آمد» کدام است", "«علی» فاعل است چون آمدن را انجام داده است.")
    v = decontaminate([rephrased], [short_eval])
    assert v[3].verdict == "fail" and v[3].detail["hits"][0]["test"] == "fuzzy question"


def test_ngram_size_is_configurable() -> None:
    from curator.gates.decontam import DecontamSettings

    e = text(100, "پرسش", "الف ب پ ت ث ج چ ح خ د")
    c = text(1, "پرسش دیگر", "یک دو الف ب پ ت ث سه")
    assert decontaminate([c], [e], DecontamSettings(ngram=8, short_question_words=0))[1].verdict == "pass"
    assert decontaminate([c], [e], DecontamSettings(ngram=5, short_question_words=0))[1].verdict == "fail"
