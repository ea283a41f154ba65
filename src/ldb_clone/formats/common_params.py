"""Parameters several formats declare (class lists, random splits), importable without
the code that reads them (``classes``, ``splits``) so that declarations stay light."""

from __future__ import annotations

from ldb_clone.formats.declaration import Param

CLASSES_PARAM = "classes"
CLASSES_FILE_PARAM = "classes-file"
CLASS_PARAMS = {
    CLASSES_PARAM: "instantiate: the class list in id order, comma-separated "
    "(default: the sources' own)",
    CLASSES_FILE_PARAM: "instantiate: a text file with the class list in id order, one name a line",
}

SPLIT_PARAM = "split"
SEED_PARAM = "seed"
SPLIT_PARAMS = {
    SPLIT_PARAM: "split the objects that have no split at random, by fraction: train:0.8,val:0.2",
    SEED_PARAM: Param("the seed of that random split", "0"),
}
