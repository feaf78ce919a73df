"""Counts in messages are in good English: one file, two files, no files."""

from curator.corpus.importer import ImportReport
from curator.display.wording import counted


def test_a_count_takes_the_noun_in_its_number() -> None:
    assert counted(1, "file") == "1 file"
    assert counted(0, "file") == "0 files"
    assert counted(2, "passage") == "2 passages"
    assert counted(3, "thin cell") == "3 thin cells"
    assert counted(2, "entry", "entries") == "2 entries"
    assert counted(12_000, "row", grouped=True) == "12,000 rows"
    assert counted(1, "row", grouped=True) == "1 row"


def test_the_import_summary_says_one_file_and_one_passage() -> None:
    report = ImportReport(files=1, passages_added=1, passages_seen=3)
    assert report.summary() == "1 file, 1 passage added (2 already present)"
    assert ImportReport(files=2, passages_added=0).summary() == "2 files, 0 passages added (0 already present)"


def test_dollars_read_as_money_and_a_small_estimate_is_not_nothing() -> None:
    from curator.display.wording import dollars

    assert [dollars(x) for x in (243.70813, 1.0, 1237.125, 0.0042, 0.0)] == \
        ["$243.71", "$1.00", "$1,237.12", "$0.0042", "$0.0000"]


def test_a_short_count_fits_six_characters_and_rounds_into_the_next_unit() -> None:
    from curator.display.wording import short_count

    cases = {0: "0", 999: "999", 1000: "1.0k", 999_500: "1.0M", 12_345: "12.3k", 456_789: "457k",
             99_949: "99.9k", 99_950: "100k", 1_234_567: "1.2M", 12_345_678_901: "12.3B"}
    assert {n: short_count(n) for n in cases} == cases
    assert all(len(short_count(n)) <= 6 for n in (10**k - 1 for k in range(13)))
