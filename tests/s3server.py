"""A real S3 endpoint for tests and benchmarks: moto's server on 127.0.0.1.

The client side (s3fs, botocore) is the real one and talks HTTP to it, as it talks to AWS.
The server is wrapped in a small WSGI layer that counts requests (to prove that a
re-index downloads nothing) and can answer chosen requests with an S3 error (a vanished
key, throttling, refused credentials), which moto itself cannot be made to do.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key-do-not-print"


@dataclass
class Fault:
    """Answer requests whose method is ``method`` and whose path ends with ``suffix``."""

    method: str
    suffix: str
    status: int
    code: str
    message: str
    times: int | None = None  # None: every time


@dataclass
class Recorder:
    requests: Counter = field(default_factory=Counter)  # (method, path) -> count
    faults: list[Fault] = field(default_factory=list)
    refused_keys: set[str] = field(default_factory=set)  # access keys answered with 403
    latency: float = 0.0  # seconds added to every request (a distant server; benchmarks)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gets(self, prefix: str = "") -> int:
        """GET requests for objects (not listings) whose path starts with ``prefix``."""
        with self.lock:
            return sum(
                n
                for (method, path, query), n in self.requests.items()
                if method == "GET"
                and path.startswith(prefix)
                and "list-type" not in query
                and path.count("/") >= 2
            )

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.refused_keys.clear()
            self.latency = 0.0


def _error_body(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()


class _Recording:
    def __init__(self, app: Any, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder
        # NOTE: moto's handlers are not all thread-safe (a key's ETag is computed from its
        # shared buffer without the key's lock): a CI run once got a 500 from two GETs at
        # once. Requests are answered one at a time; the added latency (benchmarks) still
        # overlaps, since it is slept before taking the lock.
        self._serial = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        rec = self.recorder
        with rec.lock:
            rec.requests[(method, path, query)] += 1
            auth = environ.get("HTTP_AUTHORIZATION", "")
            refused = any(f"Credential={key}/" in auth for key in rec.refused_keys)
            fault = next(
                (
                    f
                    for f in rec.faults
                    if f.method == method and path.endswith(f.suffix) and f.times != 0
                ),
                None,
            )
            if fault is not None and fault.times is not None:
                fault.times -= 1
        if rec.latency:
            time.sleep(rec.latency)
        if refused:
            fault = Fault(
                method,
                path,
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        if fault is not None and not path.startswith("/moto-api"):
            start_response(f"{fault.status} Error", [("Content-Type", "application/xml")])
            return [_error_body(fault.code, fault.message)]
        with self._serial:
            body = self.app(environ, start_response)
            try:
                return list(body)
            finally:
                if hasattr(body, "close"):
                    body.close()


class S3Server:
    """moto's S3 server in a thread on 127.0.0.1, on a free port."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.recorder = Recorder()
        app = _Recording(DomainDispatcherApplication(create_backend_app), self.recorder)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> S3Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def reset(self) -> None:
        """Forget every bucket and every recorded request."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request).read()
        self.recorder.reset()

    def filesystem(self) -> Any:
        """An s3fs filesystem on this server, with the test credentials (the region comes
        from AWS_DEFAULT_REGION: with region_name in client_kwargs, creating a bucket
        fails with an invalid location constraint)."""
        import s3fs

        return s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            client_kwargs={"endpoint_url": self.endpoint},
            skip_instance_cache=True,
        )

    def storage_options(self) -> list[str]:
        """``ldb add-storage`` arguments that point a location at this server."""
        return [
            "-o",
            "client_kwargs",
            f'{{"endpoint_url": "{self.endpoint}"}}',
            "-o",
            "key",
            ACCESS_KEY,
            "-o",
            "secret",
            SECRET_KEY,
        ]
