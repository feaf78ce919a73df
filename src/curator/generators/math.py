"""School-math word problems in Persian with exact, computed answers and short step-by-step solutions.

Deterministic for a given seed. Every item carries its parameters (`params`) so the answer can be
checked independently, a verified `answer` (ASCII digits, `a/b` for fractions), and text written
with Persian digits and the ٬ thousands separator.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

VERSION = "math@1"
TASK_TYPES = ("four_operations", "fractions", "percentages", "unit_price", "time_and_distance", "average")
BANDS = ("elementary", "middle_school", "high_school")
NAMES = ("علی", "مریم", "سارا", "رضا", "زهرا", "امیر", "نرگس", "حسین", "فاطمه", "کیان")
ITEMS = (("دفتر", "دفترها"), ("مداد", "مدادها"), ("کتاب", "کتاب‌ها"), ("بستنی", "بستنی‌ها"), ("توپ", "توپ‌ها"))
FRUITS = ("سیب", "پرتقال", "انار", "خیار", "گوجه")
_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa(value: int | Fraction | float) -> str:
    """A number in Persian digits: thousands with ٬, decimals with ٫, fractions as a/b."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return fa(value.numerator)
        return f"{value.numerator}/{value.denominator}".translate(_FA)
    if isinstance(value, float):
        whole, _, frac = f"{value:.10g}".partition(".")
        return fa(int(whole)) + ("٫" + frac.translate(_FA) if frac else "")
    return f"{value:,}".replace(",", "٬").translate(_FA)


def ascii_answer(value: int | Fraction) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return str(int(value))


@dataclass
class MathProblem:
    task_type: str
    difficulty: str
    question: str
    solution: str
    answer: str
    params: dict[str, Any] = field(default_factory=dict)
    topic: str = ""

    def item(self) -> dict[str, Any]:
        """In the shape of the `MathBatch` schema's items."""
        return {
            "task_type": self.task_type, "difficulty": self.difficulty, "topic": self.topic,
            "messages": [{"role": "user", "content": self.question}, {"role": "assistant", "content": self.solution}],
            "answer": self.answer, "notes": f"procedural {VERSION}", "params": self.params,
        }


def _scale(band: str) -> int:
    return {"elementary": 1, "middle_school": 10, "high_school": 100}[band]


def four_operations(rng: random.Random, band: str) -> MathProblem:
    name, (item, _) = rng.choice(NAMES), rng.choice(ITEMS)
    count = rng.randint(2, 9)
    price = rng.randint(1, 9) * 1000 * _scale(band)
    total = count * price
    question = f"{name} {fa(count)} {item} خرید و قیمت هر {item} {fa(price)} تومان است. او در مجموع چقدر پرداخت می‌کند؟"
    solution = (f"قیمت هر {item} {fa(price)} تومان است و {name} {fa(count)} {item} می‌خرد، پس باید ضرب کنیم: "
                f"{fa(count)} × {fa(price)} = {fa(total)}. بنابراین {name} در مجموع {fa(total)} تومان پرداخت می‌کند.")
    return MathProblem("four_operations", band, question, solution, ascii_answer(total),
                       {"op": "multiply", "count": count, "price": price}, "خرید از فروشگاه")


def fractions(rng: random.Random, band: str) -> MathProblem:
    name = rng.choice(NAMES)
    parts = rng.choice([4, 5, 6, 8, 10, 12])
    eaten = rng.randint(1, parts - 1)
    left = Fraction(parts - eaten, parts)
    question = (f"{name} یک کیک را به {fa(parts)} قسمت مساوی تقسیم کرد و {fa(eaten)} قسمت آن را خورد. "
                f"چه کسری از کیک باقی مانده است؟ (کسر را ساده کن.)")
    simplified = "" if left.denominator == parts else f" که ساده‌شدهٔ آن {fa(left)} است"
    solution = (f"کل کیک {fa(parts)} قسمت است و {fa(eaten)} قسمت خورده شده، پس {fa(parts)} − {fa(eaten)} = "
                f"{fa(parts - eaten)} قسمت مانده است. کسر باقی‌مانده {fa(parts - eaten)}/{fa(parts)} است{simplified}. "
                f"بنابراین {fa(left)} از کیک باقی مانده است.")
    return MathProblem("fractions", band, question, solution, ascii_answer(left),
                       {"parts": parts, "eaten": eaten}, "آشپزی")


def percentages(rng: random.Random, band: str) -> MathProblem:
    item = rng.choice(("کفش", "کیف", "کاپشن", "دوچرخه", "ساعت"))
    price = rng.randint(2, 20) * 10_000 * _scale(band)
    percent = rng.choice([5, 10, 15, 20, 25, 30, 40, 50])
    discount = price * percent // 100
    final = price - discount
    question = f"قیمت یک {item} {fa(price)} تومان است و {fa(percent)} درصد تخفیف دارد. قیمت آن بعد از تخفیف چقدر است؟"
    solution = (f"مقدار تخفیف {fa(percent)} درصدِ {fa(price)} است: {fa(price)} × {fa(percent)} ÷ {fa(100)} = "
                f"{fa(discount)}. قیمت بعد از تخفیف: {fa(price)} − {fa(discount)} = {fa(final)}. "
                f"بنابراین قیمت {item} بعد از تخفیف {fa(final)} تومان است.")
    return MathProblem("percentages", band, question, solution, ascii_answer(final),
                       {"price": price, "percent": percent}, "خرید از فروشگاه")


