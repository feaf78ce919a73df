"""Hostile text (terminal escapes, C1 controls, bidi overrides, NUL, DEL, Rich markup) in every place
the app shows corpus, teacher, seed, eval or job text never reaches the terminal as codes: the bytes the
driver would write are captured and every escape sequence in them must be one Textual itself emits.
Editors keep the true text (an edit of one word saves every other character as it was), and copies
carry escapes, not control characters."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import DataTable, TextArea

from curator.config import Settings
from curator.display.inert import copyable, visible
from curator.models import Example, Job, Message
from curator.services.corpus_import import import_corpus
from curator.services.gate import run_gates
from curator.services.passages import update_passage
from curator.services.seeds import SEED_DEFAULTS, import_seeds
from curator.store import Store
from curator.text.normalize import key_hash
from curator.tui.app import CuratorApp
from curator.tui.widgets.inert import InertInput, InertTextArea
from tui_fixtures import FAMILIES, ROOT, settle

TITLE = "PWNED"
# OSC title, a CSI with a parameter Textual never writes, an erase, C1 CSI, a bidi override, markup, NUL, DEL.
HOSTILE = (f"\x1b]0;{TITLE}\x07 \x1b[31;4242mقرمز\x1b[0m \x1b[2J \x9b6n \u202eevil\u202c "
           "[bold red]markup[/] nul\x00 del\x7f \u2028end")
NUL = "\x00"
PERSIAN = "این متن دربارهٔ تاریخ ایران است و کاخ‌های هخامنشی را با جزئیات شرح می‌دهد."

# What Textual writes of its own: SGR with parameters up to 255, cursor moves, private modes, the
# synchronized-output mode, OSC 52 (the clipboard) with a base64 payload and OSC 22 (the pointer shape).
TEXTUAL_SEQUENCE = re.compile(
    r"\x1b\[(?:(?:\d{1,3}(?:;\d{1,3})*)?m|\d+;\d+H|\d*[ABCDGJK]|\?\d+(?:;\d+)*[hl]|\?2026\$p|8[hl])"
    r"|\x1b\]52;c;[A-Za-z0-9+/=]*\x07|\x1b\]22;[a-z-]+\x07")
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


class CapturingDriver(HeadlessDriver):
    """The headless driver, but the app renders through it and every write is kept."""

    written: list[str]

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.written.append(data)


def leaks(output: str) -> list[str]:
    """Whatever in the terminal output is not Textual's own: escapes of another kind, control bytes,
    C1 controls, bidi overrides; the SGR 4242 of the payload would pass the pattern, so it is named."""
    found = [m.group() for m in re.finditer(r"\x1b\[[0-9;]*4242[0-9;]*m", output)]
    rest = TEXTUAL_SEQUENCE.sub("", output)
    found += [repr(rest[max(0, m.start() - 10):m.end() + 10]) for m in FORBIDDEN.finditer(rest)]
    for sgr in re.findall(r"\x1b\[([\d;]*)m", output):
        found += [sgr] if any(int(p) > 255 for p in sgr.split(";") if p) else []
    return found


def hostile_db(tmp_path: Path) -> Path:
    db = tmp_path / f"db \x1b]0;{TITLE}\x07" / "hostile.db"  # its folder is shown on the dashboard
    db.parent.mkdir()
    corpus = tmp_path / f"corpus \x1b]0;{TITLE}\x07"
    corpus.mkdir()
    text = f"{PERSIAN} {HOSTILE.replace(NUL, '')} {PERSIAN}\n"  # the importer takes a file with NUL for binary
    (corpus / "passage.txt").write_text(text, encoding="utf-8")
    seeds, evals = tmp_path / "seeds.jsonl", tmp_path / "eval.jsonl"
    seed = {"family": "grammar_tutor", "role": "fewshot", "task_type": f"type {HOSTILE}",
            "messages": [{"role": "user", "content": f"سوال {HOSTILE}"},
                         {"role": "assistant", "content": f"پاسخ {HOSTILE}"}]}
    seeds.write_text(json.dumps(seed, ensure_ascii=False) + "\n", encoding="utf-8")
    item = {"family": "grammar_tutor", "messages": [{"role": "user", "content": f"ارزیابی {HOSTILE}"},
                                                    {"role": "assistant", "content": f"جواب {HOSTILE}"}]}
    evals.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    with Store(db) as store:
        assert import_corpus(store, [corpus]).problems == []
        # (import refuses a few-shot seed that cannot train; one stored before that rule is still shown inert)
        assert import_seeds(store, seeds).problems and store.add_seeds([Example(**seed, **SEED_DEFAULTS)]) == (1, 0)
        assert import_seeds(store, evals, eval_items=True).added == 1
        passage = store.passages()[0]
        update_passage(store, passage.id, tags=[f"tag {HOSTILE}"], quality="high", known_families=FAMILIES)
        store.update_passage(passage.id, rules=[f"rule {HOSTILE}"])
        call_id = f"call \x1b]0;{TITLE}\x07"
        messages = [Message(role="user", content=f"پرسش {HOSTILE}"),
                    Message(role="assistant", content=f"پاسخ {HOSTILE}",
                            tool_calls=[{"id": call_id, "function": {"name": "lookup",
                                                                      "arguments": json.dumps({"q": HOSTILE})}}]),
                    Message(role="tool", tool_call_id=call_id, content=HOSTILE),
                    Message(role="assistant", content=f"جمع‌بندی {HOSTILE}")]
        candidate = Example(kind="candidate", family="passage_qa", task_type=f"type {HOSTILE}", model="gen-model",
                            passage_id=passage.id, messages=messages)
        candidate.key_hash = key_hash(HOSTILE)
        store.add_example(candidate)
        run_gates(store, FAMILIES)
        job_id = store.add_job(Job(idem_key="hostile", family="passage_qa", passage_id=passage.id))
        attempt = store.claim_job(job_id, "test", max_attempts=3)
        store.finish_attempt(job_id, state="failed", attempt=attempt, error=f"error {HOSTILE}", raw=f"raw {HOSTILE}")
    return db


def test_visible_keeps_every_position_and_copyable_writes_escapes() -> None:
    text = HOSTILE + "\r\n\x0b\x0c\x1c\x85\u2029\u200c\u200f\t"
    shown = visible(text)
    assert len(shown) == len(text) and shown.split("\n") == [visible(line) for line in text.split("\n")]
    assert len(shown.splitlines()) == 2, "no line break is left but the line feed"
    assert "\u200c" in shown and "\u200f" in shown and "\t" in shown  # ZWNJ and the marks Persian needs stay
    assert copyable("a\x1b\u202e\U000e0001b\u200c") == "a\\x1b\\u202e\\U000e0001b\u200c"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return hostile_db(tmp_path)


def capturing_app(db: Path, start: str) -> tuple[CuratorApp, list[str]]:
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start=start)
    written: list[str] = []
    app.driver_class = type("Capture", (CapturingDriver,), {"written": written})
    return app, written


async def shown(pilot, written: list[str]) -> str:
    """Everything written since the last call, after the screen has settled and been painted."""
    await settle(pilot)
    pilot.app.refresh(repaint=True)
    await pilot.pause()
    output = "".join(written)
    written.clear()
    return output


def assert_inert(output: str, where: str, *, shows_title: bool = True) -> None:
    assert output, f"{where}: nothing was written"
    assert not leaks(output), f"{where}: {leaks(output)[:5]}"
    if shows_title:
        assert TITLE in output, f"{where}: the hostile text is not on screen (as pictures)"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_no_control_byte_reaches_the_terminal_on_any_screen(db: Path, size: tuple[int, int]) -> None:
    app, written = capturing_app(db, "dashboard")
    async with app.run_test(headless=False, size=size) as pilot:
        assert_inert(await shown(pilot, written), "dashboard")

        await pilot.press("t")
        output = await shown(pilot, written)
        assert app.screen.card is not None and HOSTILE in app.screen.card.example.messages[0].content
        assert_inert(output, "triage")
        for key in ("right_square_bracket", "right_square_bracket"):  # the tool turn and the tool call
            await pilot.press(key)
            assert_inert(await shown(pilot, written), "triage, another turn", shows_title=False)
        await pilot.press("y")
        assert_inert(await shown(pilot, written), "triage after a copy", shows_title=False)
        await pilot.press("g")
        assert_inert(await shown(pilot, written), "the gate details", shows_title=False)
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert_inert(await shown(pilot, written), "help", shows_title=False)
        await pilot.press("escape")
        await pilot.press("e")
        assert_inert(await shown(pilot, written), "the candidate editor")
        for _ in range(3):
            await pilot.press("tab")
            assert_inert(await shown(pilot, written), "the candidate editor, next turn")
        await pilot.press("escape")
        await pilot.press("n")
        assert_inert(await shown(pilot, written), "the note prompt", shows_title=False)
        await pilot.press("escape")

        await pilot.press("s")
        assert_inert(await shown(pilot, written), "seeds")
        await pilot.press("e")
        assert_inert(await shown(pilot, written), "the seed editor")
        await pilot.press("ctrl+j")
        assert_inert(await shown(pilot, written), "the seed editor as JSON", shows_title=False)
        await pilot.press("escape")

        await pilot.press("p")
        assert_inert(await shown(pilot, written), "passages")
        await pilot.press("T")
        assert_inert(await shown(pilot, written), "the tags prompt")
        await pilot.press("escape")
        await pilot.press("g")
        assert_inert(await shown(pilot, written), "the family chooser", shows_title=False)
        await pilot.press("escape")

        await pilot.press("j")
        output = await shown(pilot, written)
        assert_inert(output, "jobs")
        assert "[bold red]markup[/]" in output, "markup in untrusted text stays literal"
        errors = app.screen.query_one("#errors", DataTable)
        errors.focus()
        await pilot.press("enter")
        assert_inert(await shown(pilot, written), "a job's raw response")
        await pilot.press("escape")
        await pilot.press("g")
        assert_inert(await shown(pilot, written), "the generation form", shows_title=False)
        await pilot.press("escape")

        await pilot.press("ctrl+p")
        assert_inert(await shown(pilot, written), "the command palette", shows_title=False)
        await pilot.press("escape")
        assert_inert(await shown(pilot, written), "back from the palette", shows_title=False)


async def test_copy_writes_escapes_never_control_bytes(db: Path) -> None:
    app, written = capturing_app(db, "triage")
    async with app.run_test(headless=False, size=(120, 40)) as pilot:
        await settle(pilot)
        turn = app.screen.query_one("#turns").selected_message()
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == copyable(turn.content)
        assert "\\x1b]0;PWNED\\x07" in app.clipboard and "\\u202e" in app.clipboard and "\\x00" in app.clipboard
        payloads = re.findall(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", "".join(written))
        assert payloads, "the copy went to the terminal's clipboard"
        copied = base64.b64decode(payloads[-1]).decode()
        assert copied == copyable(turn.content) and not FORBIDDEN.search(copied.replace("\n", ""))


async def test_editing_one_word_saves_every_other_character_as_it_was(db: Path) -> None:
    app, written = capturing_app(db, "triage")
    async with app.run_test(headless=False, size=(120, 40)) as pilot:
        await settle(pilot)
        original = app.screen.card.example
        await pilot.press("e")
        await settle(pilot)
        area = app.screen.query(TextArea).first()
        assert isinstance(area, InertTextArea) and area.has_focus
        true = original.messages[0].content
        assert area.text == true and area.document.lines == [visible(line) for line in true.split("\n")]
        start = true.index("evil")
        area.move_cursor((0, start))
        area.move_cursor((0, start + 4), select=True)
        await pilot.press(*"good")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not leaks("".join(written))
        revision = app.screen.card.example
    assert revision.id != original.id
    assert revision.messages[0].content == true.replace("evil", "good")
    assert [m.content for m in revision.messages[1:]] == [m.content for m in original.messages[1:]]
    assert revision.messages[1].tool_calls == original.messages[1].tool_calls


async def test_the_editor_moves_one_cell_per_picture_and_undo_cut_paste_keep_the_true_text(tmp_path: Path) -> None:
    from textual.app import App

    text = f"a{HOSTILE}\r\nخط\x0cدو"

    class One(App):
        def compose(self):
            yield InertTextArea(text, soft_wrap=False)
            yield InertInput(value=HOSTILE)

    app = One()
    async with app.run_test(size=(200, 10)) as pilot:
        area = app.query_one(InertTextArea)
        area.focus()
        assert area.document.lines == visible(text).split("\n")
        for column in range(1, 9):
            await pilot.press("right")
            assert area.cursor_location == (0, column)
            assert area.cursor_screen_offset.x - area.content_region.x == column  # one cell per picture
        first, rest = text.split("\n", 1)
        await pilot.press("shift+end", "ctrl+x")
        assert area.text == first[:8] + "\n" + rest
        assert app.clipboard == copyable(first[8:])
        await pilot.press("ctrl+v")
        assert area.text == text
        area.select_all()
        await pilot.press("delete")
        assert area.text == ""
        await pilot.press("ctrl+z")
        assert area.text == text
        field = app.query_one(InertInput)
        assert field.value == HOSTILE and str(field._value) == visible(HOSTILE)
        assert field._position_to_cell(3) == 3
        field.focus()
        field.action_select_all()
        field.action_cut()
        assert field.value == "" and app.clipboard == copyable(HOSTILE)
        field.action_paste()
        assert field.value == HOSTILE, "a cut and paste inside the app keeps the true text"


async def test_errors_summaries_and_the_header_are_inert(tmp_path: Path) -> None:
    db = hostile_db(tmp_path)
    named = db.with_name(f"hostile \x1b]0;{TITLE}\x07.db")
    db.rename(named)
    app, written = capturing_app(named, "dashboard")
    async with app.run_test(headless=False, size=(120, 40)) as pilot:
        await settle(pilot)
        app.show_error(f"a worker failed on {HOSTILE}")
        app.show_result("Import a corpus", f"skipped: {HOSTILE}")
        assert_inert(await shown(pilot, written), "notifications and the header")


def test_the_command_lines_print_no_control_byte(db: Path, capsys) -> None:
    """What the commands print of untrusted text (a teacher's error and raw response, a seed's task type, a
    candidate, a passage) is as inert as on the screens: `jobs --show` printed the job's error raw."""
    from curator.cli import main

    with Store(db, readonly=True) as store:
        job = store.conn.execute("SELECT id FROM jobs").fetchone()[0]
    for args in (["jobs", "--show", str(job)], ["jobs", "--errors"], ["seeds", "list"], ["candidates", "list"],
                 ["passages", "list"], ["gate", "report"], ["stats"]):
        try:
            main(["--db", str(db), *args])
        except SystemExit as ended:
            assert ended.code in (0, None), args
        out = capsys.readouterr()
        printed = out.out + out.err
        assert TITLE in printed or args[0] in ("stats", "gate", "candidates"), args  # (shown, as escapes)
        assert not [c for c in FORBIDDEN.findall(printed) if c not in "\t"], (args, FORBIDDEN.findall(printed)[:5])
