"""The table both shells are declared from: every command of the command line with the modules of
`curator.cli` that define it (imported only when it runs), and the use cases the app's command
palette offers, each as the command line that does the same (with the palette's title, the one-line
prompt for its arguments, and a default). `tests/test_cli_commands.py` checks that every palette
entry names a real command and real options. Plain data: no click, no Textual."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UseCase:
    command: str  # as typed after `curator`, options included ("generate --batch")
    help: str  # one line for the palette, which adds "(curator COMMAND)"
    title: str = ""  # the palette's title ("" if the palette does not offer it)
    prompt: str = ""  # what to type in the palette's one-line prompt ("" runs it at once)
    default: str = ""

    @property
    def name(self) -> str:
        """The top-level command."""
        return self.command.split()[0]

    @property
    def path(self) -> list[str]:
        """The command and its subcommands, without options."""
        return [word for word in self.command.split() if not word.startswith("-")]

    @property
    def options(self) -> list[str]:
        return [word for word in self.command.split() if word.startswith("-")]


# Each top-level command and the modules in `curator.cli` that define it and its subcommands, named
# after the service each is a shell over.
MODULES: dict[str, tuple[str, ...]] = {
    "augment": ("augment",), "candidates": ("candidates", "keeper"), "classify": ("classify",), "coverage": ("coverage",),
    "demo": ("demo",), "embed": ("embed",), "eval": ("seeds", "evaluation"), "export": ("export",), "families": ("families",),
    "gate": ("gate", "judge"), "generate": ("generate",), "import": ("corpus_import",), "jobs": ("jobs",),
    "passages": ("passages",), "prepare": ("prepare",), "seeds": ("seeds",), "stats": ("stats",),
    "triage": ("triage",),
}

PALETTE = (
    UseCase("import", "txt, md, jsonl files or a folder, split into passages", "Import a corpus",
            "Import: path [--field NAME: the text field of .jsonl rows]"),
    UseCase("seeds import", "hand-written examples with a role", "Import seeds", "Seeds file (JSONL)"),
    UseCase("eval import", "private eval items: never trained on, never sent", "Import private eval items",
            "Eval items file (JSONL)"),
    UseCase("candidates import", "candidates made elsewhere", "Import candidates", "Candidates file (JSONL)"),
    UseCase("generate --dry-run", "requests, tokens and worst-case cost; sends nothing", "Estimate generation cost",
            "Estimate: family [jobs]", "passage_qa 10"),
    UseCase("generate --batch", "the Message Batches API, half price", "Submit a batch", "Batch: family [jobs]",
            "passage_qa 10"),
    UseCase("classify --llm", "the teacher refines passage tags", "Classify passages with the teacher",
            "Classify: [passages]", "50"),
    UseCase("gate judge", "frozen rubric, another model", "Run the judge", "Judge: [candidates]", "100"),
    UseCase("embed", "vectors for what has none; resumable", "Embed for the meaning gates", "Embed: [at most N examples]"),
    UseCase("gate report", "verdicts, audits, agreement, false-reject and false-accept", "Gate report"),
    UseCase("eval list", "the private eval set now, with the uid a harness's scores name", "List the private eval set"),
    UseCase("eval run", "the private eval set asked of your student model; its scorecard", "Run the private eval set",
            "Eval: endpoint-URL model [export-version] [--api anthropic] [--limit N] [--resume RUN] [--judge]"),
    UseCase("eval judge", "a run's open answers scored by the judge against their references", "Judge an eval run",
            "Judge eval run: [run] [--endpoint URL] [--model NAME] [--api openai]"),
    UseCase("gate override", "the curator's verdict, counted in the report", "Override a gate verdict",
            "Override: candidate-id gate pass|fail [note]"),
    UseCase("candidates keeper", "this duplicate is kept; its former keeper fails naming it",
            "Make a duplicate the keeper", "Keeper: candidate-id"),
)


def palette_help(use: UseCase) -> str:
    """The palette's help line: the use case's help and the command that does the same."""
    return f"{use.help} (curator {use.command})"
