"""Entry point of ``ldb`` and ``python -m ldb_clone``.

NOTE: ``--version`` is answered here, before the command line (typer, click) is
imported, so that scripts probing the version start fast.
"""

import sys


def print_version() -> None:
    """``ldb --version``: answered here and by the app's ``-V`` option."""
    from ldb_clone import __version__

    print(f"ldb {__version__}")


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        print_version()
        return
    from ldb_clone.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
