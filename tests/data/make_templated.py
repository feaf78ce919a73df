"""Writes `templated.jsonl`: a labelled set made the way the method prescribes, from task templates.

Three families, each with private eval items and candidates written from the same templates:
  - grammar_tutor: role identification («در جملهٔ «…»، فاعل و مفعول را مشخص کن»);
  - school_math: shopping arithmetic («اگر سارا ۳ دفتر بخرد و قیمت هر دفتر ۴۰ هزار تومان باشد…»);
  - tool_calling: calculator calls (user ask → tool call → result → answer).
Each row: `{"family", "id", "set": "eval" | "candidate", "label", "of", "messages"}` with label
  - `eval`: a private eval item;
  - `clean`: a candidate from the same templates about other content (another sentence, other numbers
    and names, other operands), often sharing a name, an object or one number with an eval item:
    every gate must keep it;
  - `leak`: an eval item's content (its sentence, its numbers with what they count, its operands)
    asked in other words or another template: decontamination must fail it (`of`: the eval item);
  - `dup`: a clean candidate's content reworded: dedup must fail it, the clean one stays (`of`).
Run `python tests/data/make_templated.py` to write it again (deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa(n: int | str) -> str:
    return str(n).translate(FA)


def money(n: int) -> str:
    """۱۲۰٬۰۰۰ with the Persian thousands separator."""
    return f"{n:,}".replace(",", "٬").translate(FA)


# -- grammar: role identification ------------------------------------------------------------------
# (sentence, subject, object or None, (complement, preposition) or None, reordered form of the sentence)
SENTENCES = [
    ("علی کتاب را خواند", "علی", "کتاب", None, "کتاب را علی خواند"),
    ("مریم به مدرسه رفت", "مریم", None, ("مدرسه", "به"), "مریم رفت به مدرسه"),
    ("معلم درس را توضیح داد", "معلم", "درس", None, "درس را معلم توضیح داد"),
    ("گربه موش را گرفت", "گربه", "موش", None, "موش را گربه گرفت"),
    ("امیر با دوستش به سینما رفت", "امیر", None, ("دوستش", "با"), "امیر به سینما با دوستش رفت"),
    ("پرستار دارو را به بیمار داد", "پرستار", "دارو", ("بیمار", "به"), "پرستار به بیمار دارو را داد"),
    ("پلیس دزد را دستگیر کرد", "پلیس", "دزد", None, "دزد را پلیس دستگیر کرد"),
    ("فاطمه پنجره را باز کرد", "فاطمه", "پنجره", None, "پنجره را فاطمه باز کرد"),
    ("نجار میز را ساخت", "نجار", "میز", None, "میز را نجار ساخت"),
    ("سگ استخوان را در باغچه پنهان کرد", "سگ", "استخوان", ("باغچه", "در"), "سگ در باغچه استخوان را پنهان کرد"),
    ("سارا نامه را برای مادرش نوشت", "سارا", "نامه", ("مادرش", "برای"), "سارا برای مادرش نامه را نوشت"),
    ("پدر ماشین را شست", "پدر", "ماشین", None, "ماشین را پدر شست"),
    ("بچه‌ها توپ را به حیاط بردند", "بچه‌ها", "توپ", ("حیاط", "به"), "بچه‌ها به حیاط توپ را بردند"),
    ("رضا در را بست", "رضا", "در", None, "در را رضا بست"),
    ("مادربزرگ آش را پخت", "مادربزرگ", "آش", None, "آش را مادربزرگ پخت"),
    ("نرگس گل‌ها را آب داد", "نرگس", "گل‌ها", None, "گل‌ها را نرگس آب داد"),
    ("کشاورز گندم را درو کرد", "کشاورز", "گندم", None, "گندم را کشاورز درو کرد"),
    ("باد برگ‌ها را ریخت", "باد", "برگ‌ها", None, "برگ‌ها را باد ریخت"),
    ("زهرا از کتابخانه کتاب گرفت", "زهرا", "کتاب", ("کتابخانه", "از"), "زهرا کتاب از کتابخانه گرفت"),
    ("حسین نان را از نانوایی خرید", "حسین", "نان", ("نانوایی", "از"), "حسین از نانوایی نان را خرید"),
    ("دانش‌آموزان تکلیف را نوشتند", "دانش‌آموزان", "تکلیف", None, "تکلیف را دانش‌آموزان نوشتند"),
    ("مینا عکس را روی دیوار زد", "مینا", "عکس", ("دیوار", "روی"), "مینا روی دیوار عکس را زد"),
    ("آشپز غذا را در دیگ ریخت", "آشپز", "غذا", ("دیگ", "در"), "آشپز در دیگ غذا را ریخت"),
    ("باران زمین را خیس کرد", "باران", "زمین", None, "زمین را باران خیس کرد"),
    ("نازنین برای خواهرش هدیه خرید", "نازنین", "هدیه", ("خواهرش", "برای"), "نازنین هدیه برای خواهرش خرید"),
    ("کودک شیر را نوشید", "کودک", "شیر", None, "شیر را کودک نوشید"),
    ("مهدی دربارهٔ سفرش حرف زد", "مهدی", None, ("سفرش", "دربارهٔ"), "مهدی حرف زد دربارهٔ سفرش"),
    ("راننده اتوبوس را نگه داشت", "راننده", "اتوبوس", None, "اتوبوس را راننده نگه داشت"),
    ("پسرک بادبادک را به هوا فرستاد", "پسرک", "بادبادک", ("هوا", "به"), "پسرک به هوا بادبادک را فرستاد"),
    ("خورشید اتاق را روشن کرد", "خورشید", "اتاق", None, "اتاق را خورشید روشن کرد"),
    ("مادر لباس‌ها را اتو کرد", "مادر", "لباس‌ها", None, "لباس‌ها را مادر اتو کرد"),
    ("سعید از پله‌ها بالا رفت", "سعید", None, ("پله‌ها", "از"), "سعید بالا رفت از پله‌ها"),
    ("لیلا نقاشی را به پدرش نشان داد", "لیلا", "نقاشی", ("پدرش", "به"), "لیلا به پدرش نقاشی را نشان داد"),
    ("مریم در کتابخانه درس خواند", "مریم", "درس", ("کتابخانه", "در"), "مریم درس در کتابخانه خواند"),
    ("پرنده دانه را برداشت", "پرنده", "دانه", None, "دانه را پرنده برداشت"),
    ("آرش با مداد نقاشی کشید", "آرش", "نقاشی", ("مداد", "با"), "آرش نقاشی با مداد کشید"),
    ("بابا روزنامه را ورق زد", "بابا", "روزنامه", None, "روزنامه را بابا ورق زد"),
    ("کیان از دوستش کتاب قرض گرفت", "کیان", "کتاب", ("دوستش", "از"), "کیان کتاب از دوستش قرض گرفت"),
    ("خانم معلم برگه‌ها را جمع کرد", "خانم معلم", "برگه‌ها", None, "برگه‌ها را خانم معلم جمع کرد"),
    ("مسافران از قطار پیاده شدند", "مسافران", None, ("قطار", "از"), "مسافران پیاده شدند از قطار"),
    ("نسیم گلدان را کنار پنجره گذاشت", "نسیم", "گلدان", ("پنجره", "کنار"), "نسیم کنار پنجره گلدان را گذاشت"),
    ("علی به پدرش کمک کرد", "علی", None, ("پدرش", "به"), "علی کمک کرد به پدرش"),
    ("کارگر دیوار را رنگ کرد", "کارگر", "دیوار", None, "دیوار را کارگر رنگ کرد"),
    ("ستاره با خواهرش بازی کرد", "ستاره", None, ("خواهرش", "با"), "ستاره بازی کرد با خواهرش"),
    ("مریم کتاب را به کتابخانه برگرداند", "مریم", "کتاب", ("کتابخانه", "به"), "مریم به کتابخانه کتاب را برگرداند"),
    ("هومن چای را در لیوان ریخت", "هومن", "چای", ("لیوان", "در"), "هومن در لیوان چای را ریخت"),
    ("مادر برای بچه‌ها قصه گفت", "مادر", "قصه", ("بچه‌ها", "برای"), "مادر قصه برای بچه‌ها گفت"),
    ("باغبان درخت را هرس کرد", "باغبان", "درخت", None, "درخت را باغبان هرس کرد"),
    ("تیم ما جام را برد", "تیم ما", "جام", None, "جام را تیم ما برد"),
    ("دانشمند آزمایش را تکرار کرد", "دانشمند", "آزمایش", None, "آزمایش را دانشمند تکرار کرد"),
    ("رعنا از مدرسه برگشت", "رعنا", None, ("مدرسه", "از"), "رعنا برگشت از مدرسه"),
    ("پدربزرگ عصا را برداشت", "پدربزرگ", "عصا", None, "عصا را پدربزرگ برداشت"),
    ("آتش‌نشان کودک را نجات داد", "آتش‌نشان", "کودک", None, "کودک را آتش‌نشان نجات داد"),
    ("شاگردان به حرف معلم گوش دادند", "شاگردان", None, ("حرف معلم", "به"), "شاگردان گوش دادند به حرف معلم"),
    ("پویا دوچرخه را تعمیر کرد", "پویا", "دوچرخه", None, "دوچرخه را پویا تعمیر کرد"),
    ("الهام برای مهمان‌ها میوه آورد", "الهام", "میوه", ("مهمان‌ها", "برای"), "الهام میوه برای مهمان‌ها آورد"),
    ("ماهیگیر ماهی بزرگی را گرفت", "ماهیگیر", "ماهی بزرگی", None, "ماهی بزرگی را ماهیگیر گرفت"),
    ("کاوه با قطار به مشهد رفت", "کاوه", None, ("مشهد", "به"), "کاوه به مشهد با قطار رفت"),
    ("شیرین گردنبند را به دوستش هدیه داد", "شیرین", "گردنبند", ("دوستش", "به"), "شیرین به دوستش گردنبند را هدیه داد"),
    ("نگهبان در بزرگ را قفل کرد", "نگهبان", "در بزرگ", None, "در بزرگ را نگهبان قفل کرد"),
]
GRAMMAR_EVAL = list(range(10))
GRAMMAR_DUPS = [10, 13, 16, 20, 23, 29, 36, 42, 47, 52]  # clean sentences that get a reworded duplicate


def _roles(s: tuple) -> list[tuple[str, str]]:
    """(word, role) pairs: subject, object, complement."""
    _, subj, obj, comp, _ = s
    out = [(subj, "فاعل")]
    if obj:
        out.append((obj, "مفعول"))
    if comp:
        out.append((comp[0], "متمم"))
    return out


def _why(word: str, role: str, s: tuple, style: int) -> str:
    sentence, _, obj, comp, _ = s
    marked = obj is not None and f"{obj} را" in sentence
    if role == "فاعل":
        return ["انجام‌دهندهٔ کار است", "کار را انجام داده است", "کننده‌ی کار است"][style % 3]
    if role == "مفعول":
        base = ["کار روی آن انجام شده است", "کار بر آن واقع شده است", "فعل روی آن اثر گذاشته است"][style % 3]
        return base + (" و نشانهٔ «را» گرفته است" if marked else "")
    return f"بعد از حرف اضافهٔ «{comp[1]}» آمده است"


def grammar_question(s: tuple, template: int) -> tuple[str, list[tuple[str, str]]]:
    """The ask of one role-identification template, and the roles its answer must give."""
    sentence, subj, obj, comp, _ = s
    roles = _roles(s)
    if template == 0 and obj:
        return f"در جملهٔ «{sentence}»، فاعل و مفعول را مشخص کن.", [r for r in roles if r[1] != "متمم"]
    if template == 1 and comp:
        return f"در جملهٔ «{sentence}» متمم کدام است؟", [r for r in roles if r[1] == "متمم"]
    if template == 2:
        word, role = roles[-1]
        return f"نقش دستوری واژهٔ «{word}» در جملهٔ «{sentence}» چیست؟", [(word, role)]
    if template == 3:
        return f"فاعل جملهٔ «{sentence}» را پیدا کن و بگو چرا فاعل است.", [roles[0]]
    return f"در جملهٔ «{sentence}»، نقش هر کلمه را بنویس.", roles


def grammar_answer(roles: list[tuple[str, str]], s: tuple, style: int) -> str:
    parts = [f"«{w}» {r} است، چون {_why(w, r, s, style)}" for w, r in roles]
    lead = ["در این جمله ", "در این جمله ", ""][style % 3]
    return lead + "؛ ".join(parts) + "."


def grammar_leak(s: tuple, k: int) -> tuple[str, str]:
    """An item's sentence asked in other words and other templates, answered in other words."""
    sentence, subj, obj, comp, reordered = s
    roles = _roles(s)
    second = obj or comp[0]
    answer = "؛ ".join(
        f"«{w}» " + {"فاعل": "کسی است که کار را کرده، پس فاعل است",
                     "مفعول": "چیزی است که کار رویش انجام شده، یعنی مفعول",
                     "متمم": "با حرف اضافه آمده و متمم است"}[r] for w, r in roles) + "."
    asks = [
        f"نقش دو واژهٔ «{subj}» و «{second}» را در جملهٔ «{sentence}» توضیح بده.",
        f"یک دانش‌آموز کلاس پنجمی پرسیده: در «{sentence}» کدام کلمه فاعل است و کدام {'مفعول' if obj else 'متمم'}؟",
        f"جملهٔ «{sentence}» را تجزیه کن؛ هر کلمه چه نقشی دارد؟",
        f"{sentence}. توی این جمله کی کار رو انجام داده و {'چی مفعوله' if obj else 'متممش کدومه'}؟",
        f"اگر بگوییم «{reordered}»، نقش «{subj}» و «{second}» چیست؟",
    ]
    return asks[k % len(asks)], answer


