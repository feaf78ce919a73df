"""Heuristic passage classification: usefulness tags, a quality level and task families.

Every tag and the quality level come with the rule that fired (`rules`), so a curator can see why.
The rules are deliberately simple and transparent; the teacher can refine them later.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from curator.window import Window
from curator.text.script import ScriptStats, latin_runs, script_stats, words

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


@dataclass(slots=True)  # not frozen: a frozen dataclass is slow to make, and a batch makes thousands
class Features:
    """What the rules of `decide` look at in a passage (computed per text by `features`, or for a batch
    at once by `curator.corpus.batch.batch_features`: both must give the same)."""

    length: int  # characters
    lines: int  # non-blank lines (1 unless the text has two line breaks or more)
    hits: dict[str, list[str]]  # the terms found, per term list, in list order
    expression: bool  # an arithmetic expression (digits, an operator, digits)
    json_object: bool  # a brace and `":`
    speakers: int  # lines that open with a speaker or a dash (0 unless multiline)
    list_lines: int  # list items and table rows (0 unless multiline)
    years: int  # runs of 3 or 4 digits
    many_links: bool  # three links or more
    sentences: int
    stats: ScriptStats


def features(text: str) -> Features:
    """The features of one passage, with regular expressions."""
    multiline = text.count("\n") >= 2
    n_lines = sum(1 for ln in text.splitlines() if ln.strip()) if multiline else 1
    arabic_words = words(text)
    counts = Counter(arabic_words)
    wordset: Collection[str] = counts
    latin: list[str] = []
    digit_runs: list[str] = []
    if mixed := _LATIN_OR_DIGIT.findall(text):
        runs = " ".join(mixed)
        latin, digit_runs = latin_runs(runs), _DIGIT_RUN.findall(runs)
        if latin:
            wordset = counts.keys() | latin_words(latin)
    return Features(
        length=len(text),
        lines=n_lines,
        hits=term_hits(text, wordset),  # the phrases are Persian: no case to fold
        expression=_OPERATOR.search(text) is not None and _MATH_EXPR.search(text) is not None,
        json_object="{" in text and '":' in text,
        speakers=len(_DIALOGUE_LINE.findall(text)) if multiline else 0,
        list_lines=len(_LIST_LINE.findall(text)) + len(_TABLE_LINE.findall(text)) if multiline else 0,
        years=sum(1 for run in digit_runs if 3 <= len(run) <= 4),
        many_links=many_links(text),
        sentences=text.count(". ") + text.count("؟") + text.count("!") + text.count("?") + text.endswith("."),
        stats=script_stats(text, arabic_words, word_counts=counts, latin=latin),
    )


def latin_words(latin: list[str]) -> set[str]:
    """The lower-case ASCII words of the Latin runs of a text (what the Latin terms are looked up in)."""
    return set(_LATIN_WORD.findall(" ".join(latin).lower()))


def many_links(text: str) -> bool:
    """Three links or more (`http://`, `https://` or `www.`)."""
    return ("://" in text or "ww." in text or "WW." in text) and len(_URL.findall(text)) >= 3


def classify(text: str, window: Window = Window()) -> Classification:
    """Classify one passage by transparent rules (see `rules` in the result)."""
    return decide(features(text), window)


def decide(f: Features, window: Window = Window()) -> Classification:
    """The tags, quality and families the rules give a passage with features `f`."""
    c = Classification()
    hits = f.hits
    if len(grammar := hits["grammar"]) >= 2:
        c.tag("grammar", "grammar terms " + "، ".join(grammar[:4]))
    edu = hits["education"]
    if len(edu) >= 2:
        c.tag("education", "teaching or defining words " + "، ".join(edu[:4]))
    if f.expression:
        c.tag("math", "arithmetic expression")
    elif len(math_words := hits["math"]) >= 3:
        c.tag("math", "math words " + "، ".join(math_words[:4]))
    if len(tool := hits["tool"]) >= 2 or f.json_object:
        c.tag("tool-doc", "API words " + ", ".join(tool[:4]) if tool else "JSON object")
    n_lines = f.lines
    if f.speakers >= 3 and f.speakers * 2 >= n_lines:
        c.tag("dialogue", "speaker lines")
    facts = len(hits["facts"]) + f.years
    if facts >= 2:
        c.tag("factual", f"{facts} dates, quantities or places")
    if n_lines >= 3 and f.list_lines * 2 > n_lines:
        c.tag("list/table", f"{f.list_lines} of {n_lines} lines are list items or table rows")
    if boiler := hits["boilerplate"]:
        c.tag("boilerplate", "site furniture " + "، ".join(boiler[:3]))
    elif f.many_links:
        c.tag("boilerplate", "many links")
    length = f.length
    if length < window.min_chars:
        c.tag("too-short", f"{length} < {window.min_chars} characters")
    if length > window.max_chars:
        c.tag("too-long", f"{length} > {window.max_chars} characters")

    stats, sentences = f.stats, f.sentences
    useful = [t for t in c.tags if t in FAMILIES_BY_TAG]
    if stats.verdict != "fa":
        c.quality = "reject"
        c.rules.append(f"quality reject: language {stats.verdict} (Arabic-script ratio {stats.arabic_script_ratio:.2f})")
    elif "boilerplate" in c.tags or ("list/table" in c.tags and not useful):
        c.quality = "reject"
        c.rules.append("quality reject: boilerplate or bare list/table")
    elif "too-short" in c.tags and length < window.min_chars // 2:
        c.quality = "reject"
        c.rules.append(f"quality reject: fragment of {length} characters")
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
