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


# Credential values from storage options, registered as they are loaded, so that every
# message the command line prints can be scrubbed of them (see ``scrub``).
SECRETS: set[str] = set()


def scrub(text: str) -> str:
    """``text`` with every registered credential value replaced by ``****``."""
    for secret in SECRETS:
        if secret and secret in text:
            text = text.replace(secret, "****")
    return text


class CatalogError(LdbError):
    """A request the catalog cannot honour as asked (it names objects that are not
    indexed, an annotation whose text it was not given)."""


class NotIndexedError(CatalogError):
    """Something names data objects that are not (or no longer) indexed."""
