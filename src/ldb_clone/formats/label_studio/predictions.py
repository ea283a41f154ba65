"""``-p as=predictions``: tasks whose labels Label Studio shows as pre-annotations.

Imported ``annotations`` are finished ground truth in Label Studio (the labelling queue
is then empty); ``predictions`` are suggestions a labeller accepts or corrects. Model
output (a YOLO box with a confidence, a classification with a score) belongs in the
second. The task's labels (its last annotation that was not cancelled) become one
prediction ``{"model_version", "result", "score"}``; ``score`` is the lowest confidence
of its results (the least sure region decides how much the task needs a labeller), and
is left out when no result has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.label_studio import (
    ANNOTATIONS,
    AS,
    DEFAULT_MODEL_VERSION,
    MODEL_VERSION,
    PREDICTIONS,
)


def refuse_on_index(params: dict[str, str]) -> None:
    """``as`` and ``model-version`` say how instantiate writes tasks: given to index, they
    would be ignored, so they are an error there."""
    for key in (AS, MODEL_VERSION):
        if key in params:
            raise FormatError(
                f"Parameter {key} is for instantiate -m label-studio (it says how tasks are "
                "written), not for index"
            )


@dataclass(frozen=True)
class LabelsAs:
    """Where the tasks' labels go: ``predictions`` (with ``model_version``) or not."""

    predictions: bool = False
    model_version: str = DEFAULT_MODEL_VERSION

    @classmethod
    def from_params(cls, params: dict[str, str]) -> LabelsAs:
        kind = params.get(AS, ANNOTATIONS).strip().lower()
        if kind not in (ANNOTATIONS, PREDICTIONS):
            raise FormatError(
                f"Invalid value for parameter {AS}: {params[AS]!r} (expected {ANNOTATIONS} "
                f"or {PREDICTIONS})"
            )
        version = params.get(MODEL_VERSION)
        if version is not None and kind != PREDICTIONS:
            raise FormatError(
                f"Parameter {MODEL_VERSION} needs -p {AS}={PREDICTIONS} (annotations have no "
                "model version)"
            )
        if version is not None and not version.strip():
            raise FormatError(f"Invalid value for parameter {MODEL_VERSION}: empty")
        return cls(kind == PREDICTIONS, version.strip() if version else DEFAULT_MODEL_VERSION)

    def apply(self, task: dict[str, Any]) -> dict[str, Any]:
        """The task as written: unchanged for annotations; else its labels moved into a
        prediction (predictions it already had are kept)."""
        if not self.predictions:
            return task
        annotations = task.get("annotations")
        if not isinstance(annotations, list):
            annotations = task.get("completions")
        chosen = _labels(annotations)
        task = {k: v for k, v in task.items() if k not in ("annotations", "completions")}
        if chosen is None:
            return task
        prediction: dict[str, Any] = {"model_version": self.model_version, "result": chosen}
        score = lowest_score(chosen)
        if score is not None:
            prediction["score"] = score
        kept = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
        task["predictions"] = [*kept, prediction]
        return task


def _labels(annotations: Any) -> list[dict[str, Any]] | None:
    """The results of the last annotation that was not cancelled, if it has any."""
    for annotation in reversed(annotations if isinstance(annotations, list) else []):
        if isinstance(annotation, dict) and not annotation.get("was_cancelled"):
            result = annotation.get("result")
            return result if isinstance(result, list) and result else None
    return None


def lowest_score(results: list[Any]) -> float | None:
    scores = [
        r["score"]
        for r in results
        if isinstance(r, dict)
        and isinstance(r.get("score"), int | float)
        and not isinstance(r.get("score"), bool)
    ]
    return min(scores) if scores else None
