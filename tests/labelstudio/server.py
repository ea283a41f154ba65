"""A real Label Studio server on 127.0.0.1 for the labelstudio tests, and a small REST
client for it (the standard library only: Label Studio's own SDK lives in its venv).

The server runs from the virtual environment that ``ensure_label_studio.sh`` builds, with
a temporary data folder and local-files serving enabled below a document root the test
controls. Label Studio 1.23.2 disables legacy API tokens by default: the client logs in
once with the session form and turns them on through ``/api/jwt/settings``, so that the
token given on the command line (``--user-token``) works as ``Authorization: Token ...``.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = "1.23.2"
DEFAULT_VENV = Path.home() / ".cache" / "ldb-clone" / f"label-studio-{VERSION}"
ENSURE_SCRIPT = Path(__file__).with_name("ensure_label_studio.sh")
USERNAME = "ldb-test@example.com"
PASSWORD = "ldb-test-password-1"  # a throwaway account of a throwaway server on loopback
TOKEN = "ldbtesttoken0123456789abcdef0123456789ab"
START_TIMEOUT = 480.0  # seconds: a first start runs every migration (40 s to 3 min here)


class ServerError(Exception):
    """The server could not be started or answered an API call with an error."""


def venv_path() -> Path:
    given = os.environ.get("LDB_LABEL_STUDIO_VENV")
    return Path(given) if given else DEFAULT_VENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabelStudio:
    """One running server: its URL, document root, and the process to stop."""

    venv: Path
    data_dir: Path
    files_root: Path  # LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LabelStudio:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.files_root.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "HOME": str(self.data_dir),  # nothing lands in the real ~/.local/share
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(self.files_root),
            "LABEL_STUDIO_HOST": self.url,
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = [
            str(self.venv / "bin" / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",  # plain --host would bind every interface
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
            "--user-token",
            TOKEN,
        ]
        self.log_path = self.data_dir / "server.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(
                    f"label-studio exited with {self.process.returncode} while starting:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if json.loads(response.read()).get("status") == "UP":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(1)
        raise ServerError(
            f"label-studio did not answer /health within {START_TIMEOUT:.0f} s:\n" + self.log_tail()
        )

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def client(self) -> Client:
        client = Client(self.url, TOKEN)
        client.enable_legacy_tokens(USERNAME, PASSWORD)
        return client


class Client:
    """Label Studio's REST API with a legacy token (``Authorization: Token ...``)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    # -- authentication ----------------------------------------------------------------

    def enable_legacy_tokens(self, username: str, password: str) -> None:
        """Log in with the session form and turn legacy API tokens on (off by default in
        1.23.2), unless the token already works."""
        if self._token_works():
            return
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/user/login/", timeout=30).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode(
            {"email": username, "password": password, "csrfmiddlewaretoken": csrf}
        ).encode()
        login = urllib.request.Request(
            f"{self.url}/user/login/", data=form, headers={"Referer": f"{self.url}/user/login/"}
        )
        opener.open(login, timeout=30).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        settings = urllib.request.Request(
            f"{self.url}/api/jwt/settings",
            data=json.dumps(
                {"legacy_api_tokens_enabled": True, "api_tokens_enabled": True}
            ).encode(),
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": csrf,
                "Referer": f"{self.url}/",
            },
            method="POST",
        )
        opener.open(settings, timeout=30).read()
        if not self._token_works():
            raise ServerError("the legacy API token does not work after enabling it")

    def _token_works(self) -> bool:
        try:
            self.get("/api/current-user/whoami")
        except ServerError:
            return False
        return True

    # -- requests ----------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, raw: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                content = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")[:2000]
            raise ServerError(f"{method} {path} -> HTTP {exc.code}: {detail}") from exc
        if raw:
            return content
        return json.loads(content) if content else None

    def get(self, path: str, raw: bool = False) -> Any:
        return self.request("GET", path, raw=raw)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body)

    def status_of(self, path: str) -> int:
        """The HTTP status of a GET with the token (200, 404, ...)."""
        try:
            self.get(path, raw=True)
        except ServerError as exc:
            cause = exc.__cause__
            if isinstance(cause, urllib.error.HTTPError):
                return cause.code
            raise
        return 200

    # -- what a labeller does ----------------------------------------------------------

    def create_project(self, title: str, label_config: str) -> int:
        return self.post("/api/projects", {"title": title, "label_config": label_config})["id"]

    def import_tasks(self, project: int, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        return self.post(f"/api/projects/{project}/import", tasks)

    def tasks(self, project: int) -> list[dict[str, Any]]:
        answer = self.get(f"/api/tasks?project={project}&page_size=1000&fields=all")
        return answer["tasks"] if isinstance(answer, dict) else answer

    def annotate(self, task: int, result: list[dict[str, Any]]) -> dict[str, Any]:
        return self.post(f"/api/tasks/{task}/annotations", {"result": result})

    def change_annotation(self, annotation: int, result: list[dict[str, Any]]) -> None:
        self.patch(f"/api/annotations/{annotation}", {"result": result})

    def predict(
        self, task: int, result: list[dict[str, Any]], score: float, model_version: str
    ) -> dict[str, Any]:
        return self.post(
            "/api/predictions",
            {"task": task, "result": result, "score": score, "model_version": model_version},
        )

    def export(self, project: int, export_type: str = "JSON") -> Any:
        return self.get(
            f"/api/projects/{project}/export?exportType={export_type}&download_all_tasks=true"
        )
