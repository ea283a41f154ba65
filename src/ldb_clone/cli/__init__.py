"""The ``ldb`` command line: one short function per command over the library API.

- ``app``: the typer apps, error handling and ``main``;
- ``options``: shared options and the argv handling click cannot express through typer;
- ``output``: ``-v``/``-q`` state and printing a result as JSON or text;
- ``common``: opening the instance and selecting objects;
- ``*_cmds``: the commands, by topic. The order below is the order of ``ldb --help``.
"""

from ldb_clone.cli import (
    dataset_cmds,
    index_cmds,
    select_cmds,
    setup_cmds,
    view_cmds,
    write_cmds,
)
from ldb_clone.cli.app import app, ds_app, main, register, storage_app
from ldb_clone.cli.output import _state

register(
    app,
    [
        setup_cmds.init,
        setup_cmds.add_storage,
        index_cmds.index,
        select_cmds.list_,
        select_cmds.eval_,
        dataset_cmds.status,
        dataset_cmds.stage,
        dataset_cmds.add,
        dataset_cmds.del_,
        dataset_cmds.commit,
        dataset_cmds.sync,
        dataset_cmds.diff,
        dataset_cmds.pull,
        index_cmds.unindex,
        select_cmds.query_,
        index_cmds.tag_,
        write_cmds.instantiate_,
        write_cmds.get_,
        dataset_cmds.transform_,
        view_cmds.stats_,
        view_cmds.view_,
        setup_cmds.migrate,
        setup_cmds.copy_catalog,
        setup_cmds.formats_,
        setup_cmds.completion,
    ],
)
register(ds_app, [dataset_cmds.ds_list, dataset_cmds.ds_del])
register(storage_app, [setup_cmds.storage_list, setup_cmds.storage_rm])

__all__ = ["_state", "app", "main"]
