"""index.html: one self-contained page (inline CSS, script and SVG) over data.js.

The objects are in ``data.js`` (``window.LDB_VIEW = {...}``), loaded by a plain
``<script src>`` so that the page works from the file system, where fetch() is refused.
The script renders one page of cards at a time and filters by label client-side.
Hooks for tests and scripts: ``data-object-id`` on each card, ``data-box-label`` on each
drawn box, ``data-entity-type`` on each highlighted entity, ``data-change`` on cards of
a ``--diff`` view.
"""

from __future__ import annotations

from html import escape

PAGE_SIZE = 120

CSS = """
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f4f5f7}
header{padding:12px 18px;background:#1d2430;color:#fff}
header h1{font-size:18px;margin:0 0 4px}
header .counts span{margin-right:16px}
#charts{display:flex;flex-wrap:wrap;gap:8px 24px;padding:10px 18px;background:#fff;
  border-bottom:1px solid #dde}
.chart{margin:0}.chart figcaption{font-weight:600;margin-bottom:2px}
.chart svg{font-size:11px;display:block}
#controls{padding:10px 18px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px;
  padding:0 18px 18px}
.card{background:#fff;border:1px solid #dde;border-radius:6px;overflow:hidden;
  display:flex;flex-direction:column}
.card[data-change="+"]{border:2px solid #2a9d4b}
.card[data-change="-"]{border:2px solid #d1393b;opacity:.75}
.card[data-change="m"]{border:2px solid #e0a020}
.change{font-weight:700;margin-right:6px}
.media{position:relative;display:block;width:100%;background:#e9ebef}
.media img,.media svg{position:absolute;inset:0;width:100%;height:100%}
.media svg rect{fill:none;stroke-width:2;vector-effect:non-scaling-stroke}
.media svg text{paint-order:stroke;stroke:#fff;stroke-width:3px;
  vector-effect:non-scaling-stroke}
.placeholder{padding:30px 8px;text-align:center;color:#778;background:#e9ebef}
.text{padding:8px;max-height:260px;overflow:auto;white-space:pre-wrap;font-size:13px}
mark{border-radius:3px;padding:0 1px}
mark::after{content:attr(data-entity-type);font-size:9px;vertical-align:super;
  margin-left:2px;opacity:.7}
.meta{padding:6px 8px;font-size:12px;border-top:1px solid #eef}
.meta .label{font-weight:600}
.meta code{color:#667;font-size:11px}
.meta ul{margin:4px 0 0;padding-left:16px}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var D = window.LDB_VIEW;
  var grid = document.getElementById("grid");
  var pager = document.getElementById("pager");
  var labelFilter = document.getElementById("label-filter");
  var changeFilter = document.getElementById("change-filter");
  var SVG = "http://www.w3.org/2000/svg";
  var CHANGES = {"+": "added", "-": "removed", "m": "changed"};
  var shown = D.objects, page = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function color(name) { return D.colors[name] || "#e6194b"; }
  function annotation(id) { return "annotations/" + id + ".json"; }

  function boxes(o) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + o.s[0] + " " + o.s[1]);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.style.fontSize = Math.max(o.s[0], o.s[1]) / 16 + "px";  // in image pixels
    (o.b || []).forEach(function (b) {
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", b[1]); rect.setAttribute("y", b[2]);
      rect.setAttribute("width", b[3]); rect.setAttribute("height", b[4]);
      rect.setAttribute("stroke", color(b[0]));
      rect.setAttribute("data-box-label", b[0]);
      var title = document.createElementNS(SVG, "title");
      title.textContent = b[0];
      rect.appendChild(title);
      var text = document.createElementNS(SVG, "text");
      text.setAttribute("x", b[1]); text.setAttribute("y", Math.max(b[2] - 2, 10));
      text.setAttribute("fill", color(b[0]));
      text.textContent = b[0];
      svg.appendChild(rect); svg.appendChild(text);
    });
    return svg;
  }

  function card(o) {
    var c = el("div", {"class": "card", "data-object-id": o.i});
    if (o.c) c.setAttribute("data-change", o.c);
    if (o.m) {
      var thumb = "thumbs/" + o.i + ".jpg";
      var a = el("a", {"class": "media", href: o.h || thumb, target: "_blank"});
      a.style.aspectRatio = o.s[0] + " / " + o.s[1];
      a.appendChild(el("img", {src: thumb, loading: "lazy", alt: o.l || o.i}));
      a.appendChild(boxes(o));
      c.appendChild(a);
    } else if (o.x) {
      var t = el("div", {"class": "text"});
      o.x.forEach(function (piece) {
        if (piece[1] === null) { t.appendChild(document.createTextNode(piece[0])); return; }
        var mark = el("mark", {"data-entity-type": piece[1]}, piece[0]);
        mark.style.background = color(piece[1]) + "55";
        t.appendChild(mark);
      });
      c.appendChild(t);
    } else {
      c.appendChild(el("div", {"class": "placeholder"}, (o.t || "file") + " (no preview)"));
    }
    var meta = el("div", {"class": "meta"});
    if (o.c) meta.appendChild(el("span", {"class": "change"}, CHANGES[o.c]));
    if (o.l) meta.appendChild(el("span", {"class": "label"}, o.l + " "));
    meta.appendChild(el("code", {title: o.i}, o.i.slice(0, 12)));
    meta.appendChild(document.createTextNode(" "));
    if (o.h) meta.appendChild(el("a", {href: o.h, target: "_blank"}, "file"));
    if (o.a) {
      meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(el("a", {href: annotation(o.a), target: "_blank"}, "annotation"));
    }
    if (o.o) {
      meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(el("a", {href: annotation(o.o), target: "_blank"}, "before"));
    }
    if (o.r) {
      var list = el("ul", {"class": "relations"});
      o.r.forEach(function (r) {
        list.appendChild(el("li", {}, r[1] + " → " + r[2] + " (" + r[0] + ")"));
      });
      meta.appendChild(list);
    }
    c.appendChild(meta);
    return c;
  }

  function render() {
    var pages = Math.max(1, Math.ceil(shown.length / D.pageSize));
    page = Math.min(page, pages - 1);
    var start = page * D.pageSize;
    var frag = document.createDocumentFragment();
    shown.slice(start, start + D.pageSize).forEach(function (o) { frag.appendChild(card(o)); });
    grid.replaceChildren(frag);
    pager.textContent = shown.length ? "objects " + (start + 1) + "–" +
      Math.min(start + D.pageSize, shown.length) + " of " + shown.length +
      " (page " + (page + 1) + " of " + pages + ")" : "no objects";
  }

  function applyFilters() {
    var label = labelFilter.value, change = changeFilter ? changeFilter.value : "";
    shown = D.objects.filter(function (o) {
      if (label && (o.f || []).indexOf(label) < 0) return false;
      if (change && (o.c || "=") !== change) return false;
      return true;
    });
    page = 0;
    render();
  }

  D.labels.forEach(function (name) { labelFilter.appendChild(el("option", {value: name}, name)); });
  labelFilter.addEventListener("change", applyFilters);
  if (changeFilter) changeFilter.addEventListener("change", applyFilters);
  document.getElementById("prev").addEventListener("click", function () {
    if (page > 0) { page--; render(); window.scrollTo(0, 0); }
  });
  document.getElementById("next").addEventListener("click", function () {
    if ((page + 1) * D.pageSize < shown.length) { page++; render(); window.scrollTo(0, 0); }
  });
  render();
})();
"""

CHANGE_FILTER = """<label>change <select id="change-filter"><option value="">any</option>
<option value="+">added</option><option value="-">removed</option>
<option value="m">changed</option><option value="=">unchanged</option></select></label>"""


def index_html(title: str, counts: list[tuple[str, str]], charts: str, diff: bool) -> str:
    shown = "".join(
        f"<span>{escape(name)}: <b>{escape(value)}</b></span>" for name, value in counts
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{escape(title)}</h1><div class="counts">{shown}</div></header>
<section id="charts">{charts}</section>
<div id="controls">
<label>label <select id="label-filter"><option value="">all</option></select></label>
{CHANGE_FILTER if diff else ""}
<button id="prev" type="button">‹ previous</button>
<button id="next" type="button">next ›</button>
<span id="pager"></span>
</div>
<main id="grid"></main>
<noscript>This page needs JavaScript to show the objects (data.js).</noscript>
<script src="data.js"></script>
<script>{SCRIPT}</script>
</body>
</html>
"""
