"""The teacher: the official `anthropic` SDK (async), with our own retries, timeout and concurrency.

Works against any server that speaks the Messages API (`ANTHROPIC_BASE_URL`: vLLM, llama.cpp, Ollama,
LiteLLM...). No sampling knobs are sent (current Claude models reject temperature/top_p and prefill):
diversity comes from the prompts. The API key is read from the environment and never stored.

Prompt caching: the first request of a cacheable prefix (system blocks marked with cache_control)
goes alone; requests with the same prefix wait for it (until it is answered, or WARMUP_S: the entry
is written while the prompt is read, long before a long reply ends), so they read the cache it
wrote instead of each writing it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import anthropic

from curator.errors import CuratorError
from curator.config import Price, TeacherSettings

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
WARMUP_S = 5.0  # the longest the requests of a prefix wait for its first one


@dataclass
class Usage:
    """A request's usage: input not cached, output, written to the cache (of them, for an hour), read from it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_1h_tokens: int = 0

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_1h_tokens += other.cache_write_1h_tokens

    def cost(self, price: Price, *, batch: bool = False) -> float:
        """What this usage costs in USD at `price` (cache writes and reads included)."""
        return price.cost(self.input_tokens, self.output_tokens, self.cache_write_tokens, self.cache_read_tokens,
                          cache_write_1h=self.cache_write_1h_tokens, batch=batch)

    @property
    def prompt_tokens(self) -> int:
        """Every token of the prompt, cached or not."""
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass
class Reply:
    """One successful HTTP exchange: the text, why it stopped, usage, and the raw response."""

    text: str
    stop_reason: str | None
    model: str
    usage: Usage
    raw: str
    attempts: int = 1
    retries: list[str] = field(default_factory=list)


