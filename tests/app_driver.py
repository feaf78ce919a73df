"""Run the real app (Pilot, headless) on a database in its own process, for kill tests.

    python app_driver.py DB DECISIONS [--wait-go] [--keys ax]

Prints `READY` once the first candidate shows (then, with --wait-go, waits for a line on stdin),
then `done ID` for each decision once the NEXT candidate has been drawn (the promise: a decision is
durable once the next candidate shows), then `DONE`, and then waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from curator.config import Settings
from curator.tui.app import CuratorApp
from tui_fixtures import settle

ROOT = Path(__file__).resolve().parents[1]


async def main(db: Path, decisions: int, wait_go: bool, keys: str) -> None:
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
        print("READY", flush=True)
        if wait_go:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for i in range(decisions):
            card = app.screen.card
            if card is None:
                break
            await pilot.press(keys[i % len(keys)])
            if app.screen.card is not None and app.screen.card.example.id != card.example.id:
                print(f"done {card.example.id}", flush=True)
        print("DONE", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    args = sys.argv[1:]
    keys = args[args.index("--keys") + 1] if "--keys" in args else "a"
    asyncio.run(main(Path(args[0]), int(args[1]), "--wait-go" in args, keys))