# -- math: shopping arithmetic ---------------------------------------------------------------------
# (name, count, item, price in thousands of toman)
PURCHASES = [
    ("سارا", 3, "دفتر", 40), ("علی", 5, "مداد", 8), ("مریم", 2, "کتاب", 125), ("رضا", 4, "بستنی", 35),
    ("نرگس", 6, "نان", 12), ("امیر", 7, "خودکار", 15), ("زهرا", 3, "پیراهن", 320), ("حسین", 8, "تخم‌مرغ", 6),
    ("لیلا", 9, "مداد رنگی", 22), ("کاوه", 2, "کفش", 450),
    # clean: other names and numbers; many share a name, an item, a count or a price with an eval item
    ("سارا", 5, "دفتر", 45), ("مینا", 3, "دفتر", 55), ("علی", 6, "پاک‌کن", 7), ("مریم", 4, "کتاب", 90),
    ("رضا", 3, "بستنی", 28), ("پویا", 4, "ساندویچ", 95), ("نرگس", 10, "نان", 9), ("امیر", 2, "توپ", 180),
    ("الهام", 7, "گل", 18), ("حسین", 12, "تخم‌مرغ", 5), ("لیلا", 6, "ماژیک", 30), ("کاوه", 3, "جوراب", 60),
    ("سعید", 5, "کیک", 40), ("فاطمه", 8, "آب‌میوه", 25), ("مهدی", 2, "شلوار", 380), ("نسیم", 4, "روسری", 210),
    ("آرش", 6, "باتری", 14), ("ستاره", 3, "عروسک", 150), ("هومن", 9, "کلوچه", 11), ("شیرین", 5, "لیوان", 48),
    ("کیان", 7, "دفترچه", 19), ("رعنا", 2, "کوله‌پشتی", 640), ("بابک", 4, "کلاه", 130), ("نازنین", 6, "النگو", 75),
    ("پدرام", 3, "چتر", 230), ("یاسمن", 8, "شمع", 16), ("بهرام", 5, "هندوانه", 85), ("ترانه", 4, "مداد", 9),
    ("سینا", 10, "کارت پستال", 6), ("مهسا", 3, "بشقاب", 110), ("نیما", 7, "پرتقال", 13), ("ژاله", 2, "قابلمه", 520),
    ("امید", 6, "کتاب داستان", 70), ("پریسا", 5, "گلدان", 65), ("جواد", 9, "بستنی", 24), ("سمیرا", 4, "دستکش", 95),
    ("فرهاد", 3, "خط‌کش", 17), ("لادن", 8, "تی‌شرت", 140), ("مازیار", 2, "هدفون", 890), ("آزاده", 6, "شیر", 38),
]
MATH_EVAL = list(range(10))
MATH_DUPS = [10, 14, 18, 22, 26, 30, 34, 38, 42, 46]
_TENS = {2: "دو", 3: "سه", 4: "چهار", 5: "پنج", 6: "شش", 7: "هفت", 8: "هشت", 9: "نه", 10: "ده", 12: "دوازده"}
_PRICES = {40: "چهل", 8: "هشت", 125: "صد و بیست و پنج", 35: "سی و پنج", 12: "دوازده", 15: "پانزده",
           320: "سیصد و بیست", 6: "شش", 22: "بیست و دو", 450: "چهارصد و پنجاه", 45: "چهل و پنج", 28: "بیست و هشت",
           180: "صد و هشتاد", 5: "پنج", 60: "شصت", 25: "بیست و پنج", 210: "دویست و ده", 11: "یازده",
           19: "نوزده", 75: "هفتاد و پنج", 16: "شانزده", 9: "نه", 110: "صد و ده", 70: "هفتاد",
           24: "بیست و چهار", 17: "هفده", 38: "سی و هشت"}


