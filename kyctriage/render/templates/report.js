// The image table: rows come from the JSON data island and are drawn one page at a time
// with DOM calls only (textContent, never HTML strings), so no evidence text is parsed as markup.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const rows = data.rows;
  const multiRoot = data.roots.length > 1;
  const state = { verdict: "", status: "", query: "", key: "i", dir: 1, page: 0, size: 100 };
  const open = new Set();
  const body = document.getElementById("image-rows");
  const byId = (id) => document.getElementById(id);
  let view = rows;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function haystack(r) {
    if (r._hay === undefined) {
      const parts = [r.p, r.v, r.mk, r.md, r.sw, r.h, r.t, r.ts, r.e, r.f];
      r.why.forEach((w) => parts.push(w[1]));
      r.wm.forEach((w) => parts.push(w));
      r._hay = parts.join("\n").toLowerCase();
    }
    return r._hay;
  }

  function compare(a, b) {
    const x = a[state.key], y = b[state.key];
    const xEmpty = x === null || x === "", yEmpty = y === null || y === "";
    if (xEmpty !== yEmpty) return xEmpty ? 1 : -1;
    if (x < y) return -state.dir;
    if (x > y) return state.dir;
    return a.i - b.i;
  }

  function refilter() {
    const q = state.query.trim().toLowerCase();
    view = rows.filter((r) =>
      (!state.verdict || r.v === state.verdict) &&
      (!state.status || r.s === state.status) &&
      (!q || haystack(r).indexOf(q) >= 0));
    view.sort(compare);
    state.page = 0;
    draw();
  }

  function thumbCell(r) {
    const td = el("td", "thumb-col");
    if (r.th) {
      const img = el("img", "thumb thumb-" + data.thumbnails);
      img.alt = "";
      img.width = 56;
      img.height = 56;
      img.loading = "lazy";
      img.src = "data:image/jpeg;base64," + r.th;
      td.appendChild(img);
    } else if (r.s === "ok") {
      td.appendChild(el("span", "thumb none"));
    }
    return td;
  }

  function fileCell(r) {
    const td = el("td", "file");
    td.appendChild(el("span", "path", (multiRoot ? data.roots[r.r] + " : " : "") + r.p));
    const sub = r.s === "ok" ? r.f : r.s + ": " + r.e;
    td.appendChild(el("span", r.s === "ok" ? "sub" : "sub err", sub));
    if (Object.keys(r.d).length) {
      const more = el("button", "more", open.has(r.i) ? "hide details" : "details");
      more.type = "button";
      more.addEventListener("click", () => {
        if (open.has(r.i)) open.delete(r.i); else open.add(r.i);
        draw();
      });
      td.appendChild(more);
    }
    return td;
  }

  function listCell(items, cls, render) {
    const td = el("td");
    if (!items.length) return td;
    const ul = el("ul", cls);
    items.forEach((item) => ul.appendChild(render(item)));
    td.appendChild(ul);
    return td;
  }

  function reason(w) {
    const li = el("li");
    li.appendChild(el("span", "ev", w[0]));
    li.appendChild(document.createTextNode(" " + w[1]));
    return li;
  }

  function verdictCell(r) {
    const td = el("td");
    if (!r.v) return td;
    const v = el("span", "verdict");
    v.appendChild(el("span", "swatch " + r.vs));
    v.appendChild(document.createTextNode(r.v));
    td.appendChild(v);
    td.appendChild(el("span", "sub conf", r.c + " confidence"));
    return td;
  }

  function timeCell(r) {
    const td = el("td");
    if (!r.t) return td;
    const [day, time] = r.t.split(" ");
    const when = el("span", "mono");
    when.appendChild(el("span", "nowrap", day));
    if (time) when.appendChild(document.createTextNode(" "));
    if (time) when.appendChild(el("span", "nowrap", time));
    td.appendChild(when);
    td.appendChild(el("span", "sub", r.ts + ", " + r.tz));
    return td;
  }

  function cameraCell(r) {
    const td = el("td");
    const camera = [r.mk, r.md].filter(Boolean).join(" ");
    if (camera) td.appendChild(el("span", "", camera));
    if (r.sw) td.appendChild(el("span", "sub", r.sw));
    return td;
  }

  function detailTable(title, rowsOf) {
    const frag = document.createDocumentFragment();
    frag.appendChild(el("h4", "", title));
    const table = el("table");
    rowsOf.forEach((cells) => {
      const tr = el("tr");
      cells.forEach((c) => tr.appendChild(el("td", "", c)));
      table.appendChild(tr);
    });
    frag.appendChild(table);
    return frag;
  }

  function detailRow(r) {
    const tr = el("tr", "detail");
    const td = el("td");
    td.colSpan = document.querySelectorAll("#image-table thead th").length;
    const d = r.d;
    if (d.times) td.appendChild(detailTable("Time sources (source, value, zone, trust, note)", d.times));
    if (d.exif) td.appendChild(detailTable("Metadata text", d.exif));
    if (d.history) td.appendChild(detailTable("XMP edit history (when, action, software)", d.history));
    if (d.iptc) td.appendChild(detailTable("IPTC", d.iptc));
    if (d.xmp) td.appendChild(detailTable("XMP", d.xmp));
    if (d.metadata) td.appendChild(detailTable("All metadata, merged as exiftool -G1 shows it (group, tag, value)", d.metadata));
    if (d.telegram) td.appendChild(detailTable("Telegram message", d.telegram));
    if (d.messenger) td.appendChild(detailTable("Messenger", [["re-encode", d.messenger]]));
    if (d.warnings) td.appendChild(detailTable("Warnings", d.warnings.map((w) => [w])));
    tr.appendChild(td);
    return tr;
  }

  function rowFor(r) {
    const tr = el("tr");
    tr.dataset.index = String(r.i);
    tr.appendChild(el("td", "num", r.i + 1));
    if (data.thumbnails !== "none") tr.appendChild(thumbCell(r));
    tr.appendChild(fileCell(r));
    tr.appendChild(verdictCell(r));
    tr.appendChild(listCell(r.why, "reasons", reason));
    tr.appendChild(timeCell(r));
    if (data.watermarks) tr.appendChild(listCell(r.wm, "marks", (w) => el("li", "", w)));
    tr.appendChild(cameraCell(r));
    tr.appendChild(el("td", "num", r.q === null ? "" : r.q));
    tr.appendChild(el("td", "hash", r.h));
    return tr;
  }

  function draw() {
    const size = state.size || view.length || 1;
    const pages = Math.max(1, Math.ceil(view.length / size));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * size;
    const slice = view.slice(start, start + size);
    const frag = document.createDocumentFragment();
    slice.forEach((r) => {
      frag.appendChild(rowFor(r));
      if (open.has(r.i)) frag.appendChild(detailRow(r));
    });
    body.replaceChildren(frag);
    const shownText = view.length
      ? "Showing " + (start + 1) + "\u2013" + (start + slice.length) + " of " + view.length +
        " matching files (" + rows.length + " in the report)"
      : "No file matches (" + rows.length + " in the report)";
    const filters = [];
    if (state.verdict) filters.push("verdict " + state.verdict);
    if (state.status) filters.push("status " + state.status);
    if (state.query.trim()) filters.push("search \u201c" + state.query.trim() + "\u201d");
    byId("shown").textContent = shownText + (filters.length ? "; filter: " + filters.join(", ") : "") + ".";
    byId("page-of").textContent = "Page " + (state.page + 1) + " of " + pages;
    byId("prev").disabled = state.page === 0;
    byId("next").disabled = state.page >= pages - 1;
  }

  document.querySelectorAll("th[data-key]").forEach((th) => {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      state.dir = state.key === key ? -state.dir : 1;
      state.key = key;
      document.querySelectorAll("th[data-key]").forEach((o) => o.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", state.dir === 1 ? "ascending" : "descending");
      refilter();
    });
  });
  byId("f-verdict").addEventListener("change", (e) => { state.verdict = e.target.value; refilter(); });
  byId("f-status").addEventListener("change", (e) => { state.status = e.target.value; refilter(); });
  byId("f-size").addEventListener("change", (e) => { state.size = Number(e.target.value); state.page = 0; draw(); });
  let typing = 0;
  byId("f-query").addEventListener("input", (e) => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.query = e.target.value; refilter(); }, 150);
  });
  byId("prev").addEventListener("click", () => { state.page -= 1; draw(); });
  byId("next").addEventListener("click", () => { state.page += 1; draw(); });
  refilter();
})();
