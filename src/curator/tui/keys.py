"""The keys of a screen as bound now (after the `[keys]` remapping), sorted into this screen's, the
app-wide ones and Textual's own: what the key line, `?` help and the command palette show."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import Screen

from curator.tui.textual_private import bindings_of, keymap_of

# Shorter names for keys that Textual spells out.
KEY_NAMES = {"space": "␣", "backspace": "⌫", "enter": "⏎", "escape": "esc", "left": "←", "right": "→",
             "up": "↑", "down": "↓", "tab": "⇥", "delete": "del", "pageup": "pgup", "pagedown": "pgdn"}


@dataclass(frozen=True)
class Key:
    """One action and every key bound to it now."""

    keys: tuple[str, ...]  # as displayed, e.g. ("→", "l")
    description: str
    action: str
    node: DOMNode  # where the action runs
    binding_id: str | None

    @property
    def label(self) -> str:
        return "/".join(self.keys)


@dataclass(frozen=True)
class ScreenKeys:
    screen: list[Key]  # this screen's, in the order the screen declares them
    app: list[Key]  # the app's own, everywhere
    textual: list[Key]  # Textual's and the focused widget's (tables, inputs, focus)


def key_display(app: App, key: str) -> str:
    return KEY_NAMES.get(key) or app.get_key_display(Binding(key, ""))


def _declared_order(node: DOMNode) -> dict[str, int]:
    order: dict[str, int] = {}
    for index, binding in enumerate(b for b in type(node).BINDINGS if isinstance(b, Binding)):
        if binding.id:
            order.setdefault(binding.id, index)
    return order


def keys_of(screen: Screen) -> ScreenKeys:
    """The keys active on `screen` (its focused widget's, its own, the app's), grouped by action: a key
    the screen binds hides the app's use of it, exactly as pressing it would."""
    app = screen.app
    grouped: dict[tuple[int, str], tuple[list[str], Binding, DOMNode]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        name = binding.id or f"{binding.action}|{binding.description}"
        keys, _binding, _node = grouped.setdefault((id(active.node), name), ([], binding, active.node))
        keys.append(key_display(app, key))
    mine, everywhere, textual = [], [], []
    for keys, binding, node in grouped.values():
        entry = Key(tuple(keys), binding.description or binding.action, binding.action, node, binding.id)
        if binding.id and node is screen:
            mine.append(entry)
        elif binding.id and node is app:
            everywhere.append(entry)
        else:
            textual.append(entry)
    for entries, node in ((mine, screen), (everywhere, app)):
        order = _declared_order(node)
        entries.sort(key=lambda k: order.get(k.binding_id or "", len(order)))
    return ScreenKeys(mine, everywhere, textual)


def declared_keys(app: App, bindings: BindingsMap) -> dict[str, tuple[Binding, tuple[str, ...]]]:
    """Every binding with an id in `bindings`, in declared order, with the keys bound to it now
    (remapped ones with their new key), as displayed."""
    order = {b.id: i for i, (_key, b) in enumerate(bindings) if b.id}
    remapped = bindings.copy()
    if keymap := keymap_of(app):
        remapped.apply_keymap(keymap)
    result: dict[str, tuple[Binding, tuple[str, ...]]] = {}
    for key, binding in sorted(remapped, key=lambda kb: order.get(kb[1].id, len(order))):
        if binding.id:
            found, keys = result.get(binding.id, (binding, ()))
            result[binding.id] = (found, keys + (key_display(app, key),))
    return result


def binding_keys(app: App, binding_id: str, node: DOMNode | None = None) -> list[str]:
    """The keys bound to a binding of `node` (the app by default) now, as Textual names them (e.g.
    "question_mark")."""
    remapped = bindings_of(node or app).copy()
    if keymap := keymap_of(app):
        remapped.apply_keymap(keymap)
    return [key for key, binding in remapped if binding.id == binding_id]


def shown_key(app: App, binding_id: str, node: DOMNode | None = None) -> str:
    """The first key bound to a binding now, as displayed (what a hint like "a again" should name)."""
    keys = binding_keys(app, binding_id, node)
    return key_display(app, keys[0]) if keys else "?"


def binding_ids() -> set[str]:
    """Every binding id the app declares (its own, every screen's and widget's): what `[keys]` in
    curator.toml may remap."""
    import importlib
    import inspect
    import pkgutil

    import curator.tui

    ids: set[str] = set()
    for info in pkgutil.walk_packages(curator.tui.__path__, "curator.tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for binding in cls.__dict__.get("BINDINGS", ()):
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids


def unknown_binding_ids(keymap: dict[str, str]) -> list[str]:
    """The ids of a `[keys]` table that name no binding (a misspelling): the app says so at start."""
    known = binding_ids()
    return sorted(k for k in keymap if k not in known)
