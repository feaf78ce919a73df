"""The mechanical defects regression set: every defect is caught by the gate meant for it (with its
reason code and evidence), and no clean item is failed or flagged by any per-example gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.families import load_families
from curator.gates.base import GateContext
from curator.gates.defects import ContentGate, phrases_for
from curator.gates.math_tools import MathGate, final_answer
from curator.gates.rules import FormatGate
from curator.services.gating.runner import PER_EXAMPLE, check_example
from curator.generators.tools import TOOLS
from curator.models import Example, Message
from curator.text.numbers import find_number_words

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = load_families(ROOT / "prompts").families
Q = "در جملهٔ «علی کتاب را خواند» فاعل کدام است؟"


def ex(*turns: tuple[str, str], family: str = "grammar_tutor", **kw) -> Example:
    return Example(family=family, task_type=kw.pop("task_type", "explanation"),
                   messages=[Message(role=r, content=c) for r, c in turns], **kw)


def qa(reply: str, family: str = "grammar_tutor", question: str = Q, **kw) -> Example:
    return ex(("user", question), ("assistant", reply), family=family, **kw)


def garble(text: str) -> str:
    """UTF-8 bytes shown as cp1252 (latin-1 where cp1252 has no character): classic mojibake."""
    out = []
    for b in text.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(bytes([b]).decode("latin-1"))
    return "".join(out)


PENCILS = "علی ۸ بسته مداد دارد و هر بسته ۴ مداد دارد. چند مداد دارد؟"


def math(answer: str, solution: str, question: str = PENCILS) -> Example:
    return qa(solution, "school_math", question, answer=answer, task_type="four_operations")


def tool_trace(final: str) -> Example:
    msgs = [Message(role="user", content="حاصل ۲۳ ضربدر ۴۷ چند می‌شود؟"),
            Message(role="assistant", tool_calls=[{"type": "function", "id": "c1", "function": {
                "name": "calculator", "arguments": '{"expression": "23*47"}'}}]),
            Message(role="tool", content="1081", tool_call_id="c1"),
            Message(role="assistant", content=final)]
    return Example(family="tool_calling", task_type="tool_needed", messages=msgs, tools=[TOOLS["calculator"]])


def tool_negative(user: str, answer: str, task: str = "no_tool_needed") -> Example:
    return Example(family="tool_calling", task_type=task, tools=[TOOLS["calculator"], TOOLS["get_weather"]],
                   messages=[Message(role="user", content=user), Message(role="assistant", content=answer)])


LONG = "فعل این جمله «خواند» است و زمان آن گذشتهٔ ساده است"

# (example, gate meant to catch it, reason)
DEFECTS = [
    # truncation
    (qa("«علی» فاعل است، چون او کسی است که کار خواندن را انجام داده و"), "content", "truncated"),
    (qa("فاعل جمله «علی» است زیرا انجام‌دهندهٔ کار است اما باید توجه کنیم که"), "content", "truncated"),
    (qa("«علی» فاعل است و «کتاب» مفعول است، چون نشانهٔ «را» بعد از آن آمده است و فعل جمله"), "content", "truncated"),
    (qa("در این جمله «علی» فاعل است؛ برای پیدا کردن فاعل می‌پرسیم چه کسی کتاب را خواند، یا"), "content", "truncated"),
    (qa("«علی» فاعل است. برای پیدا کردن فاعل از خود بپرسید چه کسی کار را انجام داده است، مثلاً ..."),
     "content", "truncated"),
    # refusals outside safety
    (qa("متأسفانه نمی‌توانم در این مورد کمک کنم."), "content", "refusal"),
    (qa("من قادر به پاسخگویی نیستم. لطفاً از معلم خود بپرسید."), "content", "refusal"),
    (qa("I'm sorry, but I can't help with that request."), "content", "refusal"),
    (qa("نمی‌توانم به این سوال پاسخ بدهم، چون اطلاعات کافی ندارم."), "content", "refusal"),
    # AI disclaimers outside safety
    (qa("به عنوان یک مدل زبانی، فکر می‌کنم «علی» فاعل این جمله است."), "content", "ai_disclaimer"),
    (qa("من یک هوش‌مصنوعی هستم، ولی پاسخ این است: «علی» فاعل است."), "content", "ai_disclaimer"),
    (qa("As an AI language model, I think «علی» فاعل است."), "content", "ai_disclaimer"),
    (math("32", "به‌عنوان دستیار هوش مصنوعی می‌گویم: ۸ × ۴ = ۳۲. پس علی ۳۲ مداد دارد."), "content", "ai_disclaimer"),
    # degenerate repetition
    (qa(" ".join(["«علی» فاعل است."] * 12)), "content", "repetition"),
    (qa("فاعل «علی» است. " + " ".join(["کتاب را خواند و کتاب را خواند"] * 8) + "."), "content", "repetition"),
    (qa(" ".join(["جواب درست است."] * 6)), "content", "repetition"),
    (qa("«علی» فاعل است و این " + " ".join(["خیلی"] * 10) + " مهم است."), "content", "repetition"),
    (qa("فاعل «علی» است. چون او کتاب را خواند. فاعل «علی» است. چون او کتاب را خواند. "
        "فاعل «علی» است. چون او کتاب را خواند."), "content", "repetition"),
    # template leftovers
    (qa("<user>فاعل کدام است؟</user> «علی» فاعل است، چون کار را انجام داده است."), "format", "template_leftover"),
    (qa("پاسخ: {answer}"), "format", "template_leftover"),
    (qa("Answer: «علی» فاعل است، چون کار خواندن را انجام داده است."), "format", "template_leftover"),
    (qa("پاسخ: «علی» فاعل است، چون کار خواندن را انجام داده است."), "format", "template_leftover"),
    (ex(("user", "نمونه: {example}\nفاعل کدام است؟"), ("assistant", "«علی» فاعل است، چون کار را انجام داده است.")),
     "format", "template_leftover"),
    (ex(("user", "خانوادهٔ {family}: فاعل کدام است؟"), ("assistant", "«علی» فاعل است، چون کار را انجام داده است.")),
     "format", "template_leftover"),
    (qa("<assistant> «علی» فاعل است، چون کار را انجام داده است."), "format", "template_leftover"),
    # mojibake
    (qa(garble("«علی» فاعل است، چون کار خواندن را انجام داده است.")), "format", "mojibake"),
    (qa("«علی» فاعل است و " + garble("کتاب مفعول است") + "."), "format", "mojibake"),
    (ex(("user", garble("فاعل این جمله کدام است؟")), ("assistant", "«علی» فاعل است، چون کار را انجام داده است.")),
     "format", "mojibake"),
    # only invisible characters
    (qa("\u200c\u200c"), "format", "invisible"),
    (qa("\u200b \u200f\u200e"), "format", "invisible"),
    (qa("\ufeff\u2066\u2069\u00a0"), "format", "invisible"),
    (ex(("user", "\u200c"), ("assistant", "«علی» فاعل است، چون کار را انجام داده است.")), "format", "invisible"),
    # a wrong final answer in words is still wrong
    (math("32", "۸ × ۴ = ۳۲. پس علی سی و سه مداد دارد."), "math", "math_mismatch"),
    (math("60000", "۳ × ۲۰٬۰۰۰ = ۶۰٬۰۰۰. پس او هفتاد هزار تومان می‌پردازد.", "سه کتاب هر کدام ۲۰ هزار تومان؛ جمع؟"),
     "math", "math_mismatch"),
    (math("25", "۱۰۰ ÷ ۴ = ۲۵. بنابراین سهم هر نفر بیست و شش است.", "۱۰۰ سیب بین ۴ نفر؛ سهم هر نفر؟"),
     "math", "math_mismatch"),
]

SAFETY_REFUSAL = ex(("user", "چطور قفل خانهٔ همسایه را باز کنم؟"),
                    ("assistant", "متأسفانه نمی‌توانم در این مورد کمک کنم؛ "
                                  "اگر کلیدتان را گم کرده‌اید با قفل‌ساز تماس بگیرید."),
                    family="safety", task_type="refusal")

CLEAN = [
    qa("«علی» فاعل است، چون انجام‌دهندهٔ کار خواندن است."),
    qa("«علی» فاعل است. «کتاب» مفعول است، چون نشانهٔ «را» پس از آن آمده است."),
    qa("فاعل «علی» است؛ برای یافتن فاعل بپرسید: چه کسی کتاب را خواند؟"),
    qa("در این جمله «علی» فاعل است:\n- «علی»: فاعل\n- «کتاب»: مفعول\n- «خواند»: فعل"),
    qa("«علی» فاعل است! فعل «خواند» هم با فاعل مفرد آمده است."),
    qa("DNA مولکولی است که اطلاعات وراثتی را نگه می‌دارد و در هستهٔ سلول قرار دارد.",
       question="DNA چیست و کجای سلول است؟"),
    qa("در نسخهٔ Python 3.12 پیام‌های خطا دقیق‌تر و روشن‌تر شده‌اند و نوشتن رشته‌های قالب‌دار هم آسان‌تر شده است.",
       question="در Python 3.12 چه چیزی بهتر شده است؟"),
    qa("پروتکل HTTP برای انتقال صفحه‌های وب به کار می‌رود و نسخهٔ امن آن HTTPS است.",
       question="HTTP برای چیست؟"),
    qa("واحد پردازش مرکزی یا CPU دستورهای برنامه را اجرا می‌کند (مثلاً در یک لپ‌تاپ).",
       question="CPU چه کاری انجام می‌دهد؟"),
    qa("«کتاب‌ها» جمع «کتاب» است و «ها» نشانهٔ جمع است. «کتب» جمع مکسر عربی آن است.",
       question="جمع «کتاب» چیست؟"),
    qa("او بیست و پنج سال دارد و هر روز سی دقیقه ورزش می‌کند.", question="جملهٔ نمونه با عدد بنویس."),
    qa("در جملهٔ «دو برابر تلاش کن» واژهٔ «برابر» قید است و «دو» صفت شمارشی است.",
       question="نقش «برابر» در «دو برابر تلاش کن» چیست؟"),
    qa("«من نیز آمدم» درست است؛ «نیز» به معنای «هم» است و پیش از فعل می‌آید.",
       question="«من نیز آمدم» درست است؟"),
    qa("بله، «علی» فاعل است", "dialogue", "آیا «علی» فاعل است؟", task_type="chat"),
    qa("فاعل «علی» است", "dialogue", "فاعل جمله را کوتاه بگو.", task_type="chat"),
    qa("جملهٔ «او گفت که می‌آید» دو بخش دارد و «که» دو بخش را به هم وصل می‌کند.",
       question="«که» در این جمله چه نقشی دارد؟"),
    qa("واژهٔ «اما» حرف ربط است، مثل «و»، «یا» و «چون».", question="«اما» چه نوع کلمه‌ای است؟"),
    # math: final answers in digits and in words
    math("32", "۸ × ۴ = ۳۲. پس علی سی و دو مداد دارد."),
    math("60000", "۳ × ۲۰٬۰۰۰ = ۶۰٬۰۰۰. پس او شصت هزار تومان می‌پردازد.", "سه کتاب هر کدام ۲۰ هزار تومان؛ جمع؟"),
    math("25", "۱۰۰ ÷ ۴ = ۲۵. بنابراین سهم هر نفر بیست و پنج سیب است.", "۱۰۰ سیب بین ۴ نفر؛ سهم هر نفر؟"),
    math("1500", "۳ × ۵۰۰ = ۱۵۰۰. جواب نهایی هزار و پانصد متر است.", "سه دور ۵۰۰ متری؛ مسافت؟"),
    # the answer in words after digits in the same sentence (the old gate took ۳۰ and ۴ as the answer)
    math("60000", "هر مداد ۲۰۰۰ تومان است و او ۳۰ مداد می‌خرد، پس شصت هزار تومان می‌پردازد.",
         "هر مداد ۲۰۰۰ تومان؛ ۳۰ مداد چند؟"),
    math("32", "علی ۸ بسته دارد و در هر بسته ۴ مداد است، پس روی هم سی و دو مداد دارد."),
    math("32", "هر بسته ۴ مداد دارد و ۸ بسته داریم: ۸ × ۴ = ۳۲. پس علی ۳۲ مداد دارد که دو برابر مدادهای رضا است."),
    math("120000", "۳ × ۴۰٬۰۰۰ = ۱۲۰٬۰۰۰. بنابراین علی ۱۲۰ هزار تومان پرداخت می‌کند.", "سه پیراهن هر کدام ۴۰ هزار؟"),
    # tool calling: a trace and the negatives
    tool_trace("حاصل ۲۳ ضربدر ۴۷ برابر ۱۰۸۱ است."),
    tool_negative("پایتخت ایران کجاست؟", "پایتخت ایران تهران است.", "no_tool_needed"),
    tool_negative("هوا چطوره؟", "هوای کدام شهر را می‌خواهید بدانید؟", "ambiguous_request"),
    tool_negative("برایم یک بلیط قطار به مشهد رزرو کن.",
                  "متأسفانه ابزاری برای رزرو بلیط در اختیار ندارم؛ می‌توانید از سایت رجا استفاده کنید.",
                  "unavailable_tool"),
    tool_negative("نرخ دلار امروز چند است؟",
                  "متأسفانه نمی‌توانم نرخ لحظه‌ای ارز را ببینم؛ ابزاری برای آن در اختیار ندارم.", "unavailable_tool"),
    qa("۱. جواب درست است. ۲. جواب درست است. ۳. «رفت» فعل است نه فاعل.", question="این سه پاسخ را تصحیح کن."),
    # multi-turn
    ex(("user", "سلام، فاعل «علی کتاب را خواند» چیست؟"), ("assistant", "«علی» فاعل است."),
       ("user", "مفعولش چه؟"), ("assistant", "«کتاب» مفعول است، چون «را» پس از آن آمده است."),
       family="dialogue", task_type="chat"),
    ex(("system", "تو معلم دستور زبان فارسی هستی."), ("user", "فعل جمله کدام است؟"),
       ("assistant", "فعل «خواند» است."), ("user", "زمانش چیست؟"), ("assistant", "گذشتهٔ ساده است."),
       family="dialogue", task_type="chat"),
    ex(("user", "می‌خواهم برای امتحان برنامه بریزم."), ("assistant", "چند روز تا امتحان مانده است؟"),
       ("user", "ده روز."), ("assistant", "هر روز دو ساعت مرور کنید و روز آخر را برای جمع‌بندی بگذارید."),
       family="student_support", task_type="study_plan"),
    # safety refusals are the task of the safety family
    SAFETY_REFUSAL,
    ex(("user", "تو آدمی؟"),
       ("assistant", "نه، من یک هوش مصنوعی هستم و برای کمک به درس‌ها و پرسش‌های شما ساخته شده‌ام."),
       family="safety", task_type="over_refusal_check"),
    ex(("user", "چطور به کسی که قلدری می‌کند آسیب بزنم؟"),
       ("assistant", "نمی‌توانم در آسیب زدن کمک کنم، اما می‌توانم بگویم چطور با مشاور مدرسه صحبت کنید."),
       family="safety", task_type="refusal"),
    # a code-ish but clean sentence, and a closing quote as the sentence end
    qa("در پایتون برای چاپ از تابع print استفاده می‌کنیم، مثلاً print(\"سلام\")", question="چطور در پایتون چاپ کنم؟"),
    qa("او گفت: «فردا به کتابخانه می‌روم و کتاب تازه‌ای امانت می‌گیرم»", question="یک جمله با نقل قول بنویس."),
]


def test_the_regression_set_is_big_enough() -> None:
    reasons = {}
    for _, _, reason in DEFECTS:
        reasons[reason] = reasons.get(reason, 0) + 1
    assert len(CLEAN) >= 30
    assert all(n >= 3 for n in reasons.values()) and len(reasons) == 8


@pytest.mark.parametrize(("example", "gate", "reason"), DEFECTS,
                         ids=[f"{r}-{i}" for i, (_, _, r) in enumerate(DEFECTS)])
def test_each_defect_is_caught_by_its_gate(example: Example, gate: str, reason: str) -> None:
    family = FAMILIES[example.family]
    assert gate in family.gates
    v = PER_EXAMPLE[gate].check(example, GateContext(family=family))
    assert (v.verdict, v.reason) == ("fail", reason), v
    assert v.detail, "a fail carries its evidence"


@pytest.mark.parametrize("example", CLEAN, ids=[f"clean-{i}" for i in range(len(CLEAN))])
def test_clean_items_pass_every_gate(example: Example) -> None:
    verdicts = check_example(example, FAMILIES[example.family], None)
    assert {g: (v.verdict, v.reason) for g, v in verdicts.items() if v.verdict != "pass"} == {}


def test_evidence_names_what_was_found() -> None:
    ctx = GateContext(family=FAMILIES["grammar_tutor"])
    v = ContentGate().check(qa("به عنوان یک مدل زبانی، «علی» فاعل است."), ctx)
    assert v.detail == {"turn": 1, "phrase": "به عنوان یک مدل زبانی"}
    v = ContentGate().check(qa("«علی» فاعل است، چون کار را انجام داده و"), ctx)
    assert (v.detail["problem"], v.detail["word"]) == ("ends on a connective", "و")
    v = ContentGate().check(qa(" ".join(["«علی» فاعل است."] * 5)), ctx)
    assert (v.detail["kind"], v.detail["count"]) == ("sentence", 5)
    v = FormatGate().check(qa(garble("سلام دنیا") + " «علی» فاعل است."), ctx)
    assert v.detail["repaired"].startswith("سلام")
    v = FormatGate().check(qa("\u200c\u200b"), ctx)
    assert v.detail["characters"] == ["U+200B", "U+200C"]
    v = FormatGate().check(ex(("user", "{seed_words}"), ("assistant", "«علی» فاعل است.")), ctx)
    assert v.detail == {"turn": 0, "text": "{seed_words}"}


def test_template_placeholders_come_from_the_family_files(tmp_path: Path) -> None:
    """A placeholder only a family's own template uses is a leftover, though no code names it."""
    family = FAMILIES["grammar_tutor"]
    custom = type(family)(**{**family.__dict__, "user": family.user + "\n{persona}"})
    v = FormatGate().check(qa("«علی» فاعل است. {persona}"), GateContext(family=custom))
    assert (v.reason, v.detail["text"]) == ("template_leftover", "{persona}")


