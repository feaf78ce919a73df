"""Heuristic passage classification: each tag and quality level comes with the rule that fired."""

import pytest

from curator.config import Window
from curator.corpus import classify
from curator.corpus.classify import term_hits
from curator.text.script import words

GRAMMAR = ("در جملهٔ «علی کتاب را خواند»، «علی» فاعل است و «کتاب» مفعول است. "
           "فعل متعدی به مفعول نیاز دارد. متمم با حرف اضافه می‌آید.")
SCIENCE = ("فتوسنتز فرایندی است که گیاه با آن غذا می‌سازد. برای نمونه برگ نور خورشید را می‌گیرد. "
           "به عبارت دیگر، گیاه انرژی نور را ذخیره می‌کند. این درس را با یک آزمایش ساده یاد بگیریم.")
# The sentences here are short; the default window would call them fragments.
SHORT = Window(20, 1500)
HISTORY = ("تخت جمشید در استان فارس قرار دارد. ساختن آن در سال ۵۱۸ پیش از میلاد آغاز شد "
           "و در قرن پنجم پیش از میلاد به پایان رسید. امروز گردشگران بسیاری از آن دیدن می‌کنند.")


def rules_for(c, tag: str) -> list[str]:
    return [r for r in c.rules if r.startswith(f"{tag}:")]


def test_grammar_passage_is_tagged_with_the_terms_that_fired() -> None:
    c = classify(GRAMMAR, SHORT)
    assert "grammar" in c.tags
    assert "فاعل" in rules_for(c, "grammar")[0]
    assert c.quality == "high"
    assert "grammar_tutor" in c.families


def test_terms_with_hamza_above_are_found() -> None:
    # «جملهٔ» is cut by the word splitter before its hamza: the phrase must still be looked up.
    c = classify("جملهٔ ساده یک فعل دارد. جملهٔ مرکب بیش از یک فعل دارد. " * 2)
    assert "grammar" in c.tags
    assert "جملهٔ ساده" in rules_for(c, "grammar")[0]


def test_a_term_in_two_of_the_education_lists_counts_once() -> None:
    hits = term_hits("یعنی", set(words("یعنی")))
    assert hits["education"] == ["یعنی"]
    assert "education" not in classify("این سنگ یعنی سنگ. " * 20).tags


def test_hits_keep_list_order_whatever_the_text_order() -> None:
    text = "شناسه ضمیر قید فاعل"
    assert term_hits(text, set(words(text)))["grammar"] == ["فاعل", "قید", "ضمیر", "شناسه"]


def test_latin_api_words_count_for_tool_docs() -> None:
    c = classify("این تابع یک پارامتر ورودی دارد و خروجی JSON برمی‌گرداند. نشانی API را ببینید.")
    assert "tool-doc" in c.tags


def test_education_and_factual_passages() -> None:
    assert "education" in classify(SCIENCE).tags
    history = classify(HISTORY)
    assert "factual" in history.tags
    assert {"passage_qa", "summarization"} <= set(history.families)


def test_arithmetic_expression_is_math() -> None:
    c = classify("حاصل ۱۲ + ۳۰ را حساب کنید. سپس جواب را بر ۶ تقسیم کنید. این تمرین جمع و تقسیم است.", SHORT)
    assert "math" in c.tags and "school_math" in c.families


def test_dialogue_lines_are_dialogue() -> None:
    text = "\n".join(["علی: سلام، حالت چطور است؟", "مریم: خوبم، ممنون.", "علی: درس را خواندی؟",
                      "مریم: بله، دیشب خواندم."])
    assert "dialogue" in classify(text).tags


def test_site_furniture_is_rejected() -> None:
    c = classify("تماس با ما | درباره ما | سبد خرید. کلیه حقوق این سایت محفوظ است. " * 3)
    assert "boilerplate" in c.tags
    assert c.quality == "reject" and c.families == []


def test_arabic_text_is_rejected_with_its_language() -> None:
    c = classify("ذهب الطالب إلى المدرسة في الصباح الباكر. كانت المدرسة قريبة من البيت الذي يسكن فيه. " * 3)
    assert c.quality == "reject"
    assert any("language ar" in r for r in c.rules)


def test_fragments_are_too_short_and_rejected() -> None:
    c = classify("فاعل و مفعول.", Window(200, 1500))
    assert "too-short" in c.tags and c.quality == "reject"


def test_a_list_without_useful_content_is_rejected() -> None:
    c = classify("- نان\n- پنیر\n- سبزی\n- گردو")
    assert "list/table" in c.tags and c.quality == "reject"


def test_plain_prose_without_a_useful_tag_is_medium() -> None:
    c = classify("امروز هوا خوب بود و ما به پارک رفتیم. بچه‌ها بازی کردند و ما چای نوشیدیم. " * 3)
    assert c.quality == "medium"
    assert c.rules[-1].endswith("no usefulness tag")


@pytest.mark.parametrize("text", [GRAMMAR, SCIENCE, HISTORY, "abc 1234 café ۱۳۹۹ API json"])
def test_every_tag_has_a_rule_and_quality_has_one_too(text: str) -> None:
    c = classify(text)
    for tag in c.tags:
        assert rules_for(c, tag)
    assert sum(r.startswith("quality ") for r in c.rules) == 1


def test_a_page_of_links_is_boilerplate_whatever_their_case() -> None:
    links = "پیوندها: HTTPS://example.com/a و www.example.com/b و Http://example.org/c را ببینید. " * 3
    c = classify(links)
    assert "boilerplate" in c.tags and any("many links" in r for r in c.rules)
