"""Setting up: init, add-storage, storage list/rm, migrate, formats, completion."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ldb_clone.cli.apps import command
from ldb_clone.cli.common import open_default, open_or_create
from ldb_clone.cli.options import JsonOut, check_choice, parse_bool, parse_options
from ldb_clone.cli.output import emit, reporter


@command()
def init(
    path: Annotated[Path, typer.Argument(help="Directory for the new instance.")],
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Replace an existing instance.")
    ] = False,
    hash_algorithm: Annotated[
        str,
        typer.Option(
            "--hash",
            metavar="{xxh3,md5}",
            help="Object id algorithm: xxh3 (fast, default) or md5 (upstream LDB's ids).",
        ),
    ] = "xxh3",
    catalog_url: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            metavar="URL",
            help="Keep the catalog in this PostgreSQL database "
            "(postgresql://USER@HOST:PORT/DB), shared by a team.",
        ),
    ] = None,
) -> None:
    """Create a new LDB instance at PATH and make it the default one."""
    from ldb_clone.instance import init_instance, remember_instance

    check_choice(hash_algorithm, ("xxh3", "md5"), "--hash")
    for line in init_instance(
        path, force=force, hash_algorithm=hash_algorithm, catalog=catalog_url
    ):
        print(line)
    print(remember_instance(path))


@command("add-storage")
def add_storage(
    path: Annotated[str, typer.Argument(help="Local directory or URL (s3://bucket/prefix).")],
    read_add: Annotated[
        str,
        typer.Option(
            "-a",
            "--read-add",
            metavar="{true,false}",
            help="Use this location for copies of files indexed from outside storage.",
        ),
    ] = "false",
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Replace existing locations inside PATH.")
    ] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--option",
            metavar="KEY VALUE",
            help="fsspec option for this location; VALUE is parsed as JSON, else a string.",
        ),
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Register a storage location that holds data objects.

    With --json, prints every storage location afterwards, credentials masked.
    """
    from ldb_clone.storage import add_storage, load_locations

    options = parse_options(option)
    instance = open_or_create()
    added = add_storage(
        instance, path, parse_bool(read_add, "--read-add"), options, force, reporter()
    )
    locations = [loc.to_json() for loc in load_locations(instance)] if json_out else []
    emit(json_out, {"message": added, "locations": locations}, added)


@command("list")
def storage_list(json_out: JsonOut = False) -> None:
    """List storage locations: URL, read-add, options (credentials masked)."""
    from ldb_clone.storage import format_locations, load_locations
    from ldb_clone.terminal_text import printable

    locations = load_locations(open_default())
    lines = [printable(line) for line in format_locations(locations)]
    emit(json_out, [loc.to_json() for loc in locations], lines or "No storage locations")


@command("rm")
def storage_rm(
    path: Annotated[str, typer.Argument(help="The location's folder or URL, as registered.")],
    force: Annotated[
        bool,
        typer.Option(
            "-f", "--force", help="Remove it even if indexed objects are stored only there."
        ),
    ] = False,
) -> None:
    """Remove a storage location (its files and the index are not touched)."""
    from ldb_clone.storage import remove_storage
    from ldb_clone.terminal_text import printable

    print(printable(remove_storage(open_default(), path, force)))


@command()
def migrate(
    source: Annotated[Path, typer.Argument(help="An upstream LDB instance directory.")],
    json_out: JsonOut = False,
) -> None:
    """Read an upstream LDB (ldb-alpha) instance into this one: objects, annotation
    versions, tags, storage locations, transforms and datasets with all their versions."""
    from ldb_clone.migrate import migrate

    result = migrate(open_default(), source, reporter())
    emit(json_out, result, result.summary(source.absolute()))


@command("copy-catalog")
def copy_catalog(
    source: Annotated[str, typer.Argument(help="Instance folder or postgresql:// URL.")],
    target: Annotated[str, typer.Argument(help="Instance folder or postgresql:// URL.")],
    json_out: JsonOut = False,
) -> None:
    """Copy a catalog between an instance's SQLite file and a PostgreSQL database, in
    either direction; only rows the target lacks are added, so running it twice adds
    nothing."""
    from ldb_clone.catalog_copy import copy_catalog as copy
    from ldb_clone.catalog_copy import summary

    added = copy(source, target)
    emit(json_out, added, summary(source, target, added))


@command("formats")
def formats_(json_out: JsonOut = False) -> None:
    """List every format: its aliases, whether it indexes and instantiates, what it
    carries, and its -p parameters with their defaults."""
    from ldb_clone.formats.describe import describe_all, format_text

    rows = describe_all()
    emit(json_out, rows, format_text(rows))


@command()
def completion(
    shell: Annotated[
        str,
        typer.Option(
            "-s", "--shell", metavar="{bash,zsh,fish}", help="Shell syntax (default bash)."
        ),
    ] = "bash",
) -> None:
    """Print a shell completion script for ldb."""
    from ldb_clone.cli.entry import full_app
    from ldb_clone.completion import SHELLS, completion_script

    check_choice(shell, SHELLS, "--shell")
    script = completion_script(typer.main.get_command(full_app()), shell)
    sys.stdout.write(script.rstrip("\n") + "\n")
