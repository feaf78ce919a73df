"""Settings: database path, passage window, teacher and judge models, concurrency, prices and budget.

Defaults live here; a `curator.toml` (in the working folder, or `$CURATOR_CONFIG`) overrides them:

    [teacher]
    model = "claude-sonnet-4-6"
    concurrency = 16
    budget_usd = 25.0
    prompt_cache = true              # cache_control on each family's shared prefix
    [teacher.family_models]
    school_math = "claude-opus-4-6"
    [teacher.cache_min_tokens]       # a model's minimum cacheable prefix (see CACHE_MIN_TOKENS)
    "my-local-model" = 1024
    [batch]                        # batch mode: requests and bytes per batch (the API's limits by default)
    max_requests = 100000
    max_bytes = 256000000
    [prices."claude-sonnet-4-6"]   # USD per million tokens
    input = 3.0
    output = 15.0
    cache_write = 3.75               # a 5-minute cache write (1.25x input); cache_write_1h: 2x; cache_read: 0.1x
    [triage]
    reasons = ["wrong", "unnatural", "off_topic"]   # reject reasons on the keys 1-9
    blind = false                                    # hide judge scores and verdicts until decided

API keys are never read from this file: only from the environment (`ANTHROPIC_API_KEY`).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from curator.errors import CuratorError
from curator.window import Window  # noqa: F401 - re-exported: the shells and services take it from the settings module

DEFAULT_DB = Path("db") / "curator.db"
SAMPLE_DB = Path("db") / "sample.db"
CONFIG_FILE = Path("curator.toml")
# The prompt files shipped with curator (src/curator/prompts links to the top-level prompts/ folder).
BUNDLED_PROMPTS = Path(__file__).resolve().parent / "prompts"


def db_path(explicit: str | Path | None = None) -> Path:
    """The database path: `--db` if given, else `$CURATOR_DB`, else `db/curator.db`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CURATOR_DB")
    return Path(env) if env else DEFAULT_DB


class Price(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")
    input: float
    output: float
    cache_write: float | None = None  # a 5-minute cache write (default 1.25x input)
    cache_read: float | None = None  # default 0.1x input
    cache_write_1h: float | None = None  # a 1-hour cache write (default 2x input)

    def cost(self, input_tokens: int, output_tokens: int, cache_write: int = 0, cache_read: int = 0,
             *, cache_write_1h: int = 0, batch: bool = False) -> float:
        """Cost in USD of one request's usage (the batch API is half price). `cache_write` counts every
        token written to the cache; `cache_write_1h` those of them written for an hour."""
        usd = (input_tokens * self.input + output_tokens * self.output
               + (cache_write - cache_write_1h) * self.write_price("5m") + cache_write_1h * self.write_price("1h")
               + cache_read * (self.cache_read if self.cache_read is not None else self.input * 0.1)) / 1e6
        return usd * (0.5 if batch else 1.0)

    def write_price(self, ttl: str) -> float:
        """USD per million tokens written to the cache for `ttl` ("5m" or "1h")."""
        if ttl == "1h":
            return self.cache_write_1h if self.cache_write_1h is not None else self.input * 2
        return self.cache_write if self.cache_write is not None else self.input * 1.25


# Check these against the provider's current price list; override them in curator.toml.
DEFAULT_PRICES = {
    "claude-opus-4-6": Price(input=5.0, output=25.0, cache_write=6.25, cache_read=0.5, cache_write_1h=10.0),
    "claude-sonnet-4-6": Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.3, cache_write_1h=6.0),
    "claude-sonnet-4-5": Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.3, cache_write_1h=6.0),
    "claude-haiku-4-5": Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.1, cache_write_1h=2.0),
}
# A model missing from the table is charged at this (deliberately high) price, so budgets stay safe.
FALLBACK_PRICE = Price(input=15.0, output=75.0)
# The shortest prefix each model caches, in tokens (the provider's prompt caching documentation): a
# shorter prefix marked with cache_control is silently not cached. `[teacher.cache_min_tokens]` overrides.
CACHE_MIN_TOKENS = {
    "claude-opus-4-6": 4096, "claude-opus-4-5": 4096, "claude-haiku-4-5": 4096,
    "claude-sonnet-4-6": 1024, "claude-sonnet-4-5": 1024, "claude-opus-4-1": 1024, "claude-sonnet-4": 1024,
    "claude-haiku-3-5": 2048,
}


class TeacherSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = "claude-sonnet-4-6"
    family_models: dict[str, str] = Field(default_factory=dict)
    concurrency: int = Field(default=8, ge=1, le=256)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    retry_after_cap_s: float = Field(default=60.0, ge=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    max_job_attempts: int = Field(default=3, ge=1)  # attempts that sent a request
    max_lost_leases: int = Field(default=5, ge=1)  # runners that stopped before sending a job's request
    connect_timeout_s: float = Field(default=10.0, gt=0)  # an unreachable server fails this fast
    max_tokens: int = Field(default=4096, ge=16)
    budget_usd: float | None = Field(default=None, ge=0)
    structured_outputs: str = Field(default="auto", pattern="^(auto|on|off)$")
    fewshot_count: int = Field(default=3, ge=0)  # few-shot seeds each request names to imitate
    prompt_cache: bool = True  # mark each family's shared prefix with cache_control (off: a server that rejects it)
    cache_min_tokens: dict[str, int] = Field(default_factory=dict)  # per model, over CACHE_MIN_TOKENS

    def model_for(self, family: str) -> str:
        return self.family_models.get(family, self.model)

    def cache_minimum(self, model: str) -> tuple[int, bool]:
        """The model's minimum cacheable prefix in tokens, and whether it is known (configured or in
        CACHE_MIN_TOKENS); an unknown model is taken at the largest documented minimum."""
        if model in self.cache_min_tokens:
            return self.cache_min_tokens[model], True
        if model in CACHE_MIN_TOKENS:
            return CACHE_MIN_TOKENS[model], True
        return max(CACHE_MIN_TOKENS.values()), False


# The Message Batches API takes at most 100,000 requests or 256 MB in one batch, whichever comes first
# (256,000,000 bytes: the smaller reading of "MB").
API_BATCH_MAX_REQUESTS = 100_000
API_BATCH_MAX_BYTES = 256_000_000


class BatchSettings(BaseModel):
    """Batch mode sends a run in chunks, each one batch within these limits (the API's, by default;
    smaller values make smaller batches). `confirm_after_s`: how long a chunk whose submitter stopped
    while sending waits to show up in the API's list of batches before it counts as never created."""

    model_config = ConfigDict(extra="forbid")
    max_requests: int = Field(default=API_BATCH_MAX_REQUESTS, ge=1, le=API_BATCH_MAX_REQUESTS)
    max_bytes: int = Field(default=API_BATCH_MAX_BYTES, ge=1024, le=API_BATCH_MAX_BYTES)
    confirm_after_s: float = Field(default=120.0, ge=0)


class JudgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = "claude-haiku-4-5"
    allow_same_model: bool = False


class MeaningSettings(BaseModel):
    """The meaning gates: embeddings and the cosine thresholds chosen on the labelled set
    (`curator gate report` prints precision and recall for these values)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    threads: int = Field(default=0, ge=0)  # 0: as many as the machine has, at most 4
    batch: int = Field(default=32, ge=1, le=1024)  # examples per embedding call and per transaction
    decontam_ask: float = Field(default=0.90, gt=0, le=1)  # a candidate (ask + response) against an eval item's ask
    decontam_whole: float = Field(default=0.90, gt=0, le=1)  # ... against the eval item's ask + response
    dedup: float = Field(default=0.92, gt=0, le=1)  # ask + response, within a family
    numbers_must_agree: bool = True  # a match also needs the same numbers in both asks


class GateSettings(BaseModel):
    """The set-level gates: what makes two examples the same content (an eval item's leak, a duplicate).
    A family's scaffold (what its items share) is learned from its items, not set here."""

    model_config = ConfigDict(extra="forbid")
    near_duplicate: float = Field(default=90.0, gt=0, le=100)  # fuzz.ratio of two match keys (a family file may be stricter)
    same_content: float = Field(default=0.5, gt=0, le=1)  # share of an item's content weight another holds
    span_words: int = Field(default=8, ge=4, le=32)  # a verbatim span of an eval item this many words long


# Reject reasons bound to the keys 1-9 in triage, in order: what goes wrong in Persian SFT candidates.
DEFAULT_REASONS = ("wrong", "unnatural", "off_topic", "unsupported", "incomplete", "mixed_language", "bad_format",
                   "unsafe", "duplicate")


class TriageSettings(BaseModel):
    """Triage: reject reason codes for the keys 1-9, blind mode (judge scores and gate verdicts
    hidden until the curator has decided), and whether the app retrains the predictor as decisions arrive."""

    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_REASONS), max_length=9)
    blind: bool = False
    predictor: bool = True

    @field_validator("reasons")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if not re.fullmatch(r"[a-z0-9_]{1,32}", r)]
        if bad:
            raise ValueError(f"reason codes are lowercase letters, digits and _ (not {bad[0]!r})")
        if len(set(value)) != len(value):
            raise ValueError("reason codes must differ")
        return value


