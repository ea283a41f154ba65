"""Entry point of ``ldb`` and ``python -m ldb_clone``.

NOTE: ``--version`` is answered here, before the command line (typer, click) is
imported, so that scripts probing the version start fast.
"""

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from ldb_clone import __version__

        print(f"ldb {__version__}")
        return
    from ldb_clone.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
