"""The one exception root. The CLI turns any ``LdbError`` into ``error: <message>``."""


class LdbError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


class InstanceError(LdbError):
    """No usable LDB instance, or an instance that cannot be created."""


class ConfigError(LdbError):
    pass


class StorageError(LdbError):
    pass


class NotInStorageError(StorageError):
    pass


class IndexingError(LdbError):
    pass


class FormatError(LdbError):
    """Bad format name, bad format parameter, or input that does not fit the format."""


class ObjectNotFoundError(LdbError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SelectionError(LdbError):
    pass
