"""Terminal display of untrusted Persian text: right-to-left lines (`rtl`) and inert text (`inert`).

Shared by the TUI and the CLI's one-line listings; it uses `rich` for cell widths, never Textual."""
