"""The real Label Studio server for the tests in this folder (marker ``labelstudio``).

Without its virtual environment (``$LDB_LABEL_STUDIO_VENV``, else the cache folder that
``ensure_label_studio.sh`` builds) the tests skip and say how to build it; in CI
(``CI=true``) a missing or unstartable server fails them instead, so that CI cannot pass
without having talked to the real thing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.labelstudio.server import ENSURE_SCRIPT, LabelStudio, ServerError, venv_path


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI needs the real Label Studio: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def label_studio_server(tmp_path_factory: pytest.TempPathFactory):
    """One Label Studio for the session, on 127.0.0.1 at a free port, with a temporary
    data folder; ``files_root`` is its local-files document root."""
    venv = venv_path()
    if not (venv / "bin" / "label-studio").exists():
        _unavailable(
            f"no Label Studio environment at {venv} (build it with {ENSURE_SCRIPT}, "
            "or set LDB_LABEL_STUDIO_VENV)"
        )
    base = tmp_path_factory.mktemp("label-studio")
    server = LabelStudio(venv=venv, data_dir=base / "data", files_root=base / "files")
    try:
        server.start()
    except ServerError as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def label_studio_client(label_studio_server: LabelStudio):
    try:
        return label_studio_server.client()
    except (ServerError, OSError) as exc:
        _unavailable(
            f"cannot authenticate to Label Studio: {exc}\n{label_studio_server.log_tail()}"
        )


@pytest.fixture
def files_root(label_studio_server: LabelStudio) -> Path:
    """The server's local-files document root (shared by the tests of the session)."""
    return label_studio_server.files_root
