"""The scorecard of an eval run: per family and per coverage cell (task type × difficulty), how many
items were decided, how many passed, the pass rate with its 95% Wilson interval, and the change since
the previous run. Items still waiting for a judge are counted apart (`pending`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def wilson(passed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a pass rate (sound for small counts and rates near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = passed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class Line:
    family: str
    cell: str | None  # "task_type/difficulty", None on a family's own line
    items: int = 0  # decided items (passed or failed)
    passed: int = 0
    pending: int = 0  # items a scorer has not decided yet (a judge to run)
    previous: float | None = None  # the previous run's pass rate here

    @property
    def rate(self) -> float | None:
        return self.passed / self.items if self.items else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.passed, self.items)

    @property
    def change(self) -> float | None:
        return None if self.rate is None or self.previous is None else self.rate - self.previous

    def as_json(self, run: int, export_version: str | None) -> dict[str, Any]:
        low, high = self.interval
        return {"run": run, "export": export_version, "family": self.family, "cell": self.cell, "items": self.items,
                "passed": self.passed, "pending": self.pending,
                "rate": None if self.rate is None else round(self.rate, 4), "low": round(low, 4),
                "high": round(high, 4), "previous": None if self.previous is None else round(self.previous, 4),
                "change": None if self.change is None else round(self.change, 4)}


@dataclass
class Scorecard:
    run: int
    export_version: str | None
    lines: list[Line] = field(default_factory=list)
    previous_run: int | None = None
    asked: str = ""  # where the eval items went: the endpoint and model (or the file scores came from)

    def families(self) -> list[Line]:
        return [line for line in self.lines if line.cell is None]

    def cells(self, family: str) -> list[Line]:
        return [line for line in self.lines if line.family == family and line.cell is not None]

    def failing(self) -> dict[tuple[str, str], int]:
        """{(family, cell): failed items}, the cells where the model fails."""
        return {(line.family, line.cell): line.items - line.passed for line in self.lines
                if line.cell is not None and line.items > line.passed}

    def report_lines(self) -> list[str]:
        """The scorecard as `curator eval report` and the palette print it (70 columns: the app's report
        window at 80x24 holds a line whole; a cell name is cut at 30)."""
        head = f"eval run #{self.run}" + (f" ({self.asked})" if self.asked else "") + (
            f", model trained on export {self.export_version}" if self.export_version else ", export not named")
        if self.previous_run is not None:
            head += f"; change since run #{self.previous_run}"
        out = [head, f"{'family / cell':<30} {'items':>5} {'pass':>4} {'rate':>5} {'95% CI':>9} {'change':>6} "
                     f"{'judge':>5}"]
        for fam in self.families():
            for line in (fam, *self.cells(fam.family)):
                name = line.family if line.cell is None else f"  {line.cell}"
                low, high = line.interval
                rate = "-" if line.rate is None else f"{line.rate:.0%}"
                ci = "-" if line.rate is None else f"{low:.0%}–{high:.0%}"
                change = "" if line.change is None else f"{line.change:+.0%}"
                out.append(f"{name[:30]:<30} {line.items:>5} {line.passed:>4} {rate:>5} {ci:>9} {change:>6} "
                           f"{line.pending or '':>5}".rstrip())
        if any(line.pending for line in self.lines):
            out.append("judge: open answers still to be judged (`curator eval judge`)")
        return out


def build(run: int, export_version: str | None, items: list[tuple[str, str, bool | None]],
          previous: "Scorecard | None" = None) -> Scorecard:
    """The scorecard of (family, cell, verdict) per item; `previous` gives each line its change."""
    lines: dict[tuple[str, str | None], Line] = {}
    for family, cell, verdict in items:
        for key in ((family, None), (family, cell)):
            line = lines.setdefault(key, Line(*key))
            if verdict is None:
                line.pending += 1
            else:
                line.items += 1
                line.passed += bool(verdict)
    before = {(line.family, line.cell): line.rate for line in previous.lines} if previous else {}
    for key, line in lines.items():
        line.previous = before.get(key)
    ordered = sorted(lines.values(), key=lambda line: (line.family, line.cell is not None, line.cell or ""))
    return Scorecard(run, export_version, ordered, previous.run if previous else None)


def cell_of(task_type: str | None, difficulty: str | None) -> str:
    return f"{task_type or '-'}/{difficulty or '-'}"


def markdown(card: Scorecard) -> str:
    """`eval_report.md`: the scorecard as a Markdown table, per family then its cells."""
    rows = ["| family | cell | items | passed | rate | 95% CI | change | to judge |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for fam in card.families():
        for line in (fam, *card.cells(fam.family)):
            low, high = line.interval
            rate = "–" if line.rate is None else f"{line.rate:.0%}"
            ci = "–" if line.rate is None else f"{low:.0%}–{high:.0%}"
            change = "" if line.change is None else f"{line.change:+.0%}"
            cell = (line.cell or "(all)").replace("|", "\\|")
            family = line.family.replace("|", "\\|")
            rows.append(f"| {family} | {cell} | {line.items} | {line.passed} | {rate} | {ci} | {change} | "
                        f"{line.pending or ''} |")
    head = [f"# Eval run {card.run}", "",
            f"- asked: {card.asked or 'not recorded'}",
            f"- model trained on export: {card.export_version or 'not named'}",
            f"- compared with: {f'run {card.previous_run}' if card.previous_run is not None else 'no earlier run'}",
            "- pass rate: items every scorer that applies passed; an open answer waits for a judge (to judge).",
            ""]
    return "\n".join(head + rows) + "\n"