def math_item(p: tuple, template: int) -> tuple[str, str]:
    name, count, item, price = p
    total = count * price * 1000
    asks = [
        f"اگر {name} {fa(count)} {item} بخرد و قیمت هر {item} {fa(price)} هزار تومان باشد، روی هم چقدر پول می‌دهد؟",
        f"{name} {fa(count)} عدد {item} خرید. هر {item} {fa(price)} هزار تومان است. او روی هم چقدر پرداخت کرد؟",
        f"قیمت هر {item} {fa(price)} هزار تومان است. {name} برای خرید {fa(count)} {item} چقدر باید بپردازد؟",
    ]
    answers = [
        f"قیمت کل برابر است با تعداد ضرب در قیمت هر {item}: {fa(count)} × {money(price * 1000)} = {money(total)} "
        f"تومان. پس {name} روی هم {money(total)} تومان می‌دهد.",
        f"باید قیمت یک {item} را در تعداد ضرب کنیم: {money(price * 1000)} × {fa(count)} = {money(total)}. "
        f"بنابراین {name} {money(total)} تومان پرداخت کرده است.",
        f"{fa(count)} × {money(price * 1000)} = {money(total)}؛ پس {name} باید {money(total)} تومان بپردازد.",
    ]
    return asks[template % 3], answers[template % 3]


