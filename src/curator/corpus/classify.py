"""Heuristic passage classification: usefulness tags, a quality level and task families.

Every tag and the quality level come with the rule that fired (`rules`), so a curator can see why.
The rules are deliberately simple and transparent; the teacher can refine them later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from curator.config import Window
from curator.text.script import script_stats

GRAMMAR_TERMS = (
    "فاعل", "مفعول", "متمم", "مسند", "نهاد", "گزاره", "قید", "صفت", "موصوف", "مضاف", "فعل لازم",
    "فعل متعدی", "حرف اضافه", "دستور زبان", "جمله ساده", "جمله مرکب", "جملهٔ ساده", "جملهٔ مرکب",
    "بن ماضی", "بن مضارع", "ضمیر", "وابسته", "هسته", "شناسه", "نقش دستوری", "نقش‌های دستوری",
)
EDUCATION_TERMS = (
    "دانش‌آموز", "دانش آموز", "درس", "مثال", "برای نمونه", "تمرین", "یاد بگیر", "مدرسه", "معلم",
    "به عبارت دیگر", "یعنی", "توضیح", "پرسش", "فصل", "کتاب درسی", "آزمایش",
)
MATH_TERMS = ("جمع", "تفریق", "ضرب", "تقسیم", "کسر", "درصد", "معادله", "مساحت", "محیط", "حاصل", "عدد", "میانگین")
TOOL_TERMS = ("پارامتر", "تابع", "ورودی", "خروجی", "api", "json", "endpoint", "parameters", "function", "دستور")
BOILERPLATE_TERMS = (
    "کلیه حقوق", "تمامی حقوق", "حقوق محفوظ", "copyright", "ثبت نام", "ورود به حساب", "تماس با ما",
    "درباره ما", "سبد خرید", "کوکی", "cookie", "عضویت در خبرنامه", "اشتراک‌گذاری", "منبع:",
)
FACT_MARKERS = re.compile(
    r"(?:در سال|قرن|سده|میلادی|خورشیدی|هجری|کیلومتر|درصد|جمعیت|پایتخت|استان|قرار دارد|به دنیا آمد"
    r"|[0-9۰-۹]{3,4})"
)
# Definitions and explanations: "... نام دارد", "به این ... می‌گویند", "... نامیده می‌شود".
DEFINITION = re.compile(r"(?:می‌گویند|می‌گوییم|نامیده می‌شود|نامیده می‌شوند|نام دارد|گفته می‌شود|عبارت‌اند از"
                        r"|به شمار می‌آید|یعنی|به همین دلیل|فرایند)")
_MATH_EXPR = re.compile(r"[0-9۰-۹٠-٩]+\s*[+\-×÷*/=]\s*[0-9۰-۹٠-٩]+")
_LIST_LINE = re.compile(r"^\s*(?:[-*•▪●]|[0-9۰-۹]+[.)\-]|[a-zA-Z][.)])\s+", re.M)
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$", re.M)
_DIALOGUE_LINE = re.compile(r"^\s*(?:[-—–]\s*|[^\s:：]{1,20}\s*[:：]\s+)\S", re.M)
_SENTENCE = re.compile(r"[.!?؟]+(?=\s|$)")
_URL = re.compile(r"https?://|www\.")

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


def _hits(text: str, terms: tuple[str, ...]) -> list[str]:
    return [t for t in terms if t in text]


def classify(text: str, window: Window = Window()) -> Classification:
    """Classify one passage by transparent rules (see `rules` in the result)."""
    c = Classification()
    lower = text.lower()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    n_lines = max(len(lines), 1)

    if len(grammar := _hits(text, GRAMMAR_TERMS)) >= 2:
        c.tag("grammar", "grammar terms " + "، ".join(grammar[:4]))
    edu = _hits(text, EDUCATION_TERMS) + sorted(set(DEFINITION.findall(text)))
    if len(edu) >= 2:
        c.tag("education", "teaching or defining words " + "، ".join(edu[:4]))
    math_words = _hits(text, MATH_TERMS)
    if _MATH_EXPR.search(text) or len(math_words) >= 3:
        c.tag("math", "arithmetic expression" if _MATH_EXPR.search(text) else "math words " + "، ".join(math_words[:4]))
    if len(tool := _hits(lower, TOOL_TERMS)) >= 2 or ("{" in text and '":' in text):
        c.tag("tool-doc", "API words " + ", ".join(tool[:4]) if tool else "JSON object")
    if len(_DIALOGUE_LINE.findall(text)) >= 3 and len(_DIALOGUE_LINE.findall(text)) * 2 >= n_lines:
        c.tag("dialogue", "speaker lines")
    if len(facts := FACT_MARKERS.findall(text)) >= 2:
        c.tag("factual", f"{len(facts)} dates, quantities or places")
    list_lines = len(_LIST_LINE.findall(text)) + len(_TABLE_LINE.findall(text))
    if n_lines >= 3 and list_lines * 2 > n_lines:
        c.tag("list/table", f"{list_lines} of {n_lines} lines are list items or table rows")
    if boiler := _hits(lower, BOILERPLATE_TERMS):
        c.tag("boilerplate", "site furniture " + "، ".join(boiler[:3]))
    elif len(_URL.findall(text)) >= 3:
        c.tag("boilerplate", "many links")
    if len(text) < window.min_chars:
        c.tag("too-short", f"{len(text)} < {window.min_chars} characters")
    if len(text) > window.max_chars:
        c.tag("too-long", f"{len(text)} > {window.max_chars} characters")

    stats = script_stats(text)
    sentences = len(_SENTENCE.findall(text))
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
