"""The command line: real subprocesses, one clear line on error, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

PARA = "فتوسنتز فرایندی است که گیاه با آن غذای خود را می‌سازد. نور خورشید در این فرایند نقش اصلی دارد. "


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CURATOR_DB", None) if env is None or "CURATOR_DB" not in env else None
    return subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


def test_help_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("import", "stats", "seeds", "demo"):
        assert command in out.stdout


def test_import_then_stats(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    (tmp_path / "a.txt").write_text(PARA * 4, encoding="utf-8")
    out = run("import", str(tmp_path / "a.txt"), "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert "1 file, 1 passage added" in out.stdout
    stats = run("stats", "--db", str(db))
    assert "passages" in stats.stdout and "passage quality:" in stats.stdout and "passage tags:" in stats.stdout


def test_curator_db_environment_variable(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    (tmp_path / "a.txt").write_text(PARA * 4, encoding="utf-8")
    assert run("import", str(tmp_path / "a.txt"), env={"CURATOR_DB": str(db)}).returncode == 0
    assert db.exists()


def test_default_database_is_db_curator_db(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(PARA * 4, encoding="utf-8")
    assert run("import", "a.txt", cwd=tmp_path).returncode == 0
    assert (tmp_path / "db" / "curator.db").exists()


def test_bad_input_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 100)
    out = run("stats", "--db", str(bad))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0
    assert str(bad) in out.stderr and "not a SQLite database" in out.stderr
    assert bad.read_bytes() == b"garbage" * 100


def test_skipped_files_are_named_in_the_summary(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": PARA * 3}, ensure_ascii=False) + "\n{bad\n", encoding="utf-8")
    out = run("import", str(tmp_path), "--db", str(tmp_path / "c.db"))
    assert out.returncode == 3, "partly skipped"
    assert f"skipped: {tmp_path / 'a.jsonl'}:2: not valid JSON" in out.stderr
    assert f"skipped: {tmp_path / 'empty.txt'}: empty file" in out.stderr
    assert "2 skipped" in out.stdout


def test_demo_builds_the_sample_project(tmp_path: Path) -> None:
    db = tmp_path / "sample.db"
    out = run("demo", "--no-app", "--db", str(db))
    assert out.returncode == 0, out.stderr
    stats = run("stats", "--db", str(db)).stdout
    for role in ("fewshot", "eval", "polish"):
        assert role in stats


def test_demo_never_mixes_the_sample_into_a_project_of_its_own(tmp_path: Path) -> None:
    """Its private eval items, seeds and passages would join the project's (and its exports): refused, and
    the file is left as it was; the sample's own database builds again, adding nothing."""
    db, corpus = tmp_path / "mine.db", tmp_path / "notes.txt"
    corpus.write_text("کوه دماوند بلندترین قلهٔ ایران است و در رشته‌کوه البرز قرار دارد. " * 8, encoding="utf-8")
    assert run("import", str(corpus), "--db", str(db)).returncode == 0
    before = db.read_bytes()
    out = run("demo", "--no-app", "--db", str(db))
    assert out.returncode == 1 and "holds a project of its own (1 corpus file not from the sample)" in out.stderr
    assert db.read_bytes() == before
    sample = tmp_path / "sample.db"
    assert run("demo", "--no-app", "--db", str(sample)).returncode == 0
    again = run("demo", "--no-app", "--db", str(sample))
    assert again.returncode == 0 and "0 passages added (37 already present)" in again.stdout


def test_the_prompts_shipped_with_curator_are_found_from_any_folder(tmp_path: Path) -> None:
    from curator.config import BUNDLED_PROMPTS

    # The package carries the prompts (src/curator/prompts links to prompts/), so a wheel has them.
    assert (BUNDLED_PROMPTS / "judge.toml").is_file()
    out = run("families", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    families = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert families == {p.stem for p in (BUNDLED_PROMPTS / "families").glob("*.toml")}
    assert len(families) == 8


def test_seeds_role_asks_before_a_seed_crosses_the_private_eval_set(tmp_path: Path) -> None:
    db = tmp_path / "roles.db"
    seeds = tmp_path / "seeds.jsonl"
    rows = [{"family": "grammar_tutor", "role": role, "task_type": "explanation",
             "messages": [{"role": "user", "content": f"سوال {role} دربارهٔ فاعل؟"},
                          {"role": "assistant", "content": f"پاسخ {role} دربارهٔ فاعل."}]}
            for role in ("fewshot", "eval")]
    seeds.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert run("seeds", "import", str(seeds), "--db", str(db)).returncode == 0
    refused = subprocess.run([sys.executable, "-m", "curator", "seeds", "role", "2", "polish", "--db", str(db)],
                             input="n\n", capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "leaves the private eval set" in refused.stderr
    assert "role not changed: no terminal to ask; add --yes" in refused.stderr
    assert "eval 1, polish 0" in run("seeds", "list", "--db", str(db)).stdout
    moved = run("seeds", "role", "2", "polish", "--yes", "--db", str(db))
    assert moved.returncode == 0 and "seed #2 is now polish" in moved.stdout
    plain = run("seeds", "role", "1", "polish", "--db", str(db))  # fewshot → polish: nothing to confirm
    assert plain.returncode == 0 and "seed #1 is now polish" in plain.stdout
    missing = run("seeds", "role", "9", "polish", "--db", str(db))
    assert missing.returncode == 1 and "seed #9" in missing.stderr and "Traceback" not in missing.stderr


def test_summaries_and_listings_fit_80_columns(tmp_path: Path) -> None:
    """Over SSH at 80 columns a wrapped line is lost: the summaries wrap themselves, a listing's line has no
    trailing blanks."""
    from tui_fixtures import build_db

    db = build_db(tmp_path / "fit.db")
    env = {"COLUMNS": "80", "CURATOR_DB": str(db)}
    outputs = {name: run(*args, env=env, cwd=tmp_path) for name, args in {
        "demo": ("demo", "--no-app", "--db", "sample.db"), "augment": ("augment", "--dry-run"),  # (a path never breaks)
        "gate report": ("gate", "report"), "candidates": ("candidates", "list")}.items()}
    for name, out in outputs.items():
        assert out.returncode == 0, (name, out.stderr)
        lines = out.stdout.splitlines()
        assert lines and max(map(len, lines)) <= 80, (name, max(lines, key=len))
        assert not any(line != line.rstrip() for line in lines), name
    assert outputs["demo"].stdout.splitlines()[-1].startswith("  "), "a wrapped summary goes on indented"