def test_the_phrase_list_is_editable_in_the_prompts_folder(tmp_path: Path) -> None:
    (tmp_path / "families").mkdir()
    for name in ("grammar_tutor", "safety"):
        (tmp_path / "families" / f"{name}.toml").write_bytes((ROOT / "prompts/families" / f"{name}.toml").read_bytes())
    (tmp_path / "phrases.toml").write_text('exempt_families = []\nrefusal = ["حرفی ندارم"]\n', encoding="utf-8")
    families = load_families(tmp_path).families
    assert phrases_for(families["grammar_tutor"]).lists["refusal"][0][1] == "حرفی ندارم"
    v = ContentGate().check(qa("حرفی ندارم."), GateContext(family=families["grammar_tutor"]))
    assert (v.verdict, v.reason) == ("fail", "refusal")
    # safety is no longer exempt under this file, but its refusal phrase is no longer listed either
    assert ContentGate().check(SAFETY_REFUSAL, GateContext(family=families["safety"])).verdict == "pass"
    assert ContentGate().check(ex(("user", "؟"), ("assistant", "حرفی ندارم."), family="safety"),
                               GateContext(family=families["safety"])).reason == "refusal"


def test_number_words_in_a_final_answer() -> None:
    assert final_answer("۸ × ۴ = ۳۲. پس علی سی و دو مداد دارد.") == 32
    assert final_answer("پس او شصت هزار تومان می‌پردازد.") == 60000
    assert final_answer("قیمت ۱۲۰ هزار تومان است.") == 120000
    assert [v for v, _, _ in find_number_words("یک کتاب و دو برابر و سی‌ام و بیست و نه")] == [29]
    assert MathGate().check(math("32", "۸ × ۴ = ۳۲. پس علی سی و دو مداد دارد."), GateContext()).verdict == "pass"
