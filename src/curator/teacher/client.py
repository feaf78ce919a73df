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
import contextvars
import email.utils
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from urllib.parse import urlsplit

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
    """A request that failed for good (after retries, or at once when not retryable). `sent`: whether
    any request of it went out (False: the server was never reached, so it used no attempt);
    `unreachable`: the server could not be reached at all (a run stops: nothing more is sent)."""

    def __init__(self, message: str, *, status: int | None = None, raw: str | None = None,
                 attempts: int = 1, retryable: bool = False, sent: bool = True, unreachable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.raw = raw
        self.attempts = attempts
        self.retryable = retryable
        self.sent = sent
        self.unreachable = unreachable


HOW_TO_CONNECT = ("set ANTHROPIC_API_KEY to your Anthropic API key (export ANTHROPIC_API_KEY=sk-ant-... in the "
                  "shell that starts curator), or set ANTHROPIC_BASE_URL to a server that speaks the Messages API "
                  "(vLLM, llama.cpp, Ollama, LiteLLM: export ANTHROPIC_BASE_URL=http://localhost:8000), which "
                  "needs no key; the built-in generators (`curator generate --procedural`) need neither")
# Sent to a compatible server (ANTHROPIC_BASE_URL) when no key is set: such servers take any value.
NO_KEY = "no-key"


def api_key_from_env(base_url: str | None = None) -> str:
    """The API key from the environment; with a base URL (a compatible server) and no key, a placeholder."""
    key = os.environ.get("ANTHROPIC_API_KEY")
    if key:
        return key
    if base_url or os.environ.get("ANTHROPIC_BASE_URL"):
        return NO_KEY
    raise TeacherError(f"ANTHROPIC_API_KEY is not set: {HOW_TO_CONNECT}")


def base_url_from_env(explicit: str | None = None) -> str | None:
    """ANTHROPIC_BASE_URL (or `explicit`), checked: an http(s) URL with a host; TeacherError if not."""
    url = explicit or os.environ.get("ANTHROPIC_BASE_URL") or None
    if url is None:
        return None
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise TeacherError(f"ANTHROPIC_BASE_URL is not an http(s) URL: {url!r} ({HOW_TO_CONNECT})")
    try:
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise TeacherError(f"ANTHROPIC_BASE_URL has a bad port: {url!r} ({exc})") from None
    return url


class _Exchange:
    """One call's HTTP requests, watched through the transport's trace: a request counts as sent
    when its headers start going out on an open connection (never before the server can see it)."""

    def __init__(self, on_sent: Any = None) -> None:
        self.on_sent = on_sent
        self.sent = False
        self.traced = False

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        self.traced = True
        if name.endswith("send_request_headers.started"):
            self.mark()

    def mark(self) -> None:
        if not self.sent:
            self.sent = True
            if self.on_sent is not None:
                self.on_sent()


_EXCHANGE: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar("curator_exchange", default=None)


class _TracingClient(anthropic.DefaultAsyncHttpxClient):  # type: ignore[misc, valid-type]
    """The SDK's default HTTP client, telling the call in progress (if it watches) when a request is sent."""

    async def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        exchange = _EXCHANGE.get()
        if exchange is not None:
            previous = request.extensions.get("trace")

            async def trace(name: str, info: dict[str, Any]) -> None:
                await exchange.trace(name, info)
                if previous is not None:
                    result = previous(name, info)
                    if asyncio.iscoroutine(result):
                        await result

            request.extensions["trace"] = trace
        return await super().send(request, *args, **kwargs)


def _never_connected(exc: BaseException, exchange: _Exchange) -> bool:
    """A connection error or timeout before any request went out: the server never saw it."""
    if exchange.sent:
        return False
    if exchange.traced:
        return True
    cause = exc.__cause__
    return type(cause).__name__ in ("ConnectError", "ConnectTimeout")


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
        base_url = base_url_from_env(base_url)
        timeout = anthropic.Timeout(settings.timeout_s, connect=min(settings.connect_timeout_s, settings.timeout_s))
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key or api_key_from_env(base_url),
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=_TracingClient(timeout=timeout),
        )
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.structured = {"on": True, "off": False}.get(settings.structured_outputs)  # None: find out
        self._sleep = sleep
        self._warm: dict[int, asyncio.Event] = {}  # cacheable prefix -> set once its first request is answered

    async def close(self) -> None:
        await self.client.close()

    @property
    def url(self) -> str:
        """The server requests go to (ANTHROPIC_BASE_URL, or Anthropic's API)."""
        return str(self.client.base_url).rstrip("/")

    def unreachable(self, exc: BaseException, attempts: int = 1) -> TeacherError:
        reason = str(exc) or type(exc).__name__
        return TeacherError(f"cannot reach the Messages API at {self.url}: {reason}; nothing was sent "
                            f"(is ANTHROPIC_BASE_URL right and the server up?)", attempts=attempts, retryable=True,
                            sent=False, unreachable=True)

    async def watched(self, call: Any, on_sent: Any = None) -> tuple[Any, _Exchange]:
        """Await `call()` (an SDK call) while watching whether its request was sent: `on_sent()` runs
        just before the first request's headers go out. Returns the result and the exchange; an SDK
        error is raised with the exchange as its `curator_exchange` attribute."""
        exchange = _Exchange(on_sent)
        token = _EXCHANGE.set(exchange)
        try:
            result = await call()
        except anthropic.APIStatusError as exc:
            exchange.mark()  # an HTTP answer: the request was sent
            exc.curator_exchange = exchange  # type: ignore[attr-defined]
            raise
        except Exception as exc:
            exc.curator_exchange = exchange  # type: ignore[attr-defined]
            raise
        finally:
            _EXCHANGE.reset(token)
        exchange.mark()
        return result, exchange

    async def check(self) -> None:
        """Before anything costs money: the server answers at all, and does not refuse the key (a free
        GET of the model list; a server without that route still counts as reachable). TeacherError if not."""
        models = getattr(self.client, "models", None)
        if models is None:  # an SDK without the model list: the first request tells
            return
        try:
            await models.with_raw_response.list(timeout=min(self.settings.connect_timeout_s * 2, self.settings.timeout_s))
        except anthropic.APIStatusError as exc:
            if exc.status_code in (401, 403):
                raise TeacherError(f"the Messages API at {self.url} refused the key ({exc.status_code} "
                                   f"{_message(exc)}): {HOW_TO_CONNECT}", status=exc.status_code) from exc
        except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
            raise self.unreachable(exc) from exc

    async def count_tokens(self, body: dict[str, Any]) -> int:
        """The prompt's input tokens by the server's token-counting endpoint (free; nothing is generated)."""
        fields = {k: body[k] for k in ("model", "system", "messages", "output_config", "tools") if k in body}
        return (await self.client.messages.count_tokens(**fields)).input_tokens

    async def complete(self, body: dict[str, Any], on_sent: Any = None) -> Reply:
        """Send one request; retry what is retryable; TeacherError when it finally fails. `on_sent()`
        runs once, just before the first request's headers go out (so a caller can count the attempt
        before the server sees it); TeacherError.sent tells whether any was. A server that cannot be
        reached is asked once more after a short wait, then TeacherError(unreachable=True).

        The first request of a cacheable prefix goes alone: the others with that prefix wait until it
        is answered (or WARMUP_S), so they read the cache it wrote."""
        key = cache_key(body)
        if key is None:
            return await self._complete(body, on_sent)
        warm = self._warm.get(key)
        if warm is None:
            self._warm[key] = warm = asyncio.Event()
            try:
                return await self._complete(body, on_sent)
            finally:
                warm.set()
        if not warm.is_set():
            try:
                await asyncio.wait_for(warm.wait(), WARMUP_S)
            except asyncio.TimeoutError:
                pass
        return await self._complete(body, on_sent)

    async def _complete(self, body: dict[str, Any], on_sent: Any = None) -> Reply:
        retries: list[str] = []
        attempt = 0
        sent = False
        connect_failures = 0
        while True:
            attempt += 1
            try:
                async with self.semaphore:
                    message, exchange = await self.watched(lambda: self.client.messages.create(**body), on_sent)
                    sent = True
            except anthropic.BadRequestError as exc:
                if "output_config" in body and self.structured is None and _mentions_output_config(exc):
                    self.structured = False  # this server has no structured outputs: parse JSON from text
                    body = {k: v for k, v in body.items() if k != "output_config"}
                    retries.append("structured outputs unsupported: falling back to JSON in text")
                    continue
                raise TeacherError(f"400 bad request: {_message(exc)}", status=400, raw=_raw(exc),
                                   attempts=attempt) from exc
            except anthropic.APIStatusError as exc:
                sent = True
                status = exc.status_code
                if status in RETRYABLE_STATUS and attempt <= self.settings.max_retries:
                    wait = self._wait(attempt, retry_after_seconds(exc.response.headers))
                    retries.append(f"{status} {_message(exc)}; retry in {wait:.2f}s")
                    await self._sleep(wait)
                    continue
                raise TeacherError(f"{status} {_message(exc)}", status=status, raw=_raw(exc), attempts=attempt,
                                   retryable=status in RETRYABLE_STATUS) from exc
            except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
                exchange = getattr(exc, "curator_exchange", None) or _Exchange()
                sent = sent or exchange.sent
                if _never_connected(exc, exchange):
                    connect_failures += 1
                    if connect_failures <= 1:
                        wait = min(0.5, self.settings.retry_after_cap_s)
                        retries.append(f"cannot connect; retry in {wait:.2f}s")
                        await self._sleep(wait)
                        continue
                    if not sent:
                        raise self.unreachable(exc, attempt) from exc
                kind = "timeout" if isinstance(exc, anthropic.APITimeoutError) else "connection error"
                if attempt <= self.settings.max_retries:
                    wait = self._wait(attempt, None)
                    retries.append(f"{kind}; retry in {wait:.2f}s")
                    await self._sleep(wait)
                    continue
                raise TeacherError(f"{kind} after {attempt} attempts ({self.url}: {exc})", attempts=attempt,
                                   retryable=True, sent=sent) from exc
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