def math_reworded(p: tuple, k: int) -> tuple[str, str]:
    """The same purchase (name, count, item, price) in other words: numbers in words, another frame."""
    name, count, item, price = p
    total = count * price * 1000
    words = _TENS.get(count, fa(count))
    price_words = _PRICES.get(price, fa(price))
    asks = [
        f"{name} {words} تا {item} {price_words} هزار تومانی خریده. کلاً چقدر باید بده؟",
        f"یک نفر {fa(count)} {item} می‌خرد که هر کدام {price_words} هزار تومان قیمت دارد. جمع پولی که می‌پردازد چقدر است؟",
        f"با فرض اینکه هر {item} {fa(price)} هزار تومان باشد، {fa(count)} {item} که {name} خریده روی هم چند تومان می‌شود؟",
        f"{name} رفت فروشگاه و {words} {item} برداشت؛ قیمت هر {item} {price_words} هزار تومان بود. صندوقدار چقدر از او گرفت؟",
        f"مسئله: خرید {fa(count)} {item}، هر کدام {fa(price)} هزار تومان. مبلغ کل خرید {name} را حساب کن.",
    ]
    answer = (f"{words} {item} و هر کدام {price_words} هزار تومان؛ پس {fa(count)} ضرب در {money(price * 1000)} "
              f"می‌شود {money(total)} تومان.")
    return asks[k % len(asks)], answer