class TeacherError(CuratorError):
    """A request that failed for good (after retries, or at once when not retryable)."""

    def __init__(self, message: str, *, status: int | None = None, raw: str | None = None,
                 attempts: int = 1, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.raw = raw
        self.attempts = attempts
        self.retryable = retryable


def api_key_from_env() -> str:
    key = os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise TeacherError("ANTHROPIC_API_KEY is not set (a local Messages API server accepts any value)")
    return key


def usage_of(message: Any) -> Usage:
    u = getattr(message, "usage", None)
    if u is None:
        return Usage()
    return Usage(
        input_tokens=getattr(u, "input_tokens", 0) or 0,
        output_tokens=getattr(u, "output_tokens", 0) or 0,
        cache_write_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
        cache_read_tokens=getattr(u, "cache_read_input_tokens", 0) or 0,
        cache_write_1h_tokens=getattr(getattr(u, "cache_creation", None), "ephemeral_1h_input_tokens", 0) or 0,
    )


def cache_key(body: dict[str, Any]) -> int | None:
    """What identifies a request's cacheable prefix in this process (the model, the output schema, the
    system blocks up to the last one marked with cache_control), or None if nothing is marked. A hash
    of the blocks' texts: every request of a family holds the same text objects, whose hashes Python
    keeps, so this costs next to nothing per request."""
    system = body.get("system")
    if not isinstance(system, list):
        return None
    marked = max((i for i, b in enumerate(system) if isinstance(b, dict) and b.get("cache_control")), default=-1)
    if marked < 0:
        return None
    blocks = tuple(b.get("text") if isinstance(b.get("text"), str) else json.dumps(b, sort_keys=True, default=str)
                   for b in system[:marked + 1])
    return hash((body.get("model"), _config_text(body.get("output_config")), blocks))


_configs: dict[int, tuple[Any, str]] = {}  # id of an output schema (built once, never mutated) -> (it, the config's JSON)


def _config_text(config: dict[str, Any] | None) -> str | None:
    if not config:
        return None
    schema = (config.get("format") or {}).get("schema")
    known = _configs.get(id(schema))
    if known is None or known[0] is not schema:
        known = _configs[id(schema)] = (schema, json.dumps(config, sort_keys=True))
    return known[1]


def text_of(message: Any) -> str:
    return "".join(getattr(b, "text", "") for b in getattr(message, "content", []) if getattr(b, "type", "") == "text")


def retry_after_seconds(headers: Any) -> float | None:
    """The server's requested wait: `retry-after-ms`, or `retry-after` in seconds or as an HTTP date."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class Teacher:
    """Sends Messages API requests with bounded concurrency, timeouts and capped, honoured retries."""

    def __init__(self, settings: TeacherSettings, *, api_key: str | None = None, base_url: str | None = None,
                 sleep: Any = asyncio.sleep) -> None:
        self.settings = settings
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key or api_key_from_env(),
            base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
            max_retries=0,
            timeout=settings.timeout_s,
        )
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.structured = {"on": True, "off": False}.get(settings.structured_outputs)  # None: find out
        self._sleep = sleep
        self._warm: dict[int, asyncio.Event] = {}  # cacheable prefix -> set once its first request is answered

    async def close(self) -> None:
        await self.client.close()

    async def count_tokens(self, body: dict[str, Any]) -> int:
        """The prompt's input tokens by the server's token-counting endpoint (free; nothing is generated)."""
        fields = {k: body[k] for k in ("model", "system", "messages", "output_config", "tools") if k in body}
        return (await self.client.messages.count_tokens(**fields)).input_tokens

    async def complete(self, body: dict[str, Any]) -> Reply:
        """Send one request; retry what is retryable; TeacherError when it finally fails. The first
        request of a cacheable prefix goes alone: the others with that prefix wait until it is answered."""
        key = cache_key(body)
        if key is None:
            return await self._complete(body)
        warm = self._warm.get(key)
        if warm is None:
            self._warm[key] = warm = asyncio.Event()
            try:
                return await self._complete(body)
            finally:
                warm.set()
        if not warm.is_set():
            try:
                await asyncio.wait_for(warm.wait(), WARMUP_S)
            except asyncio.TimeoutError:
                pass
        return await self._complete(body)

    async def _complete(self, body: dict[str, Any]) -> Reply:
        retries: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.semaphore:
                    message = await self.client.messages.create(**body)
            except anthropic.BadRequestError as exc:
                if "output_config" in body and self.structured is None and _mentions_output_config(exc):
                    self.structured = False  # this server has no structured outputs: parse JSON from text
                    body = {k: v for k, v in body.items() if k != "output_config"}
                    retries.append("structured outputs unsupported: falling back to JSON in text")
                    continue
                raise TeacherError(f"400 bad request: {_message(exc)}", status=400, raw=_raw(exc),
                                   attempts=attempt) from exc
            except anthropic.APIStatusError as exc:
                status = exc.status_code
                if status in RETRYABLE_STATUS and attempt <= self.settings.max_retries:
                    wait = self._wait(attempt, retry_after_seconds(exc.response.headers))
                    retries.append(f"{status} {_message(exc)}; retry in {wait:.2f}s")
                    await self._sleep(wait)
                    continue
                raise TeacherError(f"{status} {_message(exc)}", status=status, raw=_raw(exc), attempts=attempt,
                                   retryable=status in RETRYABLE_STATUS) from exc
            except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
                kind = "timeout" if isinstance(exc, anthropic.APITimeoutError) else "connection error"
                if attempt <= self.settings.max_retries:
                    wait = self._wait(attempt, None)
                    retries.append(f"{kind}; retry in {wait:.2f}s")
                    await self._sleep(wait)
                    continue
                raise TeacherError(f"{kind} after {attempt} attempts", attempts=attempt, retryable=True) from exc
            if "output_config" in body and self.structured is None:
                self.structured = True
            return Reply(text=text_of(message), stop_reason=message.stop_reason, model=message.model,
                         usage=usage_of(message), raw=message.model_dump_json(), attempts=attempt, retries=retries)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        return wait_seconds(attempt, retry_after, self.settings.backoff_base_s, self.settings.retry_after_cap_s)


def wait_seconds(attempt: int, retry_after: float | None, base_s: float, cap_s: float) -> float:
    """How long to wait before asking again: the server's `retry-after` (up to the cap), else exponential
    backoff with jitter (half to all of base × 2^(attempt-1), up to the cap)."""
    if retry_after is not None:
        return min(retry_after, cap_s)
    return min(base_s * (2 ** (attempt - 1)), cap_s) * (0.5 + random.random() / 2)


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(exc.message)[:300]


def _raw(exc: anthropic.APIStatusError) -> str:
    try:
        return exc.response.text[:20000]
    except Exception:  # noqa: BLE001 - a raw body is a nicety, not a requirement
        return ""


def _mentions_output_config(exc: anthropic.BadRequestError) -> bool:
    return bool(re.search(r"output_config|output_format|json_schema|structured", _message(exc), re.I))


class OutputError(CuratorError):
    """The reply could not be used: truncated, refused, not JSON, or not of the schema."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.M)


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, else inside a code fence, else the outermost {...}."""
    candidates = [text.strip(), _FENCE.sub("", text.strip())]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    last_error = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            last_error = exc
    raise OutputError("invalid JSON", f"{last_error.msg} at line {last_error.lineno} column {last_error.colno}"
                      if last_error else "empty reply")
