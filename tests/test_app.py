"""The app opens on the store and shows its counts (the future dashboard)."""

from pathlib import Path

from textual.widgets import DataTable

from curator.services.demo import prepare_sample
from curator.store import Store
from curator.tui.app import CuratorApp
from tui_fixtures import settle


async def test_dashboard_shows_the_store_counts(db_file: Path) -> None:
    with Store(db_file) as store:
        prepare_sample(store)
        passages = store.count("passages")
    app = CuratorApp(db_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
        table = app.screen.query_one("#counts", DataTable)
        rows, section = {}, ""
        for i in range(table.row_count):  # count first, then the name under its section's row (cells are Text)
            count, name = map(str, table.get_row_at(i))
            if count:
                rows[f"{section}/{name.strip()}"] = count.replace(",", "")
            else:
                section = name
        assert rows["tables/passages"] == str(passages)
        assert rows["seed roles/fewshot"] == "9" and rows["seed roles/eval"] == "5"
        await pilot.press("q")
    assert app.return_code == 0
