"""The match key folds every orthographic variant the issue names, and nothing more."""

import pytest

from curator.text import key_hash, match_key

ZWNJ = "\u200c"

SAME = [
    # Arabic yeh / alef maksura / kaf vs Persian yeh and keheh
    ("علي به مدرسه رفت", "علی به مدرسه رفت"),
    ("كتاب", "کتاب"),
    ("مصطفى", "مصطفی"),
    ("يك كودك كوچك", "یک کودک کوچک"),
    ("الكترونيكي", "الکترونیکی"),
    # digits: Persian, Arabic-Indic, ASCII
    ("۱۲۳۴۵", "12345"),
    ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹"),
    ("سال ۱۴۰۲", "سال 1402"),
    ("۴٥٦", "456"),  # mixed Persian and Arabic-Indic in one number
    # diacritics: harakat, tanwin, superscript alef, hamza above; tatweel
    ("كِتَابٌ", "کتاب"),
    ("مُعَلِّم", "معلم"),
    ("حتماً", "حتما"),
    ("رحمٰن", "رحمن"),
    ("مسئلهٔ", "مسیله"),
    ("کـــتـــاب", "کتاب"),
    ("بـه مـدرسـه", "به مدرسه"),
    # ZWNJ vs no joiner vs ZWNJ with stray spaces
    (f"می{ZWNJ}خواهم", "میخواهم"),
    (f"می {ZWNJ} خواهم", "میخواهم"),
    (f"کتاب{ZWNJ}ها", f"کتاب {ZWNJ}ها"),
    (f"نقش{ZWNJ}{ZWNJ}های", "نقشهای"),
    # presentation forms (U+FB50-FDFF, FE70-FEFF) vs base letters, including diacritic forms
    ("\ufedb\ufe98\ufe8e\ufe8f", "کتاب"),
    ("\ufb8e\ufbfe", "کی"),
    ("\ufefb", "لا"),
    ("\ufe8d\ufedf\ufee0\ufeea", "الله"),
    ("\ufe91\ufe77\ufeae", "بر"),  # beh + isolated fatha medial form + reh
    ("\ufe70کتاب", "کتاب"),  # isolated fathatan form must not become "space + mark"
    # bidi control marks
    ("\u200fسلام\u200e دنیا", "سلام دنیا"),
    ("\u202bمتن\u202c", "متن"),
    ("\u2067فارسی\u2069 text", "فارسی text"),
    # Persian vs Latin punctuation
    ("سلام، خوبی؟", "سلام, خوبی?"),
    ("اول؛ دوم", "اول; دوم"),
    ("«کتاب»", '"کتاب"'),
    ("« کتاب »", '"کتاب"'),
    ("سلام ، خوبی ؟", "سلام، خوبی؟"),
    ("۱۲٫۵", "12.5"),
    ("۱۲۰٬۰۰۰", "120,000"),
    ("۲۰٪", "20%"),
    # Latin case
    ("Python و API", "python و api"),
    ("HELLO دنیا", "hello دنیا"),
    # whitespace runs
    ("سلام   دنیا", "سلام دنیا"),
    ("سلام\n\n\tدنیا ", " سلام دنیا"),
    ("سلام\u00a0دنیا", "سلام دنیا"),
    # teh marbuta, heh with hamza, ae
    ("مدرسة", "مدرسه"),
    ("خانۀ من", "خانه من"),
    ("خانهٔ من", "خانه من"),
    ("دائرةالمعارف", "دایرهالمعارف"),
    # hamza seated on alef / waw
    ("مسأله", "مساله"),
    ("مؤمن", "مومن"),
]

DIFFERENT = [
    ("کتاب", "کتب"),
    ("آب", "اب"),  # madda is a letter, not a diacritic to drop
    ("۱۲۳", "۱۲۴"),
    ("پدر", "بدر"),
    ("سلام دنیا", "سلامدنیا"),
    ("علی رفت", "علی نرفت"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_variants_share_a_key(a: str, b: str) -> None:
    assert match_key(a) == match_key(b)
    assert key_hash(a) == key_hash(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_text_keeps_different_keys(a: str, b: str) -> None:
    assert match_key(a) != match_key(b)


def test_there_are_at_least_thirty_equivalences() -> None:
    assert len(SAME) >= 30


def test_key_is_idempotent() -> None:
    for a, _ in SAME:
        assert match_key(match_key(a)) == match_key(a)


def test_a_whole_sentence_with_every_variant_at_once() -> None:
    messy = "\u200fدر جملهٔ «علي كتاب را خوانْد» ، فاعل كدام است ؟  (سؤال ٣)"
    clean = 'در جمله "علی کتاب را خواند", فاعل کدام است? (سوال 3)'
    assert match_key(messy) == match_key(clean)
