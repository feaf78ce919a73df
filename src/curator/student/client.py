"""Asking the student model: OpenAI Chat Completions (the official `openai` SDK: vLLM, llama.cpp's
server, Ollama, TGI and SGLang all speak it) or the Anthropic Messages API (the teacher's SDK).

Each request is one eval item's conversation up to its last assistant turn, with its tools. Retries
with backoff for 408/409/429/5xx, timeouts and connection errors (a `retry-after` is honoured up to a
cap); what finally fails is a `StudentError` naming the endpoint. Nothing here stores anything."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai

from curator.errors import CuratorError
from curator.teacher.client import retry_after_seconds, wait_seconds

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
APIS = ("openai", "anthropic")


class StudentError(CuratorError):
    """The student endpoint could not answer; the message names the endpoint."""

    def __init__(self, message: str, *, status: int | None = None, raw: str | None = None, retryable: bool = False,
                 hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.raw = raw
        self.retryable = retryable


@dataclass
class StudentSettings:
    endpoint: str  # the base URL, e.g. http://localhost:8000/v1
    model: str
    api: str = "openai"
    api_key: str = ""  # a local server usually needs none
    concurrency: int = 8
    timeout_s: float = 120.0
    max_retries: int = 4
    retry_after_cap_s: float = 30.0
    backoff_base_s: float = 0.5
    max_tokens: int = 1024


@dataclass
class Answer:
    """What the student said: its text and tool calls (TRL style), with the raw response."""

    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    raw: str = ""
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    retries: list[str] = field(default_factory=list)

    def as_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message


def _openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """TRL messages as Chat Completions messages (tool call arguments as a JSON string)."""
    out = []
    for m in messages:
        message = {"role": m["role"], "content": m.get("content", "")}
        if m.get("tool_calls"):
            message["tool_calls"] = [
                {"id": c.get("id") or f"call_{i}", "type": "function",
                 "function": {"name": c["function"]["name"], "arguments": _arguments_text(c["function"].get("arguments"))}}
                for i, c in enumerate(m["tool_calls"])]
        if m.get("tool_call_id"):
            message["tool_call_id"] = m["tool_call_id"]
        if m.get("name") and m["role"] == "tool":
            message["name"] = m["name"]
        out.append(message)
    return out


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {},
                                                                   ensure_ascii=False)


def _arguments_value(text: Any) -> Any:
    """A tool call's arguments as a value (the string as sent when it is not JSON: the scorer says so)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _anthropic_request(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    system = "\n\n".join(m.get("content", "") for m in messages if m["role"] == "system")
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if m["role"] == "tool":
            block = {"type": "tool_result", "tool_use_id": m.get("tool_call_id") or "call_0", "content": m.get("content", "")}
            turns.append({"role": "user", "content": [block]})
            continue
        blocks: list[dict[str, Any]] = [{"type": "text", "text": m["content"]}] if m.get("content") else []
        for i, c in enumerate(m.get("tool_calls") or []):
            blocks.append({"type": "tool_use", "id": c.get("id") or f"call_{i}", "name": c["function"]["name"],
                           "input": _arguments_value(c["function"].get("arguments")) or {}})
        turns.append({"role": m["role"], "content": blocks})
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    if tools:
        body["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                          "input_schema": t["function"].get("parameters") or {"type": "object"}} for t in tools]
    return body


class Student:
    """Sends eval items to the student with bounded concurrency, timeouts and capped, honoured retries."""

    def __init__(self, settings: StudentSettings, *, sleep: Any = asyncio.sleep) -> None:
        if settings.api not in APIS:
            raise StudentError(f"unknown API {settings.api!r} (known: {', '.join(APIS)})")
        self.settings = settings
        key = settings.api_key or "none"  # the SDKs want a key; a local server ignores it
        if settings.api == "openai":
            self.client: Any = openai.AsyncOpenAI(base_url=settings.endpoint, api_key=key, max_retries=0,
                                                  timeout=settings.timeout_s)
        else:
            self.client = anthropic.AsyncAnthropic(base_url=settings.endpoint, api_key=key, max_retries=0,
                                                   timeout=settings.timeout_s)
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self._sleep = sleep

    @property
    def where(self) -> str:
        return f"{self.settings.endpoint} ({self.settings.api}, model {self.settings.model})"

    async def close(self) -> None:
        await self.client.close()

    async def check(self) -> None:
        """Ask the endpoint once before anything is planned: StudentError (naming the URL) if it is not
        there, refuses the key, or does not know the model."""
        try:
            names = [m.id for m in (await self.client.models.list()).data]  # the same call in both SDKs
        except (openai.APIConnectionError, anthropic.APIConnectionError) as exc:
            raise StudentError(f"{self.settings.endpoint}: cannot connect ({type(exc).__name__}); nothing was sent",
                               hint="is the server running, and is the URL its API base (often ending in /v1)?") from exc
        except (openai.APIStatusError, anthropic.APIStatusError) as exc:
            if exc.status_code == 404:
                return  # a server without a model list: the first answer will tell
            raise StudentError(f"{self.settings.endpoint}: {exc.status_code} from the model list; nothing was sent",
                               status=exc.status_code,
                               hint="check the URL and the API key (STUDENT_API_KEY)") from exc
        if names and self.settings.model not in names:
            shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
            raise StudentError(f"{self.settings.endpoint}: no model {self.settings.model!r} there (it serves {shown}); "
                               "nothing was sent", hint="name one of the served models with --model")

    async def answer(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Answer:
        """The student's answer to a conversation; StudentError when it finally fails."""
        retries: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.semaphore:
                    answer = await (self._openai(messages, tools) if self.settings.api == "openai"
                                    else self._anthropic(messages, tools))
            except (openai.APIStatusError, anthropic.APIStatusError) as exc:
                status = exc.status_code
                raw = _raw(exc)
                if status in RETRYABLE_STATUS and attempt <= self.settings.max_retries:
                    wait = self._wait(attempt, retry_after_seconds(exc.response.headers))
                    retries.append(f"{status}; retry in {wait:.2f}s")
                    await self._sleep(wait)
                    continue
                raise StudentError(f"{self.settings.endpoint}: {status} {raw[:200]}", status=status, raw=raw,
                                   retryable=status in RETRYABLE_STATUS) from exc
            except (openai.APITimeoutError, anthropic.APITimeoutError, openai.APIConnectionError,
                    anthropic.APIConnectionError) as exc:
                kind = "timeout" if isinstance(exc, (openai.APITimeoutError, anthropic.APITimeoutError)) \
                    else "connection error"
                if attempt <= self.settings.max_retries:
                    wait = self._wait(attempt, None)
                    retries.append(f"{kind}; retry in {wait:.2f}s")
                    await self._sleep(wait)
                    continue
                raise StudentError(f"{self.settings.endpoint}: {kind} after {attempt} attempts", retryable=True) from exc
            except (openai.APIResponseValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
                if attempt <= self.settings.max_retries:  # a malformed reply: a server hiccup, asked again
                    retries.append(f"malformed reply ({type(exc).__name__}); asked again")
                    continue
                raise StudentError(f"{self.settings.endpoint}: malformed reply ({exc})", retryable=True) from exc
            answer.retries = retries
            return answer

    async def _openai(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Answer:
        options: dict[str, Any] = {"model": self.settings.model, "messages": _openai_messages(messages),
                                   "max_tokens": self.settings.max_tokens}
        if tools:
            options["tools"] = tools
        reply = await self.client.chat.completions.create(**options)
        choice = reply.choices[0]
        calls = [{"type": "function", "id": c.id, "function": {"name": c.function.name,
                                                               "arguments": _arguments_value(c.function.arguments)}}
                 for c in (choice.message.tool_calls or [])]
        usage = reply.usage
        return Answer(choice.message.content or "", calls, reply.model_dump_json(), choice.finish_reason,
                      usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)

    async def _anthropic(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Answer:
        body = _anthropic_request(messages, tools)
        reply = await self.client.messages.create(model=self.settings.model, max_tokens=self.settings.max_tokens,
                                                  **body)
        text = "".join(b.text for b in reply.content if b.type == "text")
        calls = [{"type": "function", "id": b.id, "function": {"name": b.name, "arguments": b.input}}
                 for b in reply.content if b.type == "tool_use"]
        return Answer(text, calls, reply.model_dump_json(), reply.stop_reason, reply.usage.input_tokens,
                      reply.usage.output_tokens)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        return wait_seconds(attempt, retry_after, self.settings.backoff_base_s, self.settings.retry_after_cap_s)


def _raw(exc: Any) -> str:
    try:
        return exc.response.text[:20000]
    except Exception:  # noqa: BLE001 - a raw body is a nicety
        return ""
