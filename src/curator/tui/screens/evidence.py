"""A card's gates in full: each duplicate's or leak's evidence (the one-line summary, the word diff: what
each says alone, then what they share; this candidate and the matched item side by side), then every
gate's verdict and the card's history. On a duplicate, `k` makes this candidate the keeper of its
cluster instead (`services.keeper`); a leak of the eval set has no keeper, and `k` says so. The title
and this screen's keys sit in the frame, which covers the key line of the screen beneath (its keys do
not work here), so at 80x24 every line inside is evidence. Everything inert; Persian through the RTL
pipeline."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen

from curator.services import triage
from curator.services.triage import Card, Evidence
from curator.tui.errors import EXPECTED_ERRORS, attempt, describe
from curator.tui.keys import shown_key
from curator.tui.widgets.inert import tell
from curator.tui.widgets.rtl import RtlText


def details_of(card: Card, blind: bool) -> str:
    """Every gate's verdict in full, then the card's notes, flags and decisions (what triage's `g` shows)."""
    text = triage.gate_details(card.verdicts, blind=blind)
    if history := card.history():
        text += "\n\nNotes, flags and decisions:\n" + "\n".join(history)
    return text


def is_duplicate(item: Evidence) -> bool:
    """Whether the evidence is a dedup gate's (its summary starts with the gate: `gates.evidence.summary`)."""
    return item.summary.split(":", 1)[0] in ("dedup", "dedup_meaning")


class KeeperChecked(Message):
    """Whether `k` can make the card's candidate the keeper (`why`: why not; None: it can)."""

    def __init__(self, why: str | None) -> None:
        super().__init__()
        self.why = why


class EvidenceScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,g", "dismiss", "Close", id="evidence.close"),
                Binding("k", "keeper", "Make this the keeper", id="evidence.keeper")]
    DEFAULT_CSS = """
    EvidenceScreen > VerticalScroll { margin: 1 2 0 2; border: round $warning; background: $surface; padding: 0 1;
                                      border-title-color: $text; border-subtitle-color: $text-muted; }
    EvidenceScreen.narrow > VerticalScroll { margin: 1 0 0 0; }
    EvidenceScreen .side-by-side { height: auto; margin: 0 0 1 0; }
    EvidenceScreen .side { width: 1fr; height: auto; border-left: tall $primary 40%; padding: 0 1; }
    EvidenceScreen .label { text-style: bold; }
    EvidenceScreen .summary { text-style: bold; color: $warning; }
    EvidenceScreen .done { text-style: bold; color: $success; }
    EvidenceScreen .warning { text-style: bold; color: $warning; }
    """

    def __init__(self, title: str, found: list[Evidence], details: str, *, example_id: int | None = None,
                 blind: bool = False) -> None:
        """`example_id`: the card's candidate, which `k` may make the keeper (None: `k` does nothing);
        `blind`: its verdicts are hidden until the curator decides (`k` then says so)."""
        super().__init__()
        self.title_text, self.found, self.details = title, found, details
        self.example_id, self.blind = example_id, blind
        self.result: list[str] = []  # what the last `k` did, and its warnings
        self.keeper_why: str | None = "not checked yet"  # why `k` cannot make this the keeper (None: it can)

    def compose(self) -> ComposeResult:
        mode = self.app.bidi_mode
        with VerticalScroll():
            for n, line in enumerate(self.result):
                yield RtlText(line, ltr=True, mode=mode, classes="done" if n == 0 else "warning")
            for item in self.found:
                yield RtlText(item.summary, mode=mode, classes="summary")
                diff = item.diff
                yield RtlText("only here: " + ("، ".join(diff["only_a"]) or "-"), mode=mode)
                yield RtlText(f"only in {item.other_label}: " + ("، ".join(diff["only_b"]) or "-"), mode=mode)
                yield RtlText("shared: " + ("، ".join(diff["shared"]) or "-"), mode=mode)
                with Horizontal(classes="side-by-side"):
                    with Vertical(classes="side"):
                        yield RtlText("this candidate", ltr=True, mode=mode, classes="label")
                        yield RtlText(item.this, mode=mode)
                    with Vertical(classes="side"):
                        yield RtlText(item.other_label, ltr=True, mode=mode, classes="label")
                        yield RtlText(item.other, mode=mode)
            yield RtlText(self.details, ltr=True, mode=mode)

    def on_mount(self) -> None:
        self.frame()
        if self.example_id is not None and not self.blind and any(is_duplicate(item) for item in self.found):
            self.check_keeper()

    @work(thread=True, exclusive=True, group="evidence-keeper", exit_on_error=False)
    def check_keeper(self) -> None:
        """Whether `k` applies here (a read, on a connection of its own); the frame names `k` if it does."""
        from curator.services import keeper

        try:
            with self.app.project.reader() as store:
                why = keeper.refusal(store, self.example_id)
        except EXPECTED_ERRORS as exc:
            why = describe(exc)
        self.post_message(KeeperChecked(why))

    def on_keeper_checked(self, message: KeeperChecked) -> None:
        self.keeper_why = message.why
        self.frame()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "narrow")

    def frame(self) -> None:
        """The title at the top of the frame and the keys at its bottom (plain text, never markup)."""
        scroll = self.query_one(VerticalScroll)
        scroll.border_title = Text(self.title_text)
        keys = [f"{shown_key(self.app, 'evidence.close', self)} close"]
        if self.keeper_why is None:
            keys.insert(0, f"{shown_key(self.app, 'evidence.keeper', self)} make this the keeper")
        scroll.border_subtitle = Text(" · ".join(keys))

    async def action_keeper(self) -> None:
        """Make this candidate the keeper of its duplicates (a decision: on the UI thread's connection,
        like triage's), then show what changed; or say why it cannot be."""
        if self.example_id is None:
            return
        if self.blind:
            tell(self, "blind mode hides the verdicts until you decide: decide first, or B shows them",
                 severity="warning")
            return
        from curator.services import keeper

        store, example_id = self.app.store, self.example_id
        why, ok = attempt(self.app, "keeper", lambda: keeper.refusal(store, example_id))
        if not ok:
            return
        if why:
            tell(self, f"no keeper to swap: {why}", severity="warning", timeout=10)
            return
        swap, ok = attempt(self.app, "keeper", lambda: keeper.make_keeper(store, example_id))
        if not ok:
            return
        self.result, self.keeper_why = swap.lines(), "already the keeper"
        card = triage.load_card(store, example_id)
        self.found, self.details = triage.evidence(store, card), details_of(card, blind=False)
        await self.recompose()
        self.frame()
        tell(self, swap.summary(), title="keeper")
        for warning in swap.warnings:
            tell(self, warning, severity="warning", timeout=15)
        from curator.tui.screens.triage import DecisionMade

        for changed in sorted({example_id, *swap.former.values()}):  # coverage counts follow
            self.app.post_message(DecisionMade(changed, "keeper"))
        self.app.reload_screens()  # the triage card below shows its new verdicts