# -- tool calling: calculator ----------------------------------------------------------------------
# (a, op, b)
CALCS = [
    (11, "*", 70), (245, "+", 38), (96, "-", 27), (48, "*", 15), (512, "+", 89), (730, "-", 45), (23, "*", 19),
    (64, "*", 12), (305, "+", 76), (88, "-", 39),
    # clean: other operands; many share one operand and the operation with an eval item (۱۳×۷۰ vs ۱۱×۷۰)
    (13, "*", 70), (11, "*", 75), (245, "+", 39), (96, "-", 28), (48, "*", 16), (510, "+", 89), (730, "-", 55),
    (23, "*", 21), (66, "*", 12), (305, "+", 67), (87, "-", 39), (17, "*", 34), (420, "+", 58), (903, "-", 117),
    (36, "*", 25), (150, "+", 275), (640, "-", 96), (19, "*", 19), (75, "*", 44), (812, "+", 33), (500, "-", 235),
    (27, "*", 31), (333, "+", 444), (91, "-", 46), (14, "*", 86), (208, "+", 117), (615, "-", 380), (72, "*", 13),
    (55, "*", 55), (128, "+", 256), (450, "-", 199), (39, "*", 41), (86, "*", 21), (701, "+", 99), (360, "-", 72),
    (24, "*", 68), (123, "+", 321), (999, "-", 111), (45, "*", 32), (280, "+", 145),
]
TOOL_EVAL = list(range(10))
TOOL_DUPS = [10, 13, 16, 19, 22, 25, 28, 31, 34, 37]
_OPS = {"*": ("ضربدر", "×"), "+": ("به علاوهٔ", "+"), "-": ("منهای", "−")}
_NUM_WORDS = {11: "یازده", 70: "هفتاد", 245: "دویست و چهل و پنج", 38: "سی و هشت", 96: "نود و شش", 27: "بیست و هفت",
              48: "چهل و هشت", 15: "پانزده", 512: "پانصد و دوازده", 89: "هشتاد و نه", 730: "هفتصد و سی",
              45: "چهل و پنج", 23: "بیست و سه", 19: "نوزده", 64: "شصت و چهار", 12: "دوازده", 305: "سیصد و پنج",
              76: "هفتاد و شش", 88: "هشتاد و هشت", 39: "سی و نه", 17: "هفده", 34: "سی و چهار", 36: "سی و شش",
              25: "بیست و پنج", 55: "پنجاه و پنج", 91: "نود و یک", 46: "چهل و شش", 14: "چهارده", 86: "هشتاد و شش",
              72: "هفتاد و دو", 13: "سیزده", 333: "سیصد و سی و سه", 444: "چهارصد و چهل و چهار"}


