"""ldb view of objects in S3 (moto on loopback): thumbnails are fetched through the
storage layer, and --copy downloads the full files."""

from __future__ import annotations

import json

from PIL import Image

from tests.test_s3 import add_location, pets


def test_s3_objects_get_thumbnails_and_copies(ldb, s3, tmp_path):
    images = pets(s3)
    add_location(ldb, s3)
    ldb("index", "-m", "bare", f"s3://{s3.bucket}/data", check=True)
    out = tmp_path / "site"
    ldb("view", "ds:root", "--copy", "-o", str(out), check=True)
    text = (out / "data.js").read_text(encoding="utf-8")
    objects = json.loads(text[text.index("{") :].rstrip().rstrip(";"))["objects"]
    assert len(objects) == len(images)
    copies = {(out / o["h"]).read_bytes() for o in objects}
    assert copies == set(images.values())
    for record in objects:
        assert record["s"] == [8, 8]
        with Image.open(out / "thumbs" / f"{record['i']}.jpg") as thumb:
            assert thumb.size == (8, 8)
    labels = sorted(o.get("l") or "" for o in objects)
    assert labels == ["", "cat", "cat", "dog", "dog"]
