#!/usr/bin/env bash
# A guided tour of ldb on the bundled examples.
#
# Runs against a TEMPORARY instance and a temporary HOME, so your real ~/.ldb is never touched;
# everything is deleted on exit. Set LDB to try another build, e.g.
#   LDB=/path/to/other/ldb bash examples/quickstart.sh
set -euo pipefail

ldb() { command "${LDB:-ldb}" "$@"; }

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" LDB_DIR="$work/instance"
mkdir -p "$HOME"

echo "== init a temporary instance at $LDB_DIR =="
ldb init "$LDB_DIR"

echo "== add-storage $here =="
ldb add-storage "$here"

echo "== index strict-pairs (image + same-named .json; unannotated images are skipped) =="
ldb index --format strict --add-tags examples "$here/strict-pairs"

echo "== index bare-pairs (also picks up the 2 images without annotations) =="
ldb index --format bare "$here/strict-pairs"

echo "== index class-folders (label inferred from the folder path) =="
ldb index --format infer "$here/class-folders"

echo "== index a Label Studio export (image paths relative to annotations.json) =="
ldb index --format label-studio "$here/label-studio/annotations.json"

echo "== index annotation-only files (new annotation versions for strict-pairs objects) =="
ldb index --format annot "$here/annotation-only"

echo "== index a platform dataset (annotations.json + meta.json + images/; 2 of 4 labelled) =="
ldb index "$here/platform"

echo "== index it again: meta.json's content_hash is unchanged, so annotations.json is skipped =="
ldb index "$here/platform"

echo "== index text documents (the seed's Korean sample has 3 entities off by one: warnings) =="
ldb index -m text "$here/text"

echo "== documents with an ORG entity =="
ldb eval ds:root --path '\.txt$' --query "contains(annotations.text_1[?tool=='named_entity'].classification.entity_type, 'ORG')" --show 'extra.text_1.language'

echo "== list ds:root =="
ldb list ds:root

echo "== list ds:root -s (summary) =="
ldb list ds:root -s

echo "== status ds:root =="
ldb status ds:root

echo "== eval -j ds:root (current annotation of every object; first 40 lines shown) =="
ldb eval -j ds:root > "$work/eval.json"
head -n 40 "$work/eval.json"
echo "... ($(wc -l < "$work/eval.json") lines in total)"

echo "== list --json ds:root =="
ldb list --json ds:root | python3 -c 'import json,sys; print(len(json.load(sys.stdin)), "objects as JSON")'

echo "== a dataset: stage, add the cats, commit =="
mkdir "$work/pets"
cd "$work/pets"
ldb stage ds:pets
ldb add ds:root --query 'label == `cat`'
ldb commit -m "cats"
ldb status

echo "== instantiate ds:pets as strict pairs, and convert every labelled object to class folders =="
ldb instantiate -m strict -t "$work/pets-strict" ds:pets
ls "$work/pets-strict"
ldb instantiate -m infer -t "$work/by-class" ds:root --query 'label != `null`'
(cd "$work/by-class" && find . -type f | sort)

echo "== convert: the strict-pairs boxes to YOLO (images/, labels/, data.yaml) and COCO =="
ldb instantiate ds:root --path 'strict-pairs/' --query 'length(boxes) > `0`' -m yolo -t "$work/yolo"
cat "$work/yolo/data.yaml"
ldb instantiate ds:root --path 'strict-pairs/' --query 'length(boxes) > `0`' -m coco -t "$work/coco"
python3 -c 'import json,sys
for f in sorted(sys.argv[1:]):
    d = json.load(open(f)); print(f.rsplit("/", 1)[1] + ":", len(d["images"]), "images,", len(d["annotations"]), "boxes,", [c["name"] for c in d["categories"]])' "$work"/coco/annotations/instances_*.json

echo "== the platform dataset again, labelled images only, with computed statistics =="
ldb instantiate ds:root -m platform --query 'annotation != `null`' -t "$work/labelled"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statistics"])' "$work/labelled/meta.json"

echo "== get: one step from a query to files in a new folder =="
cd "$work"
ldb get ds:root --query 'label == `dog`' -m annot -t "$work/dogs"
ls "$work/dogs"

echo "== what the instance holds: ldb stats (labels, boxes per class, entities, splits) =="
ldb stats ds:root

echo "== a page to look at: ldb view writes index.html and thumbnails (opens offline) =="
ldb view ds:root -o "$work/view"
ls "$work/view" | head -n 5
