"""A real database for the TUI tests: the sample project plus gated candidates."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import date
from pathlib import Path

from curator.config import Settings
from curator.services.gate import run_gates
from curator.models import Example, Message
from curator.services.demo import prepare_sample
from curator.store import Store
from curator.families import load_families
from curator.jobs.procedural import run_procedural
from curator.text.normalize import key_hash

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = load_families(ROOT / "prompts").families

CONVERSATIONS = [
    ("grammar_tutor", "در جملهٔ «مریم به مدرسه رفت» متمم کدام است؟",
     "در این جمله «مدرسه» متمم است، چون بعد از حرف اضافهٔ «به» آمده و معنی فعل «رفت» را کامل می‌کند."),
    ("student_support", "فتوسنتز را با یک مثال ساده توضیح می‌دهی؟",
     "فتوسنتز یعنی گیاه با نور خورشید غذا می‌سازد. مثلاً برگ درخت سیب در روز آفتابی قند می‌سازد (و اکسیژن می‌دهد)."),
    ("passage_qa", "طبق متن، کاخ آپادانا چند ستون داشت؟", "تالار اصلی کاخ آپادانا ۷۲ ستون داشت."),
    ("grammar_tutor", "فرق صفت و مسند با Python چیست؟ [bold]مهم[/bold] \x1b[31mقرمز\x1b[0m",
     "صفت کنار اسم می‌آید ولی مسند با فعل اسنادی می‌آید؛ مثلاً «هوا سرد شد». \x1b]0;hacked\x07"),
]


_TEMPLATE: list[Path] = []  # built once per test process, copied for each test


def build_db(path: Path) -> Path:
    """The sample project with gated candidates at `path`: built once per process (gating embeds every
    example), then a copy of that closed file for each test, so tests never share a database."""
    if not _TEMPLATE:
        from curator.meaning import embedder
        from stub_embedder import STUB

        template = Path(tempfile.mkdtemp(prefix="curator-tui-template-")) / "template.db"
        stubbed = embedder.active_model_id() == STUB.model_id
        embedder.install(STUB)  # gated with fixed vectors, whichever test builds it first: no model score on screen
        try:
            _build(template)
        finally:
            if not stubbed:
                embedder.install(None)
        _TEMPLATE.append(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], path)
    return path


def _build(path: Path) -> Path:
    with Store(path) as store:
        prepare_sample(store)
        passage_id = store.conn.execute("SELECT id FROM passages WHERE text LIKE '%آپادانا%'").fetchone()[0]
        for family, question, answer in CONVERSATIONS:
            e = Example(kind="candidate", family=family, task_type="explanation", difficulty="middle_school",
                        model="gen-model", passage_id=passage_id if family == "passage_qa" else None,
                        messages=[Message(role="user", content=question), Message(role="assistant", content=answer)])
            e.key_hash = key_hash(question + "\n" + answer)
            store.add_example(e)
        run_procedural(store, FAMILIES["tool_calling"], Settings(), limit=2)
        run_gates(store, FAMILIES)
    return path


# A candidate kept by the dedup gate and its reworded copy (a candidate, not a seed, keeps it: the
# curator may make the copy the keeper instead).
DUPLICATES = [
    ("grammar_tutor", "در جملهٔ «علی کتاب را به دوستش داد» مفعول کدام است؟",
     "در این جمله «کتاب» مفعول است، چون نشانهٔ «را» بعد از آن آمده و فعل «داد» بر آن واقع شده است."),
    ("grammar_tutor", "در جملهٔ «علی کتاب را به دوستش داد» مفعول را مشخص کن.",
     "در این جمله «کتاب» مفعول است، چون نشانهٔ «را» بعد از آن آمده و فعل «داد» بر آن واقع شده است."),
]


def build_duplicates_db(path: Path) -> tuple[Path, int, int]:
    """`build_db` plus a candidate and its reworded copy, gated: (path, the keeper, the copy that fails
    dedup naming it)."""
    from stub_embedder import STUB

    build_db(path)
    with Store(path) as store:
        ids = []
        for family, question, answer in DUPLICATES:
            e = Example(kind="candidate", family=family, task_type="explanation", difficulty="middle_school",
                        model="gen-model", messages=[Message(role="user", content=question),
                                                     Message(role="assistant", content=answer)])
            e.key_hash = key_hash(question + "\n" + answer)
            ids.append(store.add_example(e))
        run_gates(store, FAMILIES, embedder=STUB)
    return path, ids[0], ids[1]


EXPORT_DAY = date(2025, 3, 21)  # exports made on a fixed day: their version ids are the same every run


def build_exports_db(path: Path) -> tuple[Path, str, str]:
    """`build_db` with two exports: A holds one accepted candidate; B drops it, adds the two procedural
    tool_calling candidates (their jobs queued for eval run 1, as `augment --from-eval` does) and holds a
    new version of a polish seed. Returns (path, A, B)."""
    from curator.services.export import export_dataset
    from curator.services.seeds import edit_seed
    from curator.services.triage import decide
    from curator.target_mix import CoverageMap
    from stub_embedder import STUB

    build_db(path)
    cmap = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES)
    with Store(path) as store:
        passing = [r[0] for r in store.conn.execute(
            "SELECT id FROM examples WHERE kind = 'candidate' AND gate_status = 'pass' AND job_id IS NULL ORDER BY id")]
        tools = [r[0] for r in store.conn.execute(
            "SELECT id FROM examples WHERE kind = 'candidate' AND family = 'tool_calling' ORDER BY id")]
        store.conn.execute("UPDATE jobs SET params = json_set(params, '$.augment', json('{\"eval_run\": 1}'))")
        decide(store, passing[0], "accept")
        a = export_dataset(store, cmap, today=EXPORT_DAY, embedder=STUB).version
        decide(store, passing[0], "reject", reason="wrong")
        for example_id in tools:
            decide(store, example_id, "accept")
        polish = store.seeds(role="polish")[0]
        edited = polish.model_dump(include={"family", "role", "task_type", "difficulty", "topic"})
        edited["messages"] = [m.model_dump(exclude_none=True) for m in polish.messages]
        edited["messages"][-1]["content"] += " (ویرایش)"
        edit_seed(store, polish.id, edited)
        b = export_dataset(store, cmap, today=EXPORT_DAY, embedder=STUB).version
    return path, a, b


async def settle(pilot, rounds: int = 50) -> None:
    """Let the app settle: pending messages handled, its workers done (those they start too: a command's
    refresh, a dismissed modal's worker), their messages handled. A worker replaced by a newer one of its
    group (cancelled) is done; `workers.wait_for_complete` would raise for it. Bounded by rounds of work."""
    await pilot.pause()
    for _ in range(rounds):
        waiting = [w for w in pilot.app.workers if not w.is_finished]
        if not waiting:
            return
        await asyncio.gather(*(w.wait() for w in waiting), return_exceptions=True)
        await pilot.pause()
    raise AssertionError(f"workers still running after {rounds} rounds: {waiting!r}")


async def settle_until(pilot, condition, rounds: int = 20) -> None:
    """Settle until `condition()` holds: a chain of workers (a command, then the refresh it asks for) may
    take more than one round. Bounded by rounds of work, never by time."""
    for _ in range(rounds):
        if condition():
            return
        await settle(pilot)
    app = pilot.app
    assert condition(), (f"the app settled without reaching the expected state (screen {app.screen!r}, last "
                         f"result {getattr(app, 'last_result', None)!r}, errors {getattr(app, 'errors', [])[-3:]!r})")


async def command(pilot, title: str) -> None:
    """Open the palette, type `title` and run the command it finds. The palette gathers its hits in a
    worker, one search per key typed: wait until the hit highlighted is `title` itself, or enter may pick
    the top hit of a search for a part of it ("Import" finds "Import seeds" too)."""
    from textual.command import CommandList, CommandPalette

    def highlighted() -> str | None:
        palette = pilot.app.screen
        if not isinstance(palette, CommandPalette):
            return None
        hits = palette.query_one(CommandList)
        if hits.highlighted is None:
            return None
        return str(hits.get_option_at_index(hits.highlighted).hit.text)

    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*title)
    await settle(pilot)  # (the search for the whole title, not only the one for the keys before)
    await settle_until(pilot, lambda: highlighted() == title)
    await pilot.press("enter")
    await pilot.pause()


PASSAGE_WORDS = ("تاریخ ایران زبان فارسی شهر کتاب مدرسه دانش‌آموز معلم درس آب خورشید گیاه برگ نور "
                 "است را که از به با در برای این آن هم یک و").split()


def build_passages_db(path: Path, n: int, *, marker: str = "ziggurat", every: int = 1000) -> Path:
    """A database of `n` short passages, ids 1 to n, every `every`-th with `marker` in its text:
    one executemany through the store's bulk path (a couple of seconds for 200k)."""
    import json
    import random

    from curator.models import now_iso

    rng = random.Random(23)
    stamp, empty = now_iso(), json.dumps([])
    rows = ((None, "corpus/big.txt", i, 0, 80, " ".join(rng.choices(PASSAGE_WORDS, k=14)) + f" شمارهٔ {i}"
             + (f" {marker}" if i % every == 0 else ""), f"h{i}", empty, "medium", empty, empty, stamp)
            for i in range(1, n + 1))
    with Store(path) as store:
        assert store.insert_passage_rows(rows) == n
    return path
