"""A local HTTP server that speaks enough of the Anthropic Messages API for tests and benchmarks.

Real HTTP on 127.0.0.1 (the SDK's own transport is exercised). It records every request body,
answers with valid output for the schema a request names, and injects faults on demand:

    api = FakeMessagesAPI(latency=0.2).start()
    api.faults.extend([Fault.status(429, retry_after="0.1"), Fault.truncated()])
    ... ANTHROPIC_BASE_URL=api.url ...
    api.stop()

Usage is counted as the Messages API counts it, prompt caching included: the prompt's tokens (a
stand-in tokenizer, `count_tokens`: not one token per 3 bytes, so estimates must be calibrated), and
the prefix up to and including the last block marked with `cache_control` (tools, then the
structured-output schema, then the system blocks, then the messages, in that order) is reported as
`cache_creation_input_tokens` the first time it is seen, as `cache_read_input_tokens` while it lives
(5 minutes or the block's `ttl` "1h", renewed by each read, on `api.clock`), and as neither when it
is shorter than the model's minimum cacheable length (`MIN_CACHEABLE`). An entry is readable once
the request that wrote it has been answered: requests in flight meanwhile write it too.
`POST /v1/messages/count_tokens` answers with the prompt's tokens.

Batches: create (refused over the API's limits, 100,000 requests or 256 MB, as the real one does;
`batch_create_faults` refuse the next creations), retrieve, list (newest first, paged), results.
`before_create(n, body)` and `after_create(batch_id)` run in the server's thread around a creation:
a test blocks in them to kill its client at that moment (before the batch exists, or after it exists
but before the client hears of it).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    payload: Any = None
    delay: float = 0.0

    @classmethod
    def status_code(cls, code: int, *, retry_after: str | None = None, message: str = "injected") -> "Fault":
        kinds = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error", 502: "api_error",
                 503: "api_error", 400: "invalid_request_error", 401: "authentication_error"}
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        body = {"type": "error", "error": {"type": kinds.get(code, "api_error"), "message": message}}
        return cls("status", code, headers, body)

    @classmethod
    def timeout(cls, seconds: float) -> "Fault":
        return cls("timeout", delay=seconds)

    @classmethod
    def text(cls, text: str) -> "Fault":
        return cls("text", payload=text)

    @classmethod
    def truncated(cls) -> "Fault":
        return cls("truncated")

    @classmethod
    def refusal(cls) -> "Fault":
        return cls("refusal")

    @classmethod
    def no_structured_outputs(cls) -> "Fault":
        return cls.status_code(400, message="output_config: Extra inputs are not permitted")


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of new connections (a client at concurrency 16) is never reset


Responder = Callable[[dict[str, Any], int], dict[str, Any]]
_counter = itertools.count(1)


def _conversation_item(n: int, task: str = "explanation") -> dict[str, Any]:
    return {"task_type": task, "difficulty": "middle_school", "topic": "فاعل", "messages": [
        {"role": "user", "content": f"پرسش شمارهٔ {n}: فاعل در جملهٔ «علی کتاب را خواند» کدام است؟"},
        {"role": "assistant", "content": f"پاسخ {n}: «علی» فاعل است، چون انجام‌دهندهٔ کار خواندن است."},
    ]}


def default_output(body: dict[str, Any], n: int) -> dict[str, Any]:
    """Valid output for the schema the request names (structured outputs), else a conversation batch."""
    schema = ((body.get("output_config") or {}).get("format") or {}).get("schema") or {}
    title = schema.get("title", "")
    prompt = json.dumps([body.get("system"), body.get("messages", [])], ensure_ascii=False)
    if title == "PassageLabels" or "label Persian passages" in str(body.get("system", "")):
        return {"tags": ["education"], "quality": "high", "families": ["student_support"], "reason": "روشن و آموزشی"}
    if title == "MathBatch" or "MathBatch" in prompt or '"answer"' in prompt:
        return {"items": [{"task_type": "four_operations", "difficulty": "elementary", "topic": "خرید", "answer": str(3 * n),
                           "messages": [{"role": "user", "content": f"سه دفتر هر کدام {n} تومان. جمعاً چند؟"},
                                        {"role": "assistant", "content": f"۳ × {n} = {3 * n}. پس جمعاً {3 * n} تومان."}]}]}
    if title == "ToolBatch" or '"tools"' in prompt:
        tool = {"type": "function", "function": {"name": "calculator", "parameters": {
            "type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
        return {"items": [{"task_type": "tool_needed", "topic": "calculator", "tools": [tool], "messages": [
            {"role": "user", "content": f"حاصل {n} ضربدر ۲ چقدر است؟"},
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "id": "c1", "function": {
                "name": "calculator", "arguments": json.dumps({"expression": f"{n}*2"})}}]},
            {"role": "tool", "tool_call_id": "c1", "content": str(2 * n)},
            {"role": "assistant", "content": f"حاصل برابر با {2 * n} است."}]}]}
    return {"items": [_conversation_item(n), _conversation_item(n + 100000, "mini_quiz")]}


# The minimum cacheable prefix of each model, in tokens (the provider's documentation); others: the default.
MIN_CACHEABLE = {"claude-opus-4-6": 4096, "claude-opus-4-5": 4096, "claude-haiku-4-5": 4096, "claude-haiku-3-5": 2048}
DEFAULT_MIN_CACHEABLE = 1024
TTL_S = {"5m": 300.0, "1h": 3600.0}
OUTPUT_TOKENS = 400  # every reply is billed this many output tokens
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[\u0600-\u06ff\u200c]+|\s+|.", re.S)


@functools.lru_cache(maxsize=4096)
def count_tokens(text: str) -> int:
    """The fake's tokenizer: a token for every 4 Latin letters, 3 digits or 3 Persian letters of a word
    (rounded up), one for each other character; white space is free."""
    n = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first.isspace():
            continue
        if first.isascii() and first.isalpha():
            n += -(-len(token) // 4)
        elif first.isascii() and first.isdigit() or "\u0600" <= first <= "\u06ff" or first == "\u200c":
            n += -(-len(token) // 3)
        else:
            n += 1
    return n


def _text_of(block: dict[str, Any]) -> str:
    if block.get("type", "text") == "text":
        return str(block.get("text", ""))
    return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, ensure_ascii=False, sort_keys=True)


def prompt_pieces(body: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """The prompt in cache order as (text, cache_control) pieces: tools, the output schema, system, messages."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    for tool in body.get("tools") or []:
        out.append((_text_of({**tool, "type": "tool"}), tool.get("cache_control")))
    if body.get("output_config"):
        out.append((json.dumps(body["output_config"], ensure_ascii=False, sort_keys=True), None))
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else (system or []):
        out.append((_text_of(block), block.get("cache_control")))
    for turn in body.get("messages", []):
        content = turn.get("content", "")
        out.append((f"<{turn.get('role')}>", None))
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            out.append((_text_of(block), block.get("cache_control")))
    if body.get("cache_control") and out:  # automatic caching: the last block is the breakpoint
        out[-1] = (out[-1][0], body["cache_control"])
    return out


