"""Tool-calling traces for a small set of tools, with the seeds' negative cases.

Kinds: tool_needed (call → result → Persian answer that uses the result), no_tool_needed,
ambiguous_request (a clarifying question), unavailable_tool (the limit explained). Tool results
are computed here (exact arithmetic, real calendar dates), never made up.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from curator.generators.math import fa

VERSION = "tools@1"


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required, "additionalProperties": False},
    }}


TOOLS: dict[str, dict[str, Any]] = {
    "calculator": _tool("calculator", "Evaluate an arithmetic expression with + - * / and parentheses.",
                        {"expression": {"type": "string", "description": "For example 23*47"}}, ["expression"]),
    "unit_conversion": _tool("unit_conversion", "Convert a length, mass or time value between units.", {
        "value": {"type": "number"},
        "from_unit": {"type": "string", "enum": ["km", "m", "cm", "kg", "g", "h", "min", "s"]},
        "to_unit": {"type": "string", "enum": ["km", "m", "cm", "kg", "g", "h", "min", "s"]},
    }, ["value", "from_unit", "to_unit"]),
    "date_difference": _tool("date_difference", "Number of days between two Gregorian dates (YYYY-MM-DD).", {
        "start_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "end_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    }, ["start_date", "end_date"]),
    "get_weather": _tool("get_weather", "Current weather of a city (no forecasts).", {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    }, ["city"]),
}
TASK_TYPES = ("tool_needed", "no_tool_needed", "ambiguous_request", "unavailable_tool")
UNIT_FACTORS = {"km": ("length", 1000), "m": ("length", 1), "cm": ("length", Fraction(1, 100)),
                "kg": ("mass", 1000), "g": ("mass", 1), "h": ("time", 3600), "min": ("time", 60), "s": ("time", 1)}
UNIT_NAMES = {"km": "کیلومتر", "m": "متر", "cm": "سانتی‌متر", "kg": "کیلوگرم", "g": "گرم", "h": "ساعت",
              "min": "دقیقه", "s": "ثانیه"}
CITIES = ("تهران", "تبریز", "شیراز", "اصفهان", "مشهد", "رشت", "یزد", "کرمان")
CONDITIONS = ("آفتابی", "ابری", "بارانی", "برفی", "نیمه‌ابری")


def tools_prompt_text(topic: str | None) -> str:
    """The tool schemas shown to the teacher for a tool family job (all tools, the topic's first)."""
    names = sorted(TOOLS, key=lambda n: (n != topic, n))
    return json.dumps([TOOLS[n] for n in names], ensure_ascii=False, indent=1)


def convert(value: Fraction, from_unit: str, to_unit: str) -> Fraction:
    kind_a, fa_ = UNIT_FACTORS[from_unit]
    kind_b, fb = UNIT_FACTORS[to_unit]
    if kind_a != kind_b:
        raise ValueError(f"cannot convert {from_unit} to {to_unit}")
    return Fraction(value) * Fraction(fa_) / Fraction(fb)


def _fa_date(day: date) -> str:
    return day.isoformat().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def _num(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "id": "call_1", "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}
    ]}


def _result(content: Any) -> dict[str, Any]:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return {"role": "tool", "tool_call_id": "call_1", "content": text}


def _needed(rng: random.Random, tool: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if tool == "calculator":
        a, b = rng.randint(12, 999), rng.randint(12, 99)
        op, sym, word = rng.choice([("*", "×", "ضربدر"), ("+", "+", "به علاوهٔ"), ("-", "−", "منهای")])
        value = {"*": a * b, "+": a + b, "-": a - b}[op]
        return [
            {"role": "user", "content": f"حاصل {fa(a)} {word} {fa(b)} چقدر است؟"},
            _call("calculator", {"expression": f"{a}{op}{b}"}), _result(str(value)),
            {"role": "assistant", "content": f"حاصل {fa(a)} {sym} {fa(b)} برابر با {fa(value)} است."},
        ], {"expected": value}
    if tool == "unit_conversion":
        src, dst = rng.choice([("km", "m"), ("m", "cm"), ("kg", "g"), ("h", "min"), ("min", "s")])
        value = rng.randint(2, 40)
        out = convert(Fraction(value), src, dst)
        return [
            {"role": "user", "content": f"{fa(value)} {UNIT_NAMES[src]} چند {UNIT_NAMES[dst]} می‌شود؟"},
            _call("unit_conversion", {"value": value, "from_unit": src, "to_unit": dst}),
            _result({"value": _num(out), "unit": dst}),
            {"role": "assistant", "content": f"{fa(value)} {UNIT_NAMES[src]} برابر با {fa(_num(out))} {UNIT_NAMES[dst]} است."},
        ], {"expected": _num(out)}
    if tool == "date_difference":
        start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))
        end = start + timedelta(days=rng.randint(3, 300))
        days = (end - start).days
        return [
            {"role": "user", "content": f"از تاریخ {_fa_date(start)} تا {_fa_date(end)} چند روز فاصله است؟"},
            _call("date_difference", {"start_date": start.isoformat(), "end_date": end.isoformat()}),
            _result({"days": days}),
            {"role": "assistant", "content": f"بین این دو تاریخ {fa(days)} روز فاصله است."},
        ], {"expected": days}
    city = rng.choice(CITIES)
    temperature, condition, humidity = rng.randint(-5, 38), rng.choice(CONDITIONS), rng.randint(10, 90)
    return [
        {"role": "user", "content": f"الان هوای {city} چطور است؟"},
        _call("get_weather", {"city": city, "unit": "celsius"}),
        _result({"temperature": temperature, "condition": condition, "humidity": humidity}),
        {"role": "assistant", "content": f"الان هوای {city} {condition} است، دما {fa(temperature)} درجهٔ سانتی‌گراد و "
                                         f"رطوبت {fa(humidity)} درصد است."},
    ], {"expected": temperature}