def _value(a: int, op: str, b: int) -> int:
    return {"*": a * b, "+": a + b, "-": a - b}[op]


def _trace(ask: str, a: int, op: str, b: int, answer: str, call_id: str = "call_1") -> list[dict]:
    return [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "id": call_id,
             "function": {"name": "calculator", "arguments": json.dumps({"expression": f"{a}{op}{b}"})}}]},
        {"role": "tool", "tool_call_id": call_id, "content": str(_value(a, op, b))},
        {"role": "assistant", "content": answer},
    ]


def calc_item(c: tuple, template: int) -> list[dict]:
    a, op, b = c
    word, sym = _OPS[op]
    v = _value(a, op, b)
    asks = [f"حاصل {fa(a)} {word} {fa(b)} چقدر است؟", f"لطفاً با ماشین‌حساب حساب کن: {fa(a)} {sym} {fa(b)} چند می‌شود؟",
            f"{fa(a)} {word} {fa(b)} چند می‌شود؟"]
    answers = [f"حاصل {fa(a)} {sym} {fa(b)} برابر با {fa(v)} است.", f"جواب {fa(a)} {sym} {fa(b)} می‌شود {fa(v)}.",
               f"{fa(a)} {sym} {fa(b)} = {fa(v)}"]
    return _trace(asks[template % 3], a, op, b, answers[template % 3])


def calc_reworded(c: tuple, k: int) -> list[dict]:
    """The same operands and operation asked in other words (numbers in words, the operands swapped)."""
    a, op, b = c
    v = _value(a, op, b)
    wa, wb = _NUM_WORDS.get(a, fa(a)), _NUM_WORDS.get(b, fa(b))
    if op == "*":
        asks = [f"{wb} ضربدر {wa}؟ با ماشین‌حساب بزن ببینم چند می‌شه.",
                f"هر بسته {fa(b)} تا مداد داره؛ {fa(a)} بسته روی هم چند تا مداد می‌شه؟",
                f"می‌خوام بدونم {wa} تا {wb}تایی روی هم چندتاست.",
                f"ضرب {fa(b)} در {fa(a)} رو برام حساب می‌کنی؟"]
        ans = f"{fa(a)} تا {fa(b)}تایی روی هم {fa(v)} تا می‌شود."
        x, y = (b, a) if k % 2 == 0 else (a, b)
    elif op == "+":
        asks = [f"{wa} و {wb} را با هم جمع کن.", f"جمع {fa(b)} و {fa(a)} چند است؟ با ماشین‌حساب بگو.",
                f"توی قلک {fa(a)} سکه بود و {fa(b)} سکهٔ دیگه انداختم؛ الان چند سکه دارم؟",
                f"اگر {wb} را به {wa} اضافه کنیم چه عددی به دست می‌آید؟"]
        ans = f"{fa(a)} و {fa(b)} روی هم {fa(v)} می‌شود."
        x, y = (b, a) if k % 2 == 0 else (a, b)
    else:
        asks = [f"اگه از {wa} تا {wb} تا کم کنیم چند تا می‌مونه؟", f"تفاضل {fa(a)} و {fa(b)} را با ماشین‌حساب پیدا کن.",
                f"{fa(a)} تومان داشتم و {fa(b)} تومان خرج کردم؛ چقدر مانده؟",
                f"عدد {wb} را از {wa} کم کن و نتیجه را بگو."]
        ans = f"اگر {fa(b)} را از {fa(a)} کم کنیم، {fa(v)} می‌ماند."
        x, y = a, b
    msgs = _trace(asks[k % 4], x, op, y, ans, call_id="call_a")
    return msgs


