"""JMESPath queries over annotations and file attributes.

``compile_query(text, strict, instance_dir)`` gives a ``Query``: ``strict=True`` is
LDB's ``--query`` flavour (a missing key or a lookup on a non-object fails, so the
object is dropped), ``strict=False`` is standard JMESPath (``--jquery``). Both know the
standard functions, LDB's (``functions.py``) and the instance's user functions
(``user_functions.py``).
"""

from ldb_clone.query.compile import (
    Query,
    QueryError,
    QuerySyntaxError,
    clear_caches,
    compile_query,
)
from ldb_clone.query.interpreter import is_true
from ldb_clone.query.user_functions import UserFunctionError

__all__ = [
    "Query",
    "QueryError",
    "QuerySyntaxError",
    "UserFunctionError",
    "clear_caches",
    "compile_query",
    "is_true",
]
