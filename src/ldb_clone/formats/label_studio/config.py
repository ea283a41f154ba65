"""``label_config.xml``: the labelling config of the tasks ``instantiate -m label-studio``
writes, so that a project can be created from it in one step.

It holds one object tag per ``to_name`` the results use (``<Image>`` for image regions,
``<Text>`` for spans and for text tasks) bound to the task's data key (``value="$image"``),
and one control per ``from_name`` with every value the tasks use: ``<Choices>``,
``<RectangleLabels>``, ``<Labels>`` (and the other ``*labels`` controls), plus
``<Relations>`` with the relation labels. Names are the ones in the tasks, so a config
written for tasks that came from Label Studio matches the project they came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

FILE_NAME = "label_config.xml"

# result type -> (control tag, value tag, key of value holding the values)
LABEL_CONTROLS = {
    "choices": ("Choices", "Choice", "choices"),
    "labels": ("Labels", "Label", "labels"),
    "rectanglelabels": ("RectangleLabels", "Label", "rectanglelabels"),
    "polygonlabels": ("PolygonLabels", "Label", "polygonlabels"),
    "keypointlabels": ("KeyPointLabels", "Label", "keypointlabels"),
    "ellipselabels": ("EllipseLabels", "Label", "ellipselabels"),
    "brushlabels": ("BrushLabels", "Label", "brushlabels"),
    "hypertextlabels": ("HyperTextLabels", "Label", "htmllabels"),
}
# result types that only need the control itself
PLAIN_CONTROLS = {"textarea": "TextArea", "rating": "Rating", "number": "Number"}
IMAGE_RESULTS = {
    "rectanglelabels",
    "polygonlabels",
    "keypointlabels",
    "ellipselabels",
    "brushlabels",
    "rectangle",
    "polygon",
    "keypoint",
    "ellipse",
    "brush",
}
OBJECT_TAGS = {
    "labels": "Text",
    "hypertextlabels": "HyperText",
    **dict.fromkeys(IMAGE_RESULTS, "Image"),
}


@dataclass
class Control:
    tag: str
    to_name: str
    value_tag: str | None = None
    values: set[str] = field(default_factory=set)
    multiple: bool = False  # a Choices result with several choices


@dataclass
class LabelConfig:
    """Collects what the tasks use, then writes the XML."""

    objects: dict[str, list[str | None]] = field(default_factory=dict)  # name -> [tag, key]
    controls: dict[str, Control] = field(default_factory=dict)
    relations: set[str] = field(default_factory=set)
    has_relations: bool = False
    unknown: dict[str, int] = field(default_factory=dict)  # result type -> count

    def add_task(self, task: dict[str, Any], default_object: tuple[str, str, str]) -> None:
        """Record a task's results (annotations and predictions). ``default_object``:
        (name, tag, data key) of the object the task shows when its results do not say
        (``("image", "Image", "image")``)."""
        name, tag, key = default_object
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        for result in _results(task):
            self._result(result, data, key)
        self._object(name, tag, key)

    def _object(self, name: str, tag: str | None, key: str) -> None:
        entry = self.objects.setdefault(name, [None, key])
        if tag is not None and entry[0] is None:
            entry[0] = tag

    def _result(self, result: dict[str, Any], data: dict[str, Any], default_key: str) -> None:
        kind = result.get("type")
        if kind == "relation":
            self.has_relations = True
            self.relations.update(_strings(result.get("labels")))
            return
        from_name, to_name = result.get("from_name"), result.get("to_name")
        if not (isinstance(kind, str) and isinstance(from_name, str) and isinstance(to_name, str)):
            return
        self._object(to_name, OBJECT_TAGS.get(kind), to_name if to_name in data else default_key)
        if kind in LABEL_CONTROLS:
            tag, value_tag, values_key = LABEL_CONTROLS[kind]
        elif kind in PLAIN_CONTROLS:
            tag, value_tag, values_key = PLAIN_CONTROLS[kind], None, None
        else:
            self.unknown[kind] = self.unknown.get(kind, 0) + 1
            return
        control = self.controls.setdefault(from_name, Control(tag, to_name, value_tag))
        if control.tag != tag:
            self.unknown[kind] = self.unknown.get(kind, 0) + 1
            return
        value = result.get("value") if isinstance(result.get("value"), dict) else {}
        values = _strings(value.get(values_key)) if values_key else []
        control.values.update(values)
        control.multiple = control.multiple or (kind == "choices" and len(values) > 1)

    def xml(self) -> str:
        lines = ["<View>"]
        for name, (tag, key) in self._shown_objects().items():
            value = quoteattr(f"${key}")
            lines.append(f"  <{tag or 'Image'} name={quoteattr(name)} value={value}/>")
            for from_name, control in self.controls.items():
                if control.to_name == name:
                    lines += _control_lines(from_name, control)
        if self.has_relations:
            lines += _values_block("Relations", "", "Relation", self.relations)
        lines.append("</View>")
        return "\n".join(lines) + "\n"

    def _shown_objects(self) -> dict[str, list[str | None]]:
        """The objects, less a default one that no control labels when another object
        shows the same data key (tasks without results next to tasks that name it)."""
        labelled = {control.to_name for control in self.controls.values()}
        keys = {key for name, (_, key) in self.objects.items() if name in labelled}
        return {
            name: entry
            for name, entry in self.objects.items()
            if name in labelled or entry[1] not in keys
        }


def _control_lines(from_name: str, control: Control) -> list[str]:
    attrs = f" name={quoteattr(from_name)} toName={quoteattr(control.to_name)}"
    if control.multiple:
        attrs += ' choice="multiple"'
    if control.value_tag is None:
        return [f"  <{control.tag}{attrs}/>"]
    return _values_block(control.tag, attrs, control.value_tag, control.values)


def _values_block(tag: str, attrs: str, value_tag: str, values: Iterable[str]) -> list[str]:
    values = sorted(values)
    if not values:
        return [f"  <{tag}{attrs}/>"]
    return [
        f"  <{tag}{attrs}>",
        *(f"    <{value_tag} value={quoteattr(v)}/>" for v in values),
        f"  </{tag}>",
    ]


def _results(task: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for key in ("annotations", "predictions"):
        entries = task.get(key)
        for entry in entries if isinstance(entries, list) else []:
            results = entry.get("result") if isinstance(entry, dict) else None
            for result in results if isinstance(results, list) else []:
                if isinstance(result, dict):
                    yield result


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