EXPORT_FORMATS = ("prompt_completion", "alpaca", "parquet")


class ExportSettings(BaseModel):
    """What every export writes beside TRL `messages` JSONL (`curator export` and the dashboard's E);
    `--format` on the command line replaces it."""

    model_config = ConfigDict(extra="forbid")
    formats: list[str] = Field(default_factory=list)
    # Rows of the mix the export may embed itself for its leak check by meaning; past it the export stops
    # at once, says how many and to run `curator embed` first (0: no limit).
    embed_limit: int = Field(default=2000, ge=0)

    @field_validator("formats")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        bad = [f for f in value if f not in EXPORT_FORMATS]
        if bad:
            raise ValueError(f"unknown export format {bad[0]!r} (known: {', '.join(EXPORT_FORMATS)})")
        return list(dict.fromkeys(value))


class Settings(BaseModel):
    """Everything configurable. `Settings.load()` reads curator.toml over these defaults."""

    model_config = ConfigDict(extra="forbid")
    teacher: TeacherSettings = Field(default_factory=TeacherSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    meaning: MeaningSettings = Field(default_factory=MeaningSettings)
    gates: GateSettings = Field(default_factory=GateSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    prices: dict[str, Price] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    prompts_dir: Path = Path("prompts")
    bidi: str = Field(default="auto", pattern="^(app|terminal|auto)$")
    keys: dict[str, str] = Field(default_factory=dict)  # binding id -> keys, e.g. "triage.accept" = "y"

    def prompts_path(self) -> Path:
        """The prompts folder: the configured one if it exists, else the one installed with curator."""
        return self.prompts_dir if self.prompts_dir.exists() else BUNDLED_PROMPTS

    def price(self, model: str) -> Price:
        return self.prices.get(model, FALLBACK_PRICE)

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """Defaults, overridden by the TOML file at `path` (or $CURATOR_CONFIG, or ./curator.toml)."""
        path = path or Path(os.environ.get("CURATOR_CONFIG", CONFIG_FILE))
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        try:
            prices = {**DEFAULT_PRICES, **{k: Price(**v) for k, v in data.pop("prices", {}).items()}}
            return cls(**data, prices=prices)
        except (ValidationError, TypeError) as exc:
            if isinstance(exc, TypeError):
                raise ConfigError(f"{path}: prices: {exc}") from exc
            first = exc.errors()[0]
            raise ConfigError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


class ConfigError(CuratorError):
    """The config file is invalid; the message names the file and the setting."""
