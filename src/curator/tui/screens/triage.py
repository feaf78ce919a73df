"""Triage: one candidate at a time, single-key decisions, committed before the next is drawn."""

from __future__ import annotations

import textwrap
import time
from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from curator.display.cell import cut, fit
from curator.services import triage
from curator.services.triage import Card, Filters
from curator.store import BadRow, Store, StoreError
from curator.display.inert import copyable, visible
from curator.tui.textual_private import bindings_of
from curator.tui.errors import attempt
from curator.tui.widgets.card_scroll import CardScroll
from curator.tui.widgets.keyline import KeyLine
from curator.tui.keys import shown_key
from curator.tui.messages import BidiChanged, DataChanged, Reading
from curator.tui.widgets.conversation import ConversationView
from curator.tui.widgets.rtl import RtlText
from curator.tui.screens.triage_scale import TriageAtScale, UnfinishedBulks

VERDICT_FILTERS = (None, "pass", "flag", "fail")


def packed(head: str, items: list[str], width: int, sep: str = "") -> list[tuple[str, int]]:
    """Short items after a head word, on as few lines as fit `width` (the next lines indented under
    the first item; an item wider than a line is cut), each line with how many items it holds."""
    room = max(1, width - len(head) - 1)
    rows: list[list[str]] = []
    for item in items:
        if rows and len(f"{sep} ".join(rows[-1] + [item])) <= room:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [((head if i == 0 else " " * len(head)) + " " + fit(f"{sep} ".join(row), room), len(row))
            for i, row in enumerate(rows)]


class QueueLoaded(Reading):
    def __init__(self, ids: list[int], families: list[str], tags: list[str], keep_position: int | None = None) -> None:
        super().__init__()
        self.ids = ids
        self.families = families
        self.tags = tags
        self.keep_position = keep_position


class QueueFailed(Reading):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


def name_reason_keys(bindings: BindingsMap, reasons: list[str]) -> BindingsMap:
    """Describe triage's number keys by the reason each rejects with, in place (the palette names them
    the same way whether triage is shown or not)."""
    for key, bound in bindings.key_to_bindings.items():
        for index, binding in enumerate(bound):
            if binding.id and binding.id.startswith("triage.reason"):
                n = int(binding.id.removeprefix("triage.reason"))
                reason = reasons[n - 1] if n <= len(reasons) else None
                bound[index] = replace(binding, description=f"Reject: {reason}" if reason
                                       else f"Reject: no reason set on {n}")
    return bindings


def one_line_legend(reasons: list[str], blind: bool, width: int) -> str:
    """The reject keys on one line of `width`: every number with its reason, whole if they fit, else
    after a shorter label with the reasons cut to the longest length that lets all of them fit (at
    least 3 letters, and never so short that two read alike: "unsu" and "unsa", not "uns" twice; `?`
    names them whole)."""
    tail = " · blind (B)" if blind else ""

    def unique(reason: str) -> int:  # the fewest letters that tell it from every other reason
        others = [r for r in reasons if r != reason]
        return next((k for k in range(3, len(reason)) if not any(o.startswith(reason[:k]) for o in others)),
                    len(reason))

    least = {r: unique(r) for r in reasons}

    def line(label: str, room: int) -> str:
        return label + " ".join(f"{n} {r[:max(room, least[r])]}" for n, r in enumerate(reasons, 1)) + tail

    longest = max((len(r) for r in reasons), default=0)
    if len(whole := line("reject: ", longest)) <= width:
        return whole
    for room in range(longest, 2, -1):
        if len(shown := line("rej: ", room)) <= width:
            return shown
    return line("rej: ", 3)