_NO_TOOL = (
    ("سلام! حالت چطوره؟", "سلام! ممنونم، خوبم. چطور می‌توانم کمکتان کنم؟"),
    ("کیلومتر یعنی چه؟", "کیلومتر یکای اندازه‌گیری طول است و هر کیلومتر برابر با هزار متر است."),
    ("دو به علاوهٔ سه چند می‌شود؟", "دو به علاوهٔ سه می‌شود پنج."),
    ("یک هفته چند روز است؟", "یک هفته هفت روز است."),
)
_AMBIGUOUS = {
    "get_weather": ("هوا چطوره؟", "هوای کدام شهر را می‌خواهید بدانید؟"),
    "unit_conversion": ("این رو به متر تبدیل کن.", "چه مقداری و با چه واحدی را می‌خواهید به متر تبدیل کنم؟"),
    "date_difference": ("چند روز مونده؟", "تا چه تاریخی؟ لطفاً تاریخ شروع و پایان را بگویید."),
    "calculator": ("حساب کن ببین چقدر می‌شه.", "چه عددهایی را می‌خواهید حساب کنم و چه عملی روی آن‌ها انجام شود؟"),
}
_UNAVAILABLE = {
    "get_weather": ("هوای {city} فردا چطور است؟",
                    "من فقط به وضعیت فعلی هوا دسترسی دارم و نمی‌توانم پیش‌بینی فردا را ببینم. اگر بخواهید، "
                    "وضعیت همین حالا {city} را برایتان می‌گیرم."),
    "calculator": ("برایم یک بلیط قطار به {city} رزرو کن.",
                   "من ابزاری برای رزرو بلیط ندارم و نمی‌توانم این کار را انجام دهم. می‌توانم در حساب کردن هزینه‌ها کمکتان کنم."),
    "unit_conversion": ("قیمت دلار امروز چند است؟",
                        "من به قیمت‌های لحظه‌ای ارز دسترسی ندارم. می‌توانم واحدهای طول، جرم و زمان را برایتان تبدیل کنم."),
    "date_difference": ("یادم بینداز فردا ساعت ۸ به مادرم زنگ بزنم.",
                        "من ابزار یادآوری ندارم و نمی‌توانم برایتان هشدار بگذارم. می‌توانم بگویم تا تاریخی که می‌خواهید چند روز مانده است."),
}


def generate(seed: int, task_type: str | None = None, tool: str | None = None) -> dict[str, Any]:
    """One trace in the shape of the `ToolBatch` schema's items, determined by its seed."""
    rng = random.Random(seed)
    task_type = task_type or rng.choice(TASK_TYPES)
    tool = tool or rng.choice(sorted(TOOLS))
    extra: dict[str, Any] = {}
    if task_type == "tool_needed":
        messages, extra = _needed(rng, tool)
    elif task_type == "no_tool_needed":
        user, answer = rng.choice(_NO_TOOL)
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    elif task_type == "ambiguous_request":
        user, answer = _AMBIGUOUS[tool]
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    else:
        city = rng.choice(CITIES)
        user, answer = (t.format(city=city) for t in _UNAVAILABLE[tool])
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"task_type": task_type, "difficulty": "middle_school", "topic": tool, "tools": [TOOLS[tool]],
            "messages": messages, "notes": f"procedural {VERSION}", "params": extra}
