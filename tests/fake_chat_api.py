"""A local HTTP server that speaks enough of the OpenAI Chat Completions API to stand in for a student
model served by vLLM, llama.cpp, Ollama, TGI or SGLang. Real HTTP on 127.0.0.1 (the `openai` SDK's own
transport is exercised). A `script` answers each request; faults are injected in order:

    api = FakeChatAPI(script=lambda body: {"content": "۴۲"}, models=["student"]).start()
    api.faults.extend([ChatFault.status(429, retry_after="0"), ChatFault.malformed()])
    ... Student(StudentSettings(endpoint=api.url, model="student")) ...
    api.stop()
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ChatFault:
    kind: str  # status, timeout, malformed
    code: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def status(cls, code: int, *, retry_after: str | None = None) -> "ChatFault":
        return cls("status", code, {"retry-after": retry_after} if retry_after is not None else {})

    @classmethod
    def timeout(cls, seconds: float) -> "ChatFault":
        return cls("timeout", delay=seconds)

    @classmethod
    def malformed(cls) -> "ChatFault":
        return cls("malformed")


Script = Callable[[dict[str, Any]], dict[str, Any]]  # request body -> {"content": ..., "tool_calls": [...]}


def completion(body: dict[str, Any], n: int, said: dict[str, Any]) -> dict[str, Any]:
    calls = [{"id": f"call_{n}_{i}", "type": "function",
              "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                           else json.dumps(c["arguments"], ensure_ascii=False)}}
             for i, c in enumerate(said.get("tool_calls") or [])]
    message: dict[str, Any] = {"role": "assistant", "content": said.get("content")}
    if calls:
        message["tool_calls"] = calls
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0, "model": body.get("model", "student"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class FakeChatAPI:
    def __init__(self, *, script: Script, models: list[str] | None = None, latency: float = 0.0) -> None:
        self.script = script
        self.models = models if models is not None else ["student"]
        self.latency = latency
        self.faults: deque[ChatFault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.keys: list[str | None] = []  # the Authorization header of each request (None: none sent)
        self.answered = 0
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FakeChatAPI":
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout it was meant to hit)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models") and api.models is not None:
                    self._send(200, json.dumps({"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "me"} for m in api.models]}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": "not found"}}))
                    return
                with api._lock:
                    n = next(api._counter)
                    api.requests.append(body)
                    api.keys.append(self.headers.get("authorization"))
                    fault = api.faults.popleft() if api.faults else None
                if api.latency:
                    time.sleep(api.latency)
                if fault is not None and fault.kind == "timeout":
                    time.sleep(fault.delay)
                if fault is not None and fault.kind == "status":
                    self._send(fault.code, json.dumps({"error": {"message": "injected", "code": fault.code}}),
                               fault.headers)
                    return
                if fault is not None and fault.kind == "malformed":
                    self._send(200, '{"id": "chatcmpl-x", "choices": [{"index": 0, "message": ')
                    return
                said = api.script(body)
                with api._lock:
                    api.answered += 1
                self._send(200, json.dumps(completion(body, n, said), ensure_ascii=False))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeChatAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
