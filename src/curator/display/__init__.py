"""Terminal display of untrusted Persian text: right-to-left lines (`rtl`) and inert text (`inert`);
and the wording of counts in messages (`wording`: "1 file", "2 files").

Shared by the TUI and the CLI's one-line listings; it uses `rich` for cell widths, never Textual."""