def rows() -> list[dict]:
    out: list[dict] = []

    def add(family: str, ident: str, kind: str, label: str, messages: list[dict], of: str | None = None) -> None:
        out.append({"family": family, "id": ident, "set": kind, "label": label, "of": of, "messages": messages})

    def conv(user: str, assistant: str) -> list[dict]:
        return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]

    # grammar_tutor
    for i in GRAMMAR_EVAL:
        s = SENTENCES[i]
        template = 0 if s[2] else 1
        ask, roles = grammar_question(s, template)
        add("grammar_tutor", f"g-e{i}", "eval", "eval", conv(ask, grammar_answer(roles, s, 0)))
    for i in range(len(SENTENCES)):
        if i in GRAMMAR_EVAL:
            continue
        s = SENTENCES[i]
        template = [0, 0, 1, 2, 3, 4][i % 6]
        if template == 0 and not s[2]:
            template = 1
        if template == 1 and not s[3]:
            template = 0
        ask, roles = grammar_question(s, template)
        add("grammar_tutor", f"g-c{i}", "candidate", "clean", conv(ask, grammar_answer(roles, s, i)))
    for k, i in enumerate(GRAMMAR_EVAL):
        ask, answer = grammar_leak(SENTENCES[i], k)
        add("grammar_tutor", f"g-l{i}", "candidate", "leak", conv(ask, answer), of=f"g-e{i}")
    for k, i in enumerate(GRAMMAR_DUPS):
        ask, answer = grammar_leak(SENTENCES[i], k + 2)
        add("grammar_tutor", f"g-d{i}", "candidate", "dup", conv(ask, answer), of=f"g-c{i}")

    # school_math
    for i in MATH_EVAL:
        add("school_math", f"m-e{i}", "eval", "eval", conv(*math_item(PURCHASES[i], 0)))
    for i in range(len(MATH_EVAL), len(PURCHASES)):
        add("school_math", f"m-c{i}", "candidate", "clean", conv(*math_item(PURCHASES[i], i)))
    for k, i in enumerate(MATH_EVAL):
        add("school_math", f"m-l{i}", "candidate", "leak", conv(*math_reworded(PURCHASES[i], k)), of=f"m-e{i}")
    for k, i in enumerate(MATH_DUPS):
        add("school_math", f"m-d{i}", "candidate", "dup", conv(*math_reworded(PURCHASES[i], k + 1)), of=f"m-c{i}")

    # tool_calling
    for i in TOOL_EVAL:
        add("tool_calling", f"t-e{i}", "eval", "eval", calc_item(CALCS[i], 0))
    for i in range(len(TOOL_EVAL), len(CALCS)):
        add("tool_calling", f"t-c{i}", "candidate", "clean", calc_item(CALCS[i], i))
    for k, i in enumerate(TOOL_EVAL):
        add("tool_calling", f"t-l{i}", "candidate", "leak", calc_reworded(CALCS[i], k), of=f"t-e{i}")
    for k, i in enumerate(TOOL_DUPS):
        add("tool_calling", f"t-d{i}", "candidate", "dup", calc_reworded(CALCS[i], k + 1), of=f"t-c{i}")
    return out


if __name__ == "__main__":
    path = Path(__file__).resolve().parent / "templated.jsonl"
    data = rows()
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), encoding="utf-8")
    counts: dict[tuple[str, str], int] = {}
    for r in data:
        counts[(r["family"], r["label"])] = counts.get((r["family"], r["label"]), 0) + 1
    print(f"wrote {path}: {len(data)} rows", dict(sorted(counts.items())))