class TriageScreen(TriageAtScale, Screen):
    """Accept, reject, skip, undo, edit, flag and annotate candidates with single keys."""

    # What acts at once on the card shown: the palette offers it here only, never from another screen
    # (where the card is not in sight; see `CuratorApp.get_system_commands`).
    ON_THE_SELECTED = frozenset({"accept", "decide", "reject_with_reason", "reject_reason", "note", "copy"})
    BINDINGS = [
        Binding("a", "accept", "Accept", id="triage.accept"),
        Binding("x", "decide('reject')", "Reject", id="triage.reject"),
        Binding("X", "reject_with_reason", "Reject with a reason", id="triage.reject_reason", show=False),
        Binding("space", "decide('skip')", "Skip", id="triage.skip"),
        Binding("backspace", "undo", "Undo", id="triage.undo"),
        Binding("e", "edit", "Edit", id="triage.edit"),
        Binding("f", "decide('flag')", "Flag", id="triage.flag"),
        Binding("n", "note", "Note", id="triage.note"),
        Binding("right,l", "move(1)", "Next", id="triage.next", show=False),
        Binding("left,h", "move(-1)", "Back", id="triage.previous", show=False),
        Binding("w", "cycle_queue", "Queue", id="triage.queue"),
        Binding("slash", "search", "Search", id="triage.search"),
        Binding("equals_sign", "filter", "Filter", id="triage.filter"),
        Binding("asterisk", "bulk", "Decide all shown", id="triage.bulk", show=False),
        Binding("F", "cycle_family", "Family", id="triage.family", show=False),
        Binding("v", "cycle_verdict", "Verdict", id="triage.verdict", show=False),
        Binding("t", "cycle_tag", "Tag", id="triage.tag", show=False),
        Binding("c", "clear_filters", "Clear filters", id="triage.clear", show=False),
        Binding("y", "copy", "Copy", id="triage.copy", show=False),
        Binding("left_square_bracket", "select_turn(-1)", "Previous turn", id="triage.turn_previous", show=False),
        Binding("right_square_bracket", "select_turn(1)", "Next turn", id="triage.turn_next", show=False),
        Binding("g", "details", "Gate details", id="triage.details"),
        Binding("m", "my_flags", "My flags", id="triage.my_flags", show=False),
        Binding("B", "toggle_blind", "Blind", id="triage.blind", show=False),
        Binding("o", "cycle_order", "Order", id="triage.order", show=False),
        Binding("R", "resume_bulk", "Resume the stopped bulk", id="triage.resume", show=False),
    ] + [Binding(str(n), f"reject_reason({n - 1})", f"Reject: reason {n}", id=f"triage.reason{n}", show=False)
         for n in range(1, 10)]
    DEFAULT_CSS = """
    TriageScreen #status { height: 1; background: $boost; padding: 0 1; }
    TriageScreen #tally { height: 1; padding: 0 1; color: $text-muted; }
    TriageScreen #tally.warning { height: auto; max-height: 3; background: $warning 30%; color: $text;
                                  text-style: bold; }
    TriageScreen #filterbar { height: 1; padding: 0 1; background: $accent 15%; display: none; }
    TriageScreen #filterbar.warning { background: $warning 30%; text-style: bold; }
    TriageScreen #body { height: 1fr; }
    TriageScreen #conversation { width: 3fr; padding: 0 1; }
    TriageScreen #side { width: 2fr; border-left: solid $primary-background; padding: 0 1; }
    TriageScreen #passage-box { height: 1fr; }
    TriageScreen #verdicts { height: auto; }
    TriageScreen #history { height: auto; color: $text-muted; }
    TriageScreen #reasons { height: auto; color: $text-muted; }
    TriageScreen.narrow #body { layout: vertical; }
    TriageScreen.narrow #side { width: 1fr; height: 1fr; border-left: none; border-top: solid $primary-background; }
    TriageScreen.narrow #conversation { width: 1fr; height: 1fr; }
    TriageScreen.narrow #passage-title { display: none; }
    TriageScreen.no-passage #passage-box { display: none; }
    TriageScreen.narrow.no-passage #side { height: auto; max-height: 50%; }
    TriageScreen .title { text-style: bold; color: $accent; }
    """

    def __init__(self, db_path, families: dict | None = None) -> None:
        super().__init__()
        self.db_path = db_path
        self.families = families or {}
        self.queue = "pending"
        self.filters = Filters()
        self.ids: list[int] = []
        self.position = 0
        self.card: Card | None = None
        self.problem: str | None = None  # why the current row cannot be shown
        self.families_list: list[str] = []
        self.tags_list: list[str] = []
        self.shown_at = time.monotonic()
        self._shown: dict[str, str] = {}  # what each Static shows now (see _set)
        self.session = triage.Session()  # decisions since the screen (the app) opened
        self.done: set[int] = set()  # ids of this queue accepted or rejected since it was loaded
        self.last_line = ""  # the last decision, with how to undo it
        self.notice = ""  # a passing word (a key that could not act): shown until the next card is drawn
        self.confirming: int | None = None  # the id an `a` warned about: `a` again accepts it
        self.warning = ""
        settings = getattr(self.app, "settings", None)
        self.reasons: list[str] = list(settings.triage.reasons) if settings else []
        self.blind = bool(settings and settings.triage.blind)
        self._name_reason_keys()

    def _name_reason_keys(self) -> None:
        """The number keys are described by the reason each rejects with (what `?` lists), or
        as having none."""
        name_reason_keys(bindings_of(self), self.reasons)

    @property
    def undo_key(self) -> str:
        return shown_key(self.app, "triage.undo", self)

    @property
    def store(self) -> Store:
        return self.app.store  # the UI thread's connection: decisions commit before the next card is drawn

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading…", id="status", markup=False)
        yield Static("", id="tally", markup=False)
        yield Static("", id="filterbar", markup=False)
        with Horizontal(id="body"):
            with CardScroll(id="conversation"):
                yield ConversationView(id="turns", mode=self.app.bidi_mode)
            with Vertical(id="side"):
                yield Static("Source passage", classes="title", id="passage-title")
                with CardScroll(id="passage-box"):
                    yield RtlText("", id="passage", mode=self.app.bidi_mode)
                yield Static("Gates", classes="title")
                yield Static("", id="verdicts", markup=False)
                yield Static("", id="history", markup=False)
                yield Static("", id="reasons", markup=False)
        yield KeyLine()

    def on_mount(self) -> None:
        self.load_queue()
        self.retrain(only_if_stale=True)

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "narrow")
        if self.is_mounted and self.card is not None:
            self.call_after_refresh(self.draw)  # the side panel's new size is known after the layout

    # -- data ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="triage-queue", exit_on_error=False)
    def load_queue(self, keep_position: int | None = None) -> None:
        try:
            with self.app.project.reader() as store:  # a reader: it never waits for the file check
                ids = triage.queue_ids(store, self.queue, self.filters, order=self.order)
                families, tags = triage.filter_families(store), triage.filter_tags(store)
                unfinished = store.unfinished_bulks()
        except StoreError as exc:
            self.post_message(QueueFailed(str(exc)))
            return
        self.post_message(UnfinishedBulks(unfinished))
        self.post_message(QueueLoaded(ids, families, tags, keep_position))

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        if message.stale:
            return
        self.ids = message.ids
        self.done = set()
        self.families_list, self.tags_list = message.families, message.tags
        self.position = 0
        if message.keep_position is not None and message.keep_position in self.ids:
            self.position = self.ids.index(message.keep_position)
        self.show_current()

    def on_queue_failed(self, message: QueueFailed) -> None:
        if message.stale:
            return
        self.app.show_error(visible(f"could not load the queue: {message.error}"))

    def show_current(self) -> None:
        self.card, self.problem, self.notice = None, None, ""
        self.confirming, self.warning = None, ""
        if 0 <= self.position < len(self.ids):
            try:
                self.card = triage.load_card(self.store, self.ids[self.position])
            except BadRow as exc:
                self.problem = f"#{exc.example_id} cannot be shown: {exc.problem} (its format gate fails it)"
            except (KeyError, StoreError) as exc:
                self.problem = f"#{self.ids[self.position]} cannot be shown: {exc}"
        self.shown_at = time.monotonic()
        self.draw()

    def on_data_changed(self, _message: DataChanged) -> None:
        self.load_queue(keep_position=self.card.example.id if self.card else None)

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.draw()

    def _attempt(self, what: str, fn):
        """Run a write on the UI thread's store; a failure is shown and changes nothing on screen.
        Returns (result, ok)."""
        return attempt(self.app, what, fn)

    def _set(self, selector: str, text: str) -> None:
        """Update a Static only if its text changed, with a layout pass only if its height did: a
        keypress then re-lays out just what moved (the status line has a fixed height of one). The text
        (a task type, a search, a gate's reason) is drawn inert."""
        widget = self.query_one(selector, Static)
        before = self._shown.get(selector)
        if text != before:
            self._shown[selector] = text
            widget.update(visible(text), layout=before is None or text.count("\n") != before.count("\n"))

    def draw(self) -> None:
        card = self.card
        self._set("#status", cut(self.status_line(), self._width("#status")))
        self.draw_tally()
        self.draw_filter_bar()
        legend = [f"{n} {r}" for n, r in enumerate(self.reasons, 1)] + (["· blind (B)"] if self.blind else [])
        if self.has_class("narrow"):  # one line: the gates come first; every key is listed, shortened to fit
            self._set("#reasons", fit(one_line_legend(self.reasons, self.blind, self._width("#reasons")),
                                      self._width("#reasons"), self.app.bidi_mode))
        else:
            self._set("#reasons", "\n".join(line for line, _ in packed("reject:", legend, self._width("#reasons"))))
        view = self.query_one("#turns", ConversationView)
        if card is None:
            message = self.problem or ("End of this queue." if self.ids else "Nothing to review here.")
            view.show(None, f"{message} Change the queue (w; m: my flags) or the filters (c clears them); "
                            f"{self.undo_key} undoes the last decision.")
            self.set_class(True, "no-passage")
            self._set("#passage-title", "")
            self.query_one("#passage", RtlText).text = ""
            self._set("#verdicts", "")
            self._set("#history", "")
            return
        view.show(card.example)
        self.query_one("#conversation", VerticalScroll).scroll_home(animate=False)
        self.set_class(not card.passage_text, "no-passage")  # the conversation gets the passage's room
        self._set("#passage-title", "Source passage" if card.passage_text else "No source passage")
        self.query_one("#passage", RtlText).text = card.passage_text or ""
        self._set("#verdicts", self.verdict_text(card))
        history = card.history()
        shown = history[-self._history_lines():]
        more = len(history) - len(shown)
        width, mode = self._width("#history"), self.app.bidi_mode
        heads = [f"earlier (+{more}, g): " if more else "earlier: "] + ["  "] * (len(shown) - 1)
        self.query_one("#history").display = bool(shown)
        self._set("#history", "\n".join(head + fit(line, width - len(head), mode) for head, line in zip(heads, shown)))

    def _width(self, selector: str) -> int:
        return max(20, self.query_one(selector).content_region.width or 60)

    def _history_lines(self) -> int:
        return 1 if self.has_class("narrow") else 2

    def _verdict_room(self) -> int:
        """Lines the gate summaries may take: what the side panel has after its other lines."""
        side = self.query_one("#side").content_region.height or 12
        history = min(self._history_lines(), len(self.card.history())) if self.card else 0
        passage = 2 if self.has_class("narrow") else 5  # at least this much of the passage (and its title)
        if self.has_class("no-passage"):
            passage = 0 if self.has_class("narrow") else 1  # the title says there is none
            if self.has_class("narrow"):  # the side panel is as tall as its lines, up to half the body
                side = (self.query_one("#body").content_region.height or 20) // 2
        reasons = self._shown.get("#reasons", "").count("\n") + 1
        return max(2, side - passage - history - reasons - 1)  # 1: the Gates title

    def verdict_text(self, card: Card) -> str:
        """One line per failing or flagging gate, the passing ones on one line; "+N more (g)" past the room."""
        blind = self.blind and not card.decided
        lines = triage.gate_lines(card.verdicts, blind=blind)
        if not lines:
            return "(not gated yet)"
        width, mode = self._width("#verdicts"), self.app.bidi_mode
        if blind:
            return fit("hidden until you decide (blind mode; B shows them): " + ", ".join(g.gate for g in lines),
                       width, mode)
        out = [(fit(predicted, width, mode), 1)] if (predicted := self.prediction_line()) else []
        out += [(fit(f"{g.gate} {g.verdict} {g.summary}", width, mode), 1) for g in lines if g.verdict != "pass"]
        out += packed("pass:", [g.gate for g in lines if g.verdict == "pass"], width, ",")  # passing gates share lines
        room = self._verdict_room()
        if len(out) > room:
            hidden = sum(n for _, n in out[room - 1:])
            out = out[:room - 1] + [(f"+{hidden} more gate{'s' if hidden > 1 else ''} (g shows all)", 0)]
        return "\n".join(text for text, _ in out)

    def say(self, text: str) -> None:
        """A message on the tally line, not a toast (at 80x24 a toast covers the gate lines), kept there until
        the next decision's (as the last decision's is)."""
        self.last_line, self.notice = text, ""
        self.draw_tally()

    def tell(self, text: str) -> None:
        """A passing word on the tally line (why a key did nothing, say): gone once another card is drawn,
        when the last decision's line shows again."""
        self.notice = text
        self.draw_tally()

    def no_card(self) -> bool:
        """True, with a word on the tally line, when no candidate is shown for a key to act on."""
        if self.card is not None:
            return False
        if self.problem:
            self.tell("this row cannot be shown: the keys that act on a candidate wait for the next (→)")
        else:
            self.tell("no candidate here: " + ("this queue is empty (w changes it, c clears the filters)"
                                               if not self.ids else "the end of this queue (← goes back)"))
        return True

    def draw_tally(self) -> None:
        """The warning awaiting a confirmation, else the last decision and the session's pace."""
        tally = self.query_one("#tally", Static)
        tally.set_class(bool(self.warning), "warning")
        if self.warning:  # whole, on up to three lines (a long one is cut only past them)
            width = self._width("#tally")
            lines = textwrap.wrap(self.warning, width) or [""]
            if len(lines) > 3:
                lines = lines[:2] + [" ".join(lines[2:])]
            self._set("#tally", "\n".join(fit(line, width, self.app.bidi_mode) for line in lines))
            return
        session = self.session
        pace = f"{session.count} decided since opening"
        if session.median_seconds is not None:
            pace += f" · median {session.median_seconds:.1f} s"
        line = self.notice or (f"{self.last_line} · {pace}" if self.last_line else pace)  # (a notice: the whole line)
        self._set("#tally", fit(line, self._width("#tally"), self.app.bidi_mode))

    def status_line(self) -> str:
        mode = self.app.bidi_mode
        left = len(self.ids) - len(self.done)
        head = f"{triage.QUEUES[self.queue]} · {left:,} left / {len(self.ids):,}"  # the filter is on the bar below
        if self.card is not None:
            e = self.card.example
            head += (f" · #{e.id} {fit(e.family, 24, mode)} / {fit(e.task_type or '-', 24, mode)}"
                     f" / {fit(e.difficulty or '-', 24, mode)} · {e.state}"
                     f"{' · revision of #' + str(e.parent_id) if e.parent_id else ''}")
        return head

    # -- actions -----------------------------------------------------------------------------------

    def action_accept(self) -> None:
        """Accept; when a gate fails the candidate or export would drop it, warn first and accept on a
        second `a` (another decision or a move to another card cancels)."""
        card = self.card
        if self.no_card():
            return
        if self.confirming != card.example.id:
            warnings = card.accept_warnings()
            if warnings and self.blind and not card.decided:  # the verdicts stay hidden until a decision
                warnings = ["a gate or the export objects (blind: B shows which)"]
            if warnings:
                self.confirming = card.example.id
                self.warning = f"⚠ {shown_key(self.app, 'triage.accept', self)} again to accept #{card.example.id}: {'; '.join(warnings)}"
                self.draw_tally()
                return
        self.action_decide("accept")

    def action_decide(self, action: str, note: str | None = None, reason: str | None = None) -> None:
        card = self.card
        if self.no_card():
            return
        example_id = card.example.id
        seconds = round(time.monotonic() - self.shown_at, 2)
        decision_id, ok = self._attempt(action, lambda: triage.decide(self.store, example_id, action, seconds=seconds,
                                                                      note=note, reason=reason))
        if not ok:
            return  # the same card stays
        self.confirming, self.warning = None, ""
        if action in ("accept", "reject"):  # (the pace counts what leaves the queue, as `left` does)
            self.session.record(decision_id, seconds)
            self.done.add(example_id)
            self.app.post_message(DecisionMade(example_id, action))
            self.decision_counted()
        done = {"accept": "accepted", "reject": "rejected", "skip": "skipped", "flag": "flagged"}[action]
        self.last_line = f"{done} #{example_id}{f' ({reason})' if reason else ''} · undo: {self.undo_key}"
        self.action_move(1)

    def action_reject_reason(self, index: int) -> None:
        """Reject with the reason code bound to this number key ([triage] reasons)."""
        if index < len(self.reasons):
            self.action_decide("reject", reason=self.reasons[index])
        else:
            self.tell(f"no reason on key {index + 1}: [triage] reasons has {len(self.reasons)}")

    def action_reject_with_reason(self) -> None:
        if self.no_card():
            return
        from curator.tui.screens.prompt import PromptScreen

        def refused(text: str) -> str | None:
            if not text.strip():
                return None  # (nothing typed: nothing decided, as escape)
            try:
                triage.reason_code(text)
            except triage.TriageError as exc:
                return str(exc)
            return None

        def done(text: str | None) -> None:
            if text and text.strip():
                self.action_decide("reject", reason=triage.reason_code(text))

        known = ", ".join(self.reasons[:4]) if self.reasons else "off_topic"
        self.app.push_screen(PromptScreen(f"Reject: a reason code (configured: {known}…; or a new one)",
                                          check=refused), done)

    def action_details(self) -> None:
        """Every gate's full evidence and the card's whole history, inert and scrollable."""
        card = self.card
        if self.no_card():
            return
        from curator.tui.screens.evidence import EvidenceScreen

        history = card.history()
        blind = self.blind and not card.decided
        text = triage.gate_details(card.verdicts, blind=blind)
        if history:
            text += "\n\nNotes, flags and decisions:\n" + "\n".join(history)
        found = triage.evidence(self.store, card, blind=blind)
        self.app.push_screen(EvidenceScreen(f"#{card.example.id}: gates and history", found, text, example_id=card.example.id, blind=blind))

    def action_my_flags(self) -> None:
        self.queue = "mine"
        self.load_queue()

    def action_toggle_blind(self) -> None:
        self.blind = not self.blind
        self.tell("blind mode: verdicts and judge scores hidden until you decide" if self.blind
                    else "blind mode off")
        self.draw()

    def action_move(self, step: int) -> None:
        if not self.ids:
            return
        if self.position + step < 0:  # (a key that seems to do nothing reads as a frozen app over SSH)
            self.tell("this is the first candidate of the queue")
            return
        self.position = max(0, min(len(self.ids), self.position + step))  # len(ids): past the end
        self.show_current()

    def action_undo(self) -> None:
        latest, ok = self._attempt("undo", lambda: self.store.last_undoable())
        if ok and latest is not None and latest.bulk is not None:  # a bulk: undone whole, in a worker
            if not self.bulk_running:
                self.undo_bulk(latest.bulk)
            return
        undone, ok = self._attempt("undo", lambda: triage.undo(self.store))
        if not ok:
            return
        if undone is None:
            self.tell("nothing to undo")
            return
        self.app.post_message(DecisionMade(undone.example_id, "undo"))
        self.session.forget(undone.id)
        if undone.action in ("accept", "reject"):
            self.done.discard(undone.example_id)
        self.last_line = f"undid {undone.action} of #{undone.example_id}"
        if undone.example_id in self.ids:
            self.position = self.ids.index(undone.example_id)
        else:
            self.ids.insert(self.position, undone.example_id)
        self.show_current()

    def action_edit(self) -> None:
        if self.no_card():
            return
        from curator.tui.screens.edit import EditScreen

        def saved(revision_id: int | None) -> None:
            if revision_id is not None:  # the revision takes the original's place: the original left the queues
                self.ids[self.position] = revision_id
                self.show_current()
                self.say(f"saved revision #{revision_id}; its cheap gates have run")
            else:
                self.tell("edit cancelled: nothing saved")

        self.app.push_screen(EditScreen(self.card.example), saved)

    def action_note(self) -> None:
        if self.no_card():
            return
        from curator.tui.screens.prompt import PromptScreen

        example_id = self.card.example.id

        def done(text: str | None) -> None:
            if text:
                _, ok = self._attempt("note", lambda: triage.decide(self.store, example_id, "note", note=text))
                if ok:
                    self.card = triage.load_card(self.store, example_id) if self.card else None
                    self.last_line = f"noted #{example_id} · undo: {self.undo_key}"
                    self.draw()

        self.app.push_screen(PromptScreen("Note on this candidate"), done)

    def action_search(self) -> None:
        from curator.tui.screens.prompt import PromptScreen

        def done(text: str | None) -> None:
            if text is not None:
                self.filters = self.filters.replace(search=text or None)
                self.load_queue()

        self.app.push_screen(PromptScreen("Search the conversations", self.filters.search or ""), done)

    def _cycle(self, values: list, current):
        values = [None] + [v for v in values if v is not None]
        return values[(values.index(current) + 1) % len(values)] if current in values else values[0]

    def action_cycle_queue(self) -> None:
        names = list(triage.QUEUES)
        self.queue = names[(names.index(self.queue) + 1) % len(names)]
        self.load_queue()

    def action_cycle_family(self) -> None:
        self.filters = self.filters.replace(family=self._cycle(self.families_list, self.filters.family))
        self.load_queue()

    def action_cycle_verdict(self) -> None:
        self.filters = self.filters.replace(verdict=self._cycle(list(VERDICT_FILTERS), self.filters.verdict))
        self.load_queue()

    def action_cycle_tag(self) -> None:
        self.filters = self.filters.replace(tag=self._cycle(self.tags_list, self.filters.tag))
        self.load_queue()

    def action_clear_filters(self) -> None:
        self.filters = Filters()
        self.load_queue()

    def action_select_turn(self, step: int) -> None:
        self.query_one("#turns", ConversationView).move_selection(step)

    def action_copy(self) -> None:
        turn = self.query_one("#turns", ConversationView).selected_message()
        if turn is not None:
            self.app.copy_to_clipboard(copyable(turn.content))
            self.tell("copied the turn's logical text (control characters as escapes)")



class DecisionMade(Message):
    """A decision changed what is accepted (for live coverage counts)."""

    def __init__(self, example_id: int, action: str) -> None:
        super().__init__()
        self.example_id = example_id
        self.action = action