def input_tokens(body: dict[str, Any]) -> int:
    """Every token of the request's prompt (what `count_tokens` answers)."""
    return sum(count_tokens(text) for text, _ in prompt_pieces(body))


def message(body: dict[str, Any], text: str, stop_reason: str = "end_turn",
            usage: dict[str, Any] | None = None) -> dict[str, Any]:
    usage = usage or {"input_tokens": input_tokens(body), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0}
    return {"id": f"msg_{next(_counter)}", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
            "content": [{"type": "text", "text": text}], "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {**usage, "output_tokens": OUTPUT_TOKENS}}


class FakeMessagesAPI:
    def __init__(self, *, latency: float = 0.0, responder: Responder = default_output) -> None:
        self.latency = latency
        self.responder = responder
        self.faults: deque[Fault] = deque()
        self.fault_for: Callable[[int, dict[str, Any]], Fault | None] | None = None
        self.requests: list[dict[str, Any]] = []
        self.raw_bodies: list[str] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_outcomes: dict[str, str] = {}  # custom_id -> "errored" | "expired"
        self.polls_until_ended = 1
        self.counted: list[dict[str, Any]] = []  # bodies sent to count_tokens
        self.cache: dict[str, float] = {}  # prefix key -> when it expires (on `clock`)
        self.clock: Callable[[], float] = time.monotonic
        self.max_batch_requests = 100_000  # the API's limits on one batch
        self.max_batch_bytes = 256_000_000
        self.batch_create_faults: deque[Fault] = deque()
        self.before_create: Callable[[int, int], Fault | None] | None = None  # (creation number, body bytes)
        self.after_create: Callable[[str], None] | None = None
        self.batch_creates = 0  # creation requests received (refused ones included)
        self.batch_bytes: dict[str, int] = {}  # batch id -> the size of the body that created it
        self.batch_order: list[str] = []  # batch ids, oldest first
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeMessagesAPI":
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stalls

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_{next(_counter)}")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length).decode()
                if self.path.startswith("/v1/messages/batches"):
                    status, payload = api._create_batch(raw, length)
                    return self._send(status, payload)
                body = json.loads(raw)
                if self.path.startswith("/v1/messages/count_tokens"):
                    with api._lock:
                        api.counted.append(body)
                    return self._send(200, {"input_tokens": input_tokens(body)})
                with api._lock:
                    api.requests.append(body)
                    api.raw_bodies.append(raw)
                    n = len(api.requests)
                    fault = api.faults.popleft() if api.faults else None
                if fault is None and api.fault_for is not None:
                    fault = api.fault_for(n, body)
                usage, write = api.cache_usage(body)
                if api.latency:
                    time.sleep(api.latency)
                status, payload, headers = api._answer(body, n, fault, usage)
                if status == 200:
                    api.remember(write)
                self._send(status, payload, headers)

            def do_GET(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                parts = path.strip("/").split("/")
                if parts == ["v1", "messages", "batches"]:
                    return self._send(200, api._list_batches(dict(urllib.parse.parse_qsl(query))))
                if len(parts) == 4 and parts[:3] == ["v1", "messages", "batches"]:
                    return self._send(200, api._poll_batch(parts[3]))
                if len(parts) == 5 and parts[4] == "results":
                    return self._send(200, api._batch_results(parts[3]), content_type="application/binary")
                self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeMessagesAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- prompt caching ----------------------------------------------------------------------

    def cache_usage(self, body: dict[str, Any]) -> tuple[dict[str, Any], tuple[list[str], float] | None]:
        """The request's input usage, and the cache entries it writes (keys, TTL) once it is answered.
        The longest marked prefix still in the cache is read; the rest up to the last mark is written,
        unless the prefix is shorter than the model's minimum."""
        pieces = prompt_pieces(body)
        tokens = [count_tokens(text) for text, _ in pieces]
        usage: dict[str, Any] = {"input_tokens": sum(tokens), "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0}
        marks = [i for i, (_, mark) in enumerate(pieces) if mark]
        minimum = MIN_CACHEABLE.get(str(body.get("model")), DEFAULT_MIN_CACHEABLE)
        marks = [i for i in marks if sum(tokens[:i + 1]) >= minimum]
        if not marks:
            return usage, None
        keys = [hashlib.sha256(json.dumps([body.get("model"), [t for t, _ in pieces[:i + 1]]],
                                          ensure_ascii=False).encode()).hexdigest() for i in marks]
        ttl = TTL_S.get(str((pieces[marks[-1]][1] or {}).get("ttl", "5m")), TTL_S["5m"])
        read = 0
        with self._lock:
            now = self.clock()
            for i, key in reversed(list(zip(marks, keys))):
                if self.cache.get(key, -1.0) > now:
                    read = sum(tokens[:i + 1])
                    self.cache[key] = max(self.cache[key], now + ttl)  # a read renews the entry
                    break
        written = sum(tokens[:marks[-1] + 1]) - read
        usage.update(input_tokens=sum(tokens) - read - written, cache_read_input_tokens=read,
                     cache_creation_input_tokens=written)
        if written:
            one_hour = ttl == TTL_S["1h"]
            usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0 if one_hour else written,
                                       "ephemeral_1h_input_tokens": written if one_hour else 0}
        return usage, (keys, ttl) if written else None

    def remember(self, write: tuple[list[str], float] | None) -> None:
        """The entries an answered request wrote become readable."""
        if write is not None:
            keys, ttl = write
            with self._lock:
                now = self.clock()
                for key in keys:
                    self.cache[key] = max(self.cache.get(key, -1.0), now + ttl)

    def _answer(self, body: dict[str, Any], n: int, fault: Fault | None,
                usage: dict[str, Any] | None = None) -> tuple[int, Any, dict[str, str]]:
        if fault is None:
            return 200, message(body, json.dumps(self.responder(body, n), ensure_ascii=False), usage=usage), {}
        if fault.kind == "status":
            return fault.status, fault.payload, fault.headers
        if fault.kind == "timeout":
            time.sleep(fault.delay)
            return 200, message(body, json.dumps(self.responder(body, n), ensure_ascii=False), usage=usage), {}
        if fault.kind == "text":
            return 200, message(body, fault.payload, usage=usage), {}
        if fault.kind == "truncated":
            text = json.dumps(self.responder(body, n), ensure_ascii=False)
            return 200, message(body, text[: len(text) // 2], "max_tokens", usage=usage), {}
        if fault.kind == "refusal":
            return 200, message(body, "I can't help with that.", "refusal", usage=usage), {}
        raise ValueError(fault.kind)

    # -- batches -----------------------------------------------------------------------------

    def _create_batch(self, raw: str, size: int) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.batch_creates += 1
            n = self.batch_creates
            fault = self.batch_create_faults.popleft() if self.batch_create_faults else None
        if self.before_create is not None:
            fault = self.before_create(n, size) or fault  # (a Fault it returns refuses this creation)
        if fault is not None:
            return fault.status, fault.payload
        if size > self.max_batch_bytes:
            return 413, {"type": "error", "error": {"type": "request_too_large",
                                                    "message": f"Request exceeds the maximum size ({size} bytes)"}}
        body = json.loads(raw)
        if len(body["requests"]) > self.max_batch_requests:
            return 400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                         f"requests: at most {self.max_batch_requests} requests in a batch"}}
        batch_id = f"msgbatch_{next(_counter):06d}"
        with self._lock:
            for r in body["requests"]:
                self.requests.append(r["params"])
            self.batches[batch_id] = {"requests": body["requests"], "polls": 0,
                                      "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self.batch_bytes[batch_id] = size
            self.batch_order.append(batch_id)
        if self.after_create is not None:
            self.after_create(batch_id)
        return 200, self._batch_object(batch_id, "in_progress")

    def custom_ids(self) -> list[str]:
        """Every custom_id of every batch created, in order (a request sent twice shows twice)."""
        return [r["custom_id"] for b in self.batch_order for r in self.batches[b]["requests"]]

    def _list_batches(self, query: dict[str, str]) -> dict[str, Any]:
        newest = list(reversed(self.batch_order))
        if "after_id" in query and query["after_id"] in newest:
            newest = newest[newest.index(query["after_id"]) + 1:]
        limit = int(query.get("limit", 20))
        page = newest[:limit]
        data = [self._batch_object(b, "ended" if self.batches[b]["polls"] > self.polls_until_ended else "in_progress")
                for b in page]
        return {"data": data, "has_more": len(newest) > limit, "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None}

    def _poll_batch(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        batch["polls"] += 1
        ended = batch["polls"] > self.polls_until_ended
        return self._batch_object(batch_id, "ended" if ended else "in_progress")

    def _batch_object(self, batch_id: str, status: str) -> dict[str, Any]:
        n = len(self.batches[batch_id]["requests"])
        return {"id": batch_id, "type": "message_batch", "processing_status": status,
                "created_at": self.batches[batch_id].get("created_at", "2026-11-22T00:00:00Z"),
                "expires_at": "2099-11-23T00:00:00Z",
                "ended_at": "2026-11-22T00:01:00Z" if status == "ended" else None,
                "request_counts": {"processing": 0 if status == "ended" else n, "succeeded": n if status == "ended" else 0,
                                   "errored": 0, "canceled": 0, "expired": 0},
                "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results" if status == "ended" else None}

    def _batch_results(self, batch_id: str) -> bytes:
        lines = []
        for i, r in enumerate(self.batches[batch_id]["requests"], start=1):
            outcome = self.batch_outcomes.get(r["custom_id"]) or self.batch_outcomes.get(
                r["custom_id"].rsplit("-", 1)[0])  # "job-ID" names the job whatever chunk token follows
            if outcome == "errored":
                result = {"type": "errored", "error": {"type": "error", "error": {"type": "api_error", "message": "boom"}}}
            elif outcome == "expired":
                result = {"type": "expired"}
            else:
                body = r["params"]
                usage, write = self.cache_usage(body)
                self.remember(write)
                result = {"type": "succeeded", "message": message(
                    body, json.dumps(self.responder(body, i), ensure_ascii=False), usage=usage)}
            lines.append(json.dumps({"custom_id": r["custom_id"], "result": result}, ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode()
