"""A real HTTP server on localhost for the fake platforms, with faults the tests can inject.

A fake platform is a function `app(request) -> Response` (see the platform modules here);
`FakeServer(app)` serves it over real HTTP in a thread. Faults are queued per path prefix and
served before the normal answer, once each:

    server.fail("/api/v1/timelines", status=429, headers={"Retry-After": "7"})
    server.fail("/xrpc/", status=500)
    server.fail("/search", body=b'{"data": [', status=200)   # a truncated page
    server.fail("/search", delay=3)                            # slower than the client's timeout
    server.fail("/search", reset=True)                          # connection closed, no answer
    server.down("/", hours=...)  -> every request answers 503 until server.up()

Every request is recorded (method, path, query, headers, body) for assertions.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return v[0] if v else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def form(self) -> dict:
        ctype = self.headers.get("content-type", "")
        if "json" in ctype:
            return json.loads(self.body or b"{}")
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encoded(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


def cut_bodies(answer, calls: set[int], keep: int = 60, when=lambda *args: True):
    """`answer` (a fake's responding function) with the JSON body of its `calls`-th answers
    (1-based, counting those `when` accepts) cut after `keep` characters: a truncated page."""
    seen = [0]

    def cut(*args):
        resp = answer(*args)
        if when(*args):
            seen[0] += 1
            if seen[0] in calls:
                resp.body = json.dumps(resp.body)[:keep].encode()
        return resp

    return cut


def json_response(doc, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status=status, body=doc, headers=headers or {})


@dataclass
class Fault:
    prefix: str
    status: int = 500
    body: bytes | str | dict = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False


class FakeServer:
    def __init__(self, app):
        self.app = app
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.is_down = False
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK wait

            def log_message(self, *a):  # quiet
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                with fake.lock:
                    fake.requests.append(req)
                    fault = next((f for f in fake.faults if parts.path.startswith(f.prefix)), None)
                    if fault:
                        fake.faults.remove(fault)
                    down = fake.is_down
                if fault and fault.reset:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if down:
                    resp = Response(503, {"error": "Service Unavailable"})
                elif fault and fault.status != 200 or fault and fault.body:
                    resp = Response(fault.status, fault.body, fault.headers)
                elif fault:  # a pure delay: then the normal answer
                    resp = fake.app(req)
                else:
                    resp = fake.app(req)
                data = resp.encoded()
                try:
                    self.send_response(resp.status)
                    self.send_header("Content-Type", resp.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in resp.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self) -> "FakeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail(self, prefix: str = "/", **kw) -> None:
        with self.lock:
            self.faults.append(Fault(prefix, **kw))

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def hits(self, prefix: str = "/") -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]
