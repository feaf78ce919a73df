"""Heuristic passage classification: usefulness tags, a quality level and task families.

Every tag and the quality level come with the rule that fired (`rules`), so a curator can see why.
The rules are deliberately simple and transparent; the teacher can refine them later.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from curator.config import Window
from curator.text.script import latin_runs, script_stats, words

GRAMMAR_TERMS = (
    "فاعل", "مفعول", "متمم", "مسند", "نهاد", "گزاره", "قید", "صفت", "موصوف", "مضاف", "مضاف‌الیه", "فعل لازم",
    "فعل متعدی", "حرف اضافه", "دستور زبان", "جمله ساده", "جمله مرکب", "جملهٔ ساده", "جملهٔ مرکب",
    "بن ماضی", "بن مضارع", "ضمیر", "وابسته", "هسته", "شناسه", "نقش دستوری", "نقش‌های دستوری",
)
EDUCATION_TERMS = (
    "دانش‌آموز", "دانش‌آموزان", "دانش آموز", "درس", "مثال", "برای نمونه", "تمرین", "یاد بگیریم", "مدرسه",
    "معلم", "به عبارت دیگر", "یعنی", "توضیح", "پرسش", "فصل", "کتاب درسی", "آزمایش",
)
MATH_TERMS = ("جمع", "تفریق", "ضرب", "تقسیم", "کسر", "درصد", "معادله", "مساحت", "محیط", "حاصل", "عدد", "میانگین")
TOOL_TERMS = ("پارامتر", "تابع", "ورودی", "خروجی", "api", "json", "endpoint", "parameters", "function")
BOILERPLATE_TERMS = (
    "کلیه حقوق", "تمامی حقوق", "حقوق محفوظ", "copyright", "ثبت نام", "ورود به حساب", "تماس با ما",
    "درباره ما", "سبد خرید", "کوکی", "cookie", "عضویت در خبرنامه", "اشتراک‌گذاری", "منبع:",
)
FACT_TERMS = ("در سال", "قرن", "سده", "میلادی", "خورشیدی", "هجری", "کیلومتر", "درصد", "جمعیت", "پایتخت",
              "استان", "قرار دارد", "به دنیا آمد")
DEFINITION_TERMS = ("می‌گویند", "می‌گوییم", "نامیده می‌شود", "نام دارد", "گفته می‌شود", "عبارت‌اند از",
                    "به شمار می‌آید", "یعنی", "به همین دلیل", "فرایند")


_TERM_LISTS = {
    "grammar": GRAMMAR_TERMS, "education": tuple(dict.fromkeys(EDUCATION_TERMS + DEFINITION_TERMS)),
    "math": MATH_TERMS, "tool": TOOL_TERMS, "boilerplate": BOILERPLATE_TERMS, "facts": FACT_TERMS,
}
# One lookup for all lists: one-word terms against the set of words, phrases (and terms with
# punctuation) as substrings.
_SINGLE_WORDS = frozenset(t for terms in _TERM_LISTS.values() for t in terms if " " not in t and ":" not in t)
# A phrase can only occur if all its words do (as `words` cuts them: «جملهٔ» is «جمله»), so set
# lookups spare most substring searches.
_PHRASES = tuple(sorted({(frozenset(words(t)), t) for terms in _TERM_LISTS.values() for t in terms
                         if t not in _SINGLE_WORDS}, key=lambda item: item[1]))
_PHRASE_WORDS = frozenset().union(*(needed for needed, _ in _PHRASES))
_TERM_WORDS = _SINGLE_WORDS | _PHRASE_WORDS


# Each list as a set, and where each of its terms stands in it.
_LIST_SETS = {name: (frozenset(terms), {t: i for i, t in enumerate(terms)}.__getitem__)
              for name, terms in _TERM_LISTS.items()}


def term_hits(text: str, wordset: Collection[str]) -> dict[str, list[str]]:
    """For each term list, the terms found in `text` (whose words are `wordset`), in list order."""
    term_words = _TERM_WORDS.intersection(wordset)
    found = term_words & _SINGLE_WORDS
    present = term_words & _PHRASE_WORDS
    phrases = [p for needed, p in _PHRASES if needed <= present and p in text] if present else []
    if phrases:
        found = found.union(phrases)
    return {name: sorted(found.intersection(terms), key=place) for name, (terms, place) in _LIST_SETS.items()}


_LATIN_WORD = re.compile(r"[a-z]+")
_DIGIT_RUN = re.compile("[0-9۰-۹]+")
# Runs of Latin letters and digits together: one scan of the text finds both (they are rare in Persian).
_LATIN_OR_DIGIT = re.compile("[A-Za-z\u00C0-\u024F0-9۰-۹]+")
_MATH_EXPR = re.compile(r"[0-9۰-۹٠-٩]+\s*[+\-×÷*/=]\s*[0-9۰-۹٠-٩]+")
_LIST_LINE = re.compile(r"^\s*(?:[-*•▪●]|[0-9۰-۹]+[.)\-]|[a-zA-Z][.)])\s+", re.M)
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$", re.M)
_DIALOGUE_LINE = re.compile(r"^\s*(?:[-—–]\s*|[^\s:：]{1,20}\s*[:：]\s+)\S", re.M)
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_OPERATOR = re.compile("[-+×÷*/=]")

# Which families can use a passage with a given tag.
FAMILIES_BY_TAG = {
    "grammar": ("grammar_tutor", "student_support"),
    "education": ("student_support", "summarization", "passage_qa"),
    "factual": ("passage_qa", "summarization", "dialogue"),
    "math": ("school_math",),
    "tool-doc": ("tool_calling",),
    "dialogue": ("dialogue",),
}


@dataclass
class Classification:
    """Tags, quality and families of a passage, with the rules that produced them."""

    tags: list[str] = field(default_factory=list)
    quality: str = "medium"
    rules: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)

    def tag(self, tag: str, rule: str) -> None:
        if tag not in self.tags:
            self.tags.append(tag)
        self.rules.append(f"{tag}: {rule}")


def classify(text: str, window: Window = Window()) -> Classification:
    """Classify one passage by transparent rules (see `rules` in the result)."""
    c = Classification()
    multiline = text.count("\n") >= 2
    lines = [ln for ln in text.splitlines() if ln.strip()] if multiline else [text]
    n_lines = len(lines)

    arabic_words = words(text)
    counts = Counter(arabic_words)
    wordset: Collection[str] = counts
    latin: list[str] = []
    digit_runs: list[str] = []
    if mixed := _LATIN_OR_DIGIT.findall(text):
        runs = " ".join(mixed)
        latin, digit_runs = latin_runs(runs), _DIGIT_RUN.findall(runs)
        if latin:
            wordset = counts.keys() | _LATIN_WORD.findall(" ".join(latin).lower())
    hits = term_hits(text, wordset)  # the phrases are Persian: no case to fold
    if len(grammar := hits["grammar"]) >= 2:
        c.tag("grammar", "grammar terms " + "، ".join(grammar[:4]))
    edu = hits["education"]
    if len(edu) >= 2:
        c.tag("education", "teaching or defining words " + "، ".join(edu[:4]))
    has_expr = _OPERATOR.search(text) is not None and _MATH_EXPR.search(text) is not None
    if has_expr:
        c.tag("math", "arithmetic expression")
    elif len(math_words := hits["math"]) >= 3:
        c.tag("math", "math words " + "، ".join(math_words[:4]))
    if len(tool := hits["tool"]) >= 2 or ("{" in text and '":' in text):
        c.tag("tool-doc", "API words " + ", ".join(tool[:4]) if tool else "JSON object")
    if multiline:
        speakers = len(_DIALOGUE_LINE.findall(text))
        if speakers >= 3 and speakers * 2 >= n_lines:
            c.tag("dialogue", "speaker lines")
    years = sum(1 for run in digit_runs if 3 <= len(run) <= 4)
    facts = len(hits["facts"]) + years
    if facts >= 2:
        c.tag("factual", f"{facts} dates, quantities or places")
    if multiline:
        list_lines = len(_LIST_LINE.findall(text)) + len(_TABLE_LINE.findall(text))
        if n_lines >= 3 and list_lines * 2 > n_lines:
            c.tag("list/table", f"{list_lines} of {n_lines} lines are list items or table rows")
    if boiler := hits["boilerplate"]:
        c.tag("boilerplate", "site furniture " + "، ".join(boiler[:3]))
    elif ("://" in text or "ww." in text or "WW." in text) and len(_URL.findall(text)) >= 3:
        c.tag("boilerplate", "many links")
    if len(text) < window.min_chars:
        c.tag("too-short", f"{len(text)} < {window.min_chars} characters")
    if len(text) > window.max_chars:
        c.tag("too-long", f"{len(text)} > {window.max_chars} characters")

    stats = script_stats(text, arabic_words, word_counts=counts, latin=latin)
    sentences = text.count(". ") + text.count("؟") + text.count("!") + text.count("?") + text.endswith(".")
    useful = [t for t in c.tags if t in FAMILIES_BY_TAG]
    if stats.verdict != "fa":
        c.quality = "reject"
        c.rules.append(f"quality reject: language {stats.verdict} (Arabic-script ratio {stats.arabic_script_ratio:.2f})")
    elif "boilerplate" in c.tags or ("list/table" in c.tags and not useful):
        c.quality = "reject"
        c.rules.append("quality reject: boilerplate or bare list/table")
    elif "too-short" in c.tags and len(text) < window.min_chars // 2:
        c.quality = "reject"
        c.rules.append(f"quality reject: fragment of {len(text)} characters")
    elif useful and stats.arabic_script_ratio >= 0.85 and sentences >= 2 and "too-short" not in c.tags:
        c.quality = "high"
        c.rules.append(f"quality high: {', '.join(useful)}; {sentences} sentences; Persian ratio {stats.arabic_script_ratio:.2f}")
    else:
        c.rules.append(f"quality medium: {sentences} sentences; Persian ratio {stats.arabic_script_ratio:.2f}"
                       + ("" if useful else "; no usefulness tag"))
    if c.quality != "reject":
        for tag in useful:
            for family in FAMILIES_BY_TAG[tag]:
                if family not in c.families:
                    c.families.append(family)
    return c
