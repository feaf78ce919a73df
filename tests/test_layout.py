"""The package layout holds (README, "Layout"): no import cycle between curator's top-level packages
and modules, nothing imports upward (a shell from the core, the services from an engine), and the
shells (`cli`, `tui`) import the services and the project, not the store or the engines, except
where the allowance below says why. Read from the source (every import, in functions too)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "curator"
SHELLS = {"cli", "tui", "__main__"}
# What a shell may import: the services and the project, the table of commands, plain data and presentation.
SHELL_MAY = {"services", "project", "commands", "config", "models", "errors", "display", "progress", "__version__"}
# Where a shell reaches below the services, and why (the README's layout says the same).
ALLOWED = {
    ("cli", "tui"): "`curator` with no command opens the app",
    ("cli", "store"): "`gate audit` shows a BadRow (a row the store could not read) as it is",
    ("tui", "store"): "the UI thread's one connection (decisions at keypress speed), and the store's row types",
    ("cli", "scale"): "`prepare` checks for the optional scale extra before it starts",
}
# Packages only the shells may import.
TOP = {"services", "project"} | SHELLS


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "curator"


def graph() -> dict[tuple[str, str], set[str]]:
    """{(importer unit, imported unit): the importing modules}."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("curator.") and unit(name) != unit(module):
                    target = unit(name)
                    if (SRC / target).is_dir() or (SRC / f"{target}.py").exists() or target == "__version__":
                        edges[(unit(module), target)].add(module)
    return edges


def test_no_import_cycle_between_packages() -> None:
    edges = graph()
    following: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        following[a].add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(following[node])
        return False

    cycles = sorted(f"{a} -> {b} ({', '.join(sorted(edges[(a, b)]))}) and back" for a, b in edges if reaches(b, a))
    assert cycles == []


def test_nothing_imports_upward() -> None:
    upward = sorted(f"{a} -> {b}: {', '.join(sorted(mods))}" for (a, b), mods in graph().items()
                    if b in TOP and a not in TOP and (a, b) not in ALLOWED)
    assert upward == []
    engines_to_services = sorted(m for (a, b), mods in graph().items() for m in mods if b == "services" and a not in TOP)
    assert engines_to_services == []


def test_shells_import_services_and_the_project_not_the_store_or_the_engines() -> None:
    reached = sorted(f"{a} -> {b}: {', '.join(sorted(mods))}" for (a, b), mods in graph().items()
                     if a in SHELLS and b not in SHELL_MAY | SHELLS and (a, b) not in ALLOWED)
    assert reached == []


def private_names(cls: type) -> set[str]:
    """The single-underscore names Textual defines for a class of ours: those of every Textual class in
    its ancestry, class attributes and what an instance of it sets."""
    import textual.app
    import textual.document._document as document
    import textual.screen
    import textual.widget
    import textual.widgets

    def private(names) -> set[str]:
        return {n for n in names if n.startswith("_") and not n.startswith("__")}

    instances = (textual.app.App(), textual.screen.Screen(), textual.screen.ModalScreen(), textual.widget.Widget(),
                 textual.widgets.Static(), textual.widgets.Input(), textual.widgets.TextArea(),
                 textual.widgets.DataTable(), document.Document(""))
    names = set()
    for base in cls.__mro__:
        if base.__module__.startswith("textual."):
            names |= private(vars(base))
    for instance in instances:
        if issubclass(cls, type(instance)):
            names |= private(vars(instance))
    return names


def test_textual_private_api_is_used_in_one_module_only() -> None:
    """`tui/textual_private.py` is the one place that reaches into Textual's private names (to be
    checked when Textual is upgraded): no other module imports a private Textual module, and no class
    of ours built on a Textual class (directly or not) defines or uses a private name of it, nor reads
    one of the app's, a screen's or a widget's from outside."""
    import importlib
    import textual.app
    import textual.widget

    outside = private_names(textual.app.App) | private_names(textual.widget.Widget)
    found = []
    for path in sorted((SRC / "tui").rglob("*.py")):
        if path.name == "textual_private.py":
            continue
        module = importlib.import_module(".".join(path.relative_to(SRC.parent).with_suffix("").parts)
                                         .removesuffix(".__init__"))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textual") and any(
                    part.startswith("_") for part in node.module.split(".")):
                found.append(f"{path.name}: imports {node.module}")
            elif isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "self") \
                    and node.attr in outside:
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.ClassDef) and isinstance(getattr(module, node.name, None), type):
                cls = getattr(module, node.name)
                if not any(base.__module__.startswith("textual.") for base in cls.__mro__):
                    continue
                private = private_names(cls)
                for inner in ast.walk(node):
                    name = inner.name if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) else \
                        inner.attr if isinstance(inner, ast.Attribute) else None
                    if name in private:
                        found.append(f"{path.name}:{inner.lineno}: {node.name}.{name}")
    assert found == []
