"""Content, not template: what an example says (its content units), what its family shares (the
scaffold, learned from the family's items), and what two examples' content has in common."""

from __future__ import annotations

from curator.gates.content import Content, content_of
from curator.gates.scaffold import Scaffold, compare, same_content


def conv(user: str, assistant: str) -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def test_content_reads_words_numbers_quotes_and_the_frame() -> None:
    c = content_of(conv("اگر سارا ۳ دفتر بخرد و قیمت هر دفتر چهل هزار تومان باشد، روی هم چقدر می‌دهد؟",
                        "۳ × ۴۰٬۰۰۰ = ۱۲۰٬۰۰۰ تومان."))
    assert {"سارا", "دفتر", "بخرد", "تومان"} <= c.words and "هر" not in c.words and "چهل" not in c.words
    assert c.numbers == ("3", "40000") and "120000" in c.answer_numbers
    assert c.frame[:4] == ("اگر", "سارا", "#", "دفتر")
    quoted = content_of(conv("در جملهٔ «علی کتاب را خواند»، فاعل را مشخص کن.", "«علی» فاعل است."))
    assert quoted.quotes == (("علی", "کتاب", "خواند"),)
    assert Content.from_json(quoted.to_json()) == quoted


def test_tool_call_arguments_are_part_of_the_answer() -> None:
    messages = [{"role": "user", "content": "حاصل ۱۱ ضربدر ۷۰ چقدر است؟"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"type": "function", "id": "c", "function": {"name": "calculator",
                                                                 "arguments": '{"expression": "11*70"}'}}]},
                {"role": "tool", "tool_call_id": "c", "content": "770"},
                {"role": "assistant", "content": "حاصل ۷۷۰ است."}]
    c = content_of(messages)
    assert c.numbers == ("11", "70") and {"11", "70", "770"} <= set(c.answer_numbers)


def family(*asks: str) -> list[Content]:
    return [content_of(conv(a, "پاسخ.")) for a in asks]


def test_a_family_learns_its_scaffold_and_a_young_family_has_none() -> None:
    items = family(*[f"در جملهٔ «{s}»، فاعل و مفعول را مشخص کن." for s in (
        "علی کتاب را خواند", "پدر ماشین را شست", "گربه موش را گرفت", "مادر آش را پخت", "نجار میز را ساخت",
        "رضا در را بست", "باد برگ‌ها را ریخت", "کودک شیر را نوشید", "نرگس گل‌ها را آب داد", "بابا روزنامه را خواند",
    ) * 6])
    scaffold = Scaffold.learn(items)
    assert not scaffold.is_content("فاعل") and not scaffold.is_content("مشخص")
    assert scaffold.is_content("نجار") and scaffold.weight("نجار") > scaffold.weight("فاعل")
    assert "فاعل" in dict(scaffold.template())
    young = Scaffold.learn(items[:3])
    assert young.is_content("فاعل"), "three items say nothing about a template yet"


def test_numbers_conflict_by_value_and_a_number_on_one_side_only_is_no_objection() -> None:
    scaffold = Scaffold()
    a, b, c = family("حاصل ۱۱ ضربدر ۷۰ چقدر است؟", "حاصل ۱۳ ضربدر ۷۰ چقدر است؟", "هفتاد ضربدر یازده چند می‌شود؟")
    assert compare(a, b, scaffold).conflict == "numbers"
    assert compare(c, a, scaffold).conflict is None
    d, e = family("نقش دو واژهٔ «علی» و «کتاب» را در «علی کتاب را خواند» بگو", "در «علی کتاب را خواند» فاعل کدام است؟")
    assert compare(d, e, scaffold).conflict is None and compare(d, e, scaffold).quote == ("علی", "کتاب", "خواند")


def test_different_quoted_sentences_and_another_slot_in_one_frame_are_other_content() -> None:
    scaffold = Scaffold()
    a, b = family("در جملهٔ «مریم به مدرسه رفت» متمم کدام است؟", "در جملهٔ «مریم در کتابخانه درس خواند» متمم کدام است؟")
    assert compare(a, b, scaffold).conflict == "quotes"
    c, d, e = family("پایتخت ژاپن کدام شهر است؟", "پایتخت کرهٔ جنوبی کدام شهر است؟", "پایتخت ژاپن چه شهری است؟")
    assert compare(c, d, scaffold).conflict is None, "a young family cannot tell a slot from rewording"
    countries = ("فرانسه", "آلمان", "ترکیه", "مصر", "چین", "هند", "روسیه", "ایتالیا", "اسپانیا", "عراق", "برزیل")
    scaffold = Scaffold.learn(family(*[f"پایتخت {x} کدام شهر است؟" for x in countries * 2]))
    assert compare(c, d, scaffold).conflict == "slot"
    assert compare(c, e, scaffold).conflict is None, "«شهر» and «شهری» are one word"
    assert same_content(compare(e, c, scaffold), 0.5)


def test_coverage_is_the_share_of_the_other_items_content_weight() -> None:
    scaffold = Scaffold()
    eval_item = content_of(conv("سارا ۳ دفتر ۴۰ هزار تومانی خرید. چقدر داد؟", "۱۲۰ هزار تومان."))
    leak = content_of(conv("سارا سه تا دفتر چهل هزار تومانی خریده؛ کلاً چقدر باید بده؟", "روی هم ۱۲۰ هزار تومان."))
    match = compare(leak, eval_item, scaffold)
    assert match.conflict is None and match.coverage >= 0.5 and same_content(match, 0.5)
    assert {"سارا", "دفتر"} <= set(match.shared) and {"3", "40000", "120000"} <= set(match.evidence()["numbers"])