def unit_price(rng: random.Random, band: str) -> MathProblem:
    fruit = rng.choice(FRUITS)
    per_kilo = rng.randint(2, 15) * 1000 * max(1, _scale(band) // 10)
    kilos, wanted = rng.sample(range(2, 9), 2)
    total = per_kilo * kilos
    answer = per_kilo * wanted
    question = f"{fa(kilos)} کیلو {fruit} {fa(total)} تومان است. {fa(wanted)} کیلو از همین {fruit} چند تومان می‌شود؟"
    solution = (f"اول قیمت یک کیلو را پیدا می‌کنیم: {fa(total)} ÷ {fa(kilos)} = {fa(per_kilo)}. "
                f"سپس قیمت {fa(wanted)} کیلو: {fa(per_kilo)} × {fa(wanted)} = {fa(answer)}. "
                f"بنابراین {fa(wanted)} کیلو {fruit} {fa(answer)} تومان می‌شود.")
    return MathProblem("unit_price", band, question, solution, ascii_answer(answer),
                       {"kilos": kilos, "total": total, "wanted": wanted}, "خرید از فروشگاه")


def time_and_distance(rng: random.Random, band: str) -> MathProblem:
    speed = rng.choice([40, 50, 60, 70, 80, 90, 100])
    hours = rng.randint(2, 6)
    distance = speed * hours
    vehicle = rng.choice(("اتوبوس", "قطار", "ماشین"))
    if rng.random() < 0.5:
        question = f"یک {vehicle} با سرعت ثابت {fa(speed)} کیلومتر در ساعت حرکت می‌کند. در {fa(hours)} ساعت چند کیلومتر می‌رود؟"
        solution = (f"مسافت برابر است با سرعت ضرب در زمان: {fa(speed)} × {fa(hours)} = {fa(distance)}. "
                    f"بنابراین {vehicle} در {fa(hours)} ساعت {fa(distance)} کیلومتر می‌رود.")
        return MathProblem("time_and_distance", band, question, solution, ascii_answer(distance),
                           {"find": "distance", "speed": speed, "hours": hours}, "سفر با اتوبوس")
    question = f"فاصلهٔ دو شهر {fa(distance)} کیلومتر است. {vehicle}ی با سرعت ثابت {fa(speed)} کیلومتر در ساعت، این راه را در چند ساعت می‌رود؟"
    solution = (f"زمان برابر است با مسافت تقسیم بر سرعت: {fa(distance)} ÷ {fa(speed)} = {fa(hours)}. "
                f"بنابراین این سفر {fa(hours)} ساعت طول می‌کشد.")
    return MathProblem("time_and_distance", band, question, solution, ascii_answer(hours),
                       {"find": "time", "speed": speed, "distance": distance}, "سفر با اتوبوس")


def average(rng: random.Random, band: str) -> MathProblem:
    name = rng.choice(NAMES)
    count = rng.randint(3, 5)
    target = rng.randint(12, 19)
    scores = [rng.randint(10, 20) for _ in range(count - 1)]
    last = target * count - sum(scores)
    if not 0 <= last <= 20:
        scores = [target] * (count - 1)
        last = target
    scores.append(last)
    total = sum(scores)
    listed = "، ".join(fa(s) for s in scores)
    question = f"نمره‌های {name} در {fa(count)} امتحان این‌ها بوده است: {listed}. میانگین نمره‌های او چند است؟"
    plus = " + ".join(fa(s) for s in scores)
    solution = (f"اول نمره‌ها را جمع می‌کنیم: {plus} = {fa(total)}. سپس بر تعداد امتحان‌ها تقسیم می‌کنیم: "
                f"{fa(total)} ÷ {fa(count)} = {fa(total // count)}. بنابراین میانگین نمره‌های {name} {fa(total // count)} است.")
    return MathProblem("average", band, question, solution, ascii_answer(Fraction(total, count)),
                       {"scores": scores}, "مدرسه")


GENERATORS: dict[str, Callable[[random.Random, str], MathProblem]] = {
    "four_operations": four_operations, "fractions": fractions, "percentages": percentages,
    "unit_price": unit_price, "time_and_distance": time_and_distance, "average": average,
}


def generate(seed: int, task_type: str | None = None, band: str | None = None) -> MathProblem:
    """One problem, fully determined by its seed (and optional task type and band)."""
    rng = random.Random(seed)
    task_type = task_type or rng.choice(TASK_TYPES)
    band = band or rng.choice(BANDS)
    return GENERATORS[task_type](rng, band)
