"""ldb_clone: a Label Database for data objects and their annotations.

The command line (``ldb``) is a thin layer over this package: every command
calls one library function that tests and scripts can call directly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
