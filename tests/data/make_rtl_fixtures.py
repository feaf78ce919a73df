"""Write rtl_lines.jsonl: mixed Persian lines and their visual order according to GNU FriBidi.

Run once, by hand, where `fribidi` is installed (Debian `libfribidi-bin`):
    python tests/data/make_rtl_fixtures.py
CI reads the JSONL and never needs FriBidi. Each line is reordered by

    fribidi --nopad --nobreak --wrtl --basedir --vtol

(`--wrtl`: the first strong character sets the paragraph's direction and a line without one is RTL,
the app's rule). FriBidi's visual string is shaped (Arabic presentation forms), so `visual` is built
from its visual-to-logical map: the logical characters in FriBidi's visual order, with FriBidi's mirrored
glyph wherever it drew a mirrored one. Fields: `logical`, `rtl` (FriBidi's base direction), `visual`,
`fribidi` (FriBidi's own shaped output, for reference).
"""

from __future__ import annotations

import json
import subprocess
import unicodedata
from pathlib import Path

COMMAND = ["fribidi", "--nopad", "--nobreak", "--wrtl", "--basedir", "--vtol"]

LINES = [
    "از کتابخانهٔ numpy (version 1.26) برای محاسبه استفاده کردیم.",
    "سلام دنیا",
    "در سال ۱۴۰۲ دانش‌آموزان کلاس هفتم با زبان Python برنامه نوشتند.",
    "قیمت 250 هزار تومان است.",
    "عدد ۱۲۳۴۵ را با 678 جمع کنید.",
    "کتاب «بوف کور» نوشتهٔ صادق هدایت است.",
    "«Hello World» اولین برنامه است.",
    "تابع (sum) مجموع را برمی‌گرداند.",
    "فهرست [a, b, c] سه عضو دارد.",
    "آرایهٔ [۱، ۲، ۳] را مرتب کنید.",
    "او گفت (به زبان ساده) که نمی‌آید.",
    "نسخهٔ (beta [2]) منتشر شد.",
    "می‌خواهم کتاب‌ها را بخوانم.",
    "کِتابْ خوبی است؛ مُعَلِّم گفت.",
    "نشانی https://example.com/path?q=1 را باز کنید.",
    "به ali.rezaei@example.ir ایمیل بزنید.",
    "نرخ تورم ۴۵٪ و رشد 12% بود.",
    "دما به -5 درجه رسید.",
    "دمای هوا −۳ درجه است.",
    "تاریخ جلسه 1403/05/12 است.",
    "تاریخ ۱۴۰۳/۰۵/۱۲ ساعت ۱۴:۳۰ است.",
    "جلسه ساعت 14:30 شروع می‌شود.",
    'کد print("سلام") را اجرا کنید.',
    'print("سلام")',
    "Python زبانی ساده است.",
    "The word «کتاب» means book.",
    "!سلام",
    "سلام!",
    "؟چرا",
    "(مقدمه)",
    "- نکتهٔ اول: Git را نصب کنید.",
    "۱. مقدمه",
    "1) گزینهٔ اول",
    "پاسخ: x = 3 (چون 2x = 6).",
    "عبارت a < b را با b > a مقایسه کنید.",
    "کلیدهای {name: 'علی'} را ببینید.",
    "فایل config.toml در پوشهٔ ~/.config است.",
    "مدل GPT-4 (از OpenAI) پاسخ داد.",
    "«سلام» (hello) [world] {x}",
    "سلام (hello (nested) world) پایان",
    "شرط ≤ ۱۰ و ≥ ۲ برقرار است.",
    "بخش (الف [ب] ج) را بخوانید.",
    "متن (سلام world) اینجا",
    "آیا x=1؟",
]


def fribidi(line: str) -> tuple[str, bool, list[int]]:
    out = subprocess.run(COMMAND, input=line + "\n", capture_output=True, text=True, check=True).stdout
    visual, base, vtol = out.rstrip("\n").split("\n")
    assert base in ("Base direction: R", "Base direction: L"), base
    return visual, base.endswith("R"), [int(i) for i in vtol.split()]


def unshaped(logical: str, shaped: str, vtol: list[int]) -> str:
    """FriBidi's visual order over the logical (unshaped) characters, with its mirrored glyphs."""
    assert len(shaped) == len(vtol) == len(logical), (logical, shaped)
    out = []
    for drawn, index in zip(shaped, vtol):
        ch = logical[index]
        out.append(drawn if unicodedata.mirrored(ch) and drawn != ch else ch)
    return "".join(out)


def main() -> None:
    version = subprocess.run(["fribidi", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    path = Path(__file__).with_name("rtl_lines.jsonl")
    with path.open("w", encoding="utf-8") as f:
        for line in LINES:
            shaped, rtl, vtol = fribidi(line)
            f.write(json.dumps({"logical": line, "rtl": rtl, "visual": unshaped(line, shaped, vtol),
                                "fribidi": shaped}, ensure_ascii=False) + "\n")
    print(f"{len(LINES)} lines from {version} → {path}")


if __name__ == "__main__":
    main()
