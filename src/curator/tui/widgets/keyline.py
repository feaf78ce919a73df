"""The key line: the keys that matter on this screen, as bound now, in at most two lines at the
bottom. This screen's keys first, then the app's (not the one that opens this screen), `?` last; what
does not fit is left for `?` help ("? more")."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.keys import key_to_character
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea

from curator.tui.keys import Key, keys_of

MAX_LINES = 2
FILLER = {"a", "an", "the", "with", "of", "to", "for"}
HELP_ACTION = "toggle_help"


def short(description: str) -> str:
    """A description without its filler words ("Reject with a reason" -> "Reject reason")."""
    words = [w for w in description.split() if w.lower() not in FILLER]
    return " ".join(words) or description


EDITING_KEYS = {"space", "backspace", "delete", "left", "right", "home", "end"}


def typed(key: str) -> bool:
    """Whether a text field takes this key as typing (a printable character, or a key that edits or moves
    in the text) rather than letting it reach a binding."""
    character = key_to_character(key)
    return key in EDITING_KEYS or (character is not None and character.isprintable())


def typing(screen: Screen) -> bool:
    """Whether the screen's focus is a text field that takes typed keys."""
    focused = screen.focused
    return isinstance(focused, (Input, TextArea)) and not getattr(focused, "read_only", False)


def typed_only(screen: Screen) -> set[str]:
    """The binding ids whose every key a focused text field would take as typing."""
    keys: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        keys.setdefault(active.binding.id or active.binding.action, []).append(key)
    return {name for name, bound in keys.items() if all(typed(k) for k in bound)}


def _item(key: Key, description: str, key_style: str) -> Text:
    return Text.assemble((key.label, key_style), " ", description)


def lay_out(keys: list[Key], help_key: Key | None, width: int, lines: int = MAX_LINES,
            key_style: str = "bold") -> list[Text]:
    """Place the keys in order on at most `lines` lines of `width` cells: full descriptions if they all
    fit, short ones if that makes them fit, else as many as fit in order and the help key as "more"."""
    for describe in (lambda k: k.description, lambda k: short(k.description)):
        items = [_item(k, describe(k), key_style) for k in keys]
        if help_key is not None:
            items.append(_item(help_key, "keys", key_style))
        rows = _fill(items, width, lines)
        if rows is not None:
            return rows
    tail = [_item(help_key, "more", key_style)] if help_key is not None else []
    items = [_item(k, short(k.description), key_style) for k in keys]
    while items:
        rows = _fill(items + tail, width, lines)
        if rows is not None:
            return rows
        items.pop()
    return _fill(tail, width, lines) or []


def _fill(items: list[Text], width: int, lines: int) -> list[Text] | None:
    """Greedy rows of items two cells apart, or None if they need more than `lines` rows."""
    rows: list[Text] = []
    row = Text()
    for item in items:
        need = cell_len(item.plain)
        if need > width:
            return None
        if row.plain and cell_len(row.plain) + 2 + need > width:
            rows.append(row)
            row = Text()
        if row.plain:
            row.append("  ")
        row.append_text(item)
    if row.plain:
        rows.append(row)
    return rows if len(rows) <= lines else None


class KeyLine(Widget):
    """The compact key line of a screen (instead of Textual's Footer, which cuts at 80 columns)."""

    DEFAULT_CSS = """
    KeyLine {
        dock: bottom;
        height: auto;
        max-height: 2;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._laid_out: dict[int, list[Text]] = {}  # by width, until the bindings change

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.app.theme_changed_signal.subscribe(self, self.bindings_changed)  # the keys' colour
        self.app.screen_change_signal.subscribe(self, self.bindings_changed)  # a dialog opens or closes

    def bindings_changed(self, _changed: object) -> None:
        self._laid_out.clear()
        self.refresh(layout=True)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)
        self.app.theme_changed_signal.unsubscribe(self)
        self.app.screen_change_signal.unsubscribe(self)

    def keys_screen(self) -> Screen:
        """Whose keys the line offers: its screen's, or those of a dialog open over it (the line stays
        visible under a dialog, and the screen's own keys do nothing there)."""
        top = self.app.screen
        return top if top is not self.screen and isinstance(top, ModalScreen) else self.screen

    def shown(self, screen: Screen | None = None) -> list[Key]:
        """The keys this line offers (of `screen`, by default `keys_screen()`), in priority order (the help
        key apart). While a text field has the focus, not the keys it would take as typing."""
        screen = screen or self.keys_screen()
        found = keys_of(screen)
        opens_this = f"open('{self.app.current_mode}')"
        keys = found.screen + [k for k in found.app if k.action not in (opens_this, HELP_ACTION)]
        if typing(screen):
            taken = typed_only(screen)
            keys = [k for k in keys if (k.binding_id or k.action) not in taken]
        return keys

    def help_key(self, screen: Screen | None = None) -> Key | None:
        screen = screen or self.keys_screen()
        found = next((k for k in keys_of(screen).app if k.action == HELP_ACTION), None)
        if found is not None and typing(screen) and (found.binding_id or found.action) in typed_only(screen):
            return None
        return found

    def lines(self, width: int) -> list[Text]:
        if width not in self._laid_out:
            style = f"bold {self.app.current_theme.accent}"
            keys_screen = self.keys_screen()
            # (a dialog with a key line of its own: its keys are not drawn twice)
            mute = keys_screen is not self.screen and bool(keys_screen.query(KeyLine))
            lines = [] if mute else lay_out(self.shown(), self.help_key(), width, key_style=style)
            if keys_screen is not self.screen:  # a dialog's keys, in as many lines as the screen's own
                own = lay_out(self.shown(self.screen), self.help_key(self.screen), width, key_style=style)
                lines = (lines + [Text()] * len(own))[:max(1, len(own))]  # (the screen under it keeps its layout)
            self._laid_out[width] = lines
        return self._laid_out[width]

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        return Text("\n").join(self.lines(self.size.width))
