"""The fsspec options of a cloud target (``instantiate -t s3://...``), and its errors.

A target inside a storage location uses that location's options. A target elsewhere in
a bucket that a location already uses takes that location's options too (the endpoint
and credentials of a bucket are the same for every prefix in it). Options given with
``-o KEY VALUE`` are added on top and win. Without any, the environment decides (as for
any boto client), which is rarely what a user of a self-hosted server means, so a failure
names the target and the option that would fix it.
"""

from __future__ import annotations

from typing import Any

from ldb_clone.errors import StorageError
from ldb_clone.storage import StorageLocation, find_location, register_secrets

CREDENTIAL_KEYS = ("key", "secret", "token", "anon", "profile")


def bucket_of(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def target_options(
    locations: list[StorageLocation], protocol: str, path: str, given: dict[str, Any]
) -> dict[str, Any]:
    """The options to open the target ``protocol://path`` with."""
    register_secrets(given)  # never echoed by an error message
    location = find_location(locations, protocol, path)
    if location is None:
        same_bucket = [
            loc
            for loc in locations
            if loc.protocol == protocol and bucket_of(loc.path) == bucket_of(path)
        ]
        location = same_bucket[0] if same_bucket else None
    base = dict(location.options) if location is not None else {}
    return {**base, **given}


def target_error(url: str, options: dict[str, Any], exc: BaseException) -> StorageError:
    """One line naming the target and, when it can be told, the missing option."""
    if type(exc).__name__ == "NoCredentialsError":
        return StorageError(
            f"Unable to write to {url}: no credentials for it. Give them with "
            "-o key ACCESS_KEY -o secret SECRET_KEY, or add a storage location in that bucket"
        )
    reason = str(exc).strip() or type(exc).__name__
    hint = ""
    has_endpoint = "endpoint_url" in options or "endpoint_url" in options.get("client_kwargs", {})
    if not has_endpoint:
        hint = (
            "; a server other than the provider's default needs "
            '-o client_kwargs \'{"endpoint_url": "URL"}\''
        )
    elif not any(key in options for key in CREDENTIAL_KEYS):
        hint = "; no credentials were given for it (-o key ACCESS_KEY -o secret SECRET_KEY)"
    return StorageError(f"Unable to write to {url}: {reason}{hint}")
