// An endpoint's documentation: the interactive OpenAPI reference
// (Redoc), the Markdown rendered safely, the list of versions with what
// changed between two of them, and the exports.

import { api, download } from "/assets/api.js";
import { renderMarkdown } from "/assets/markdown.js";
import { renderOpenApi } from "/assets/openapi-view.js";
import {
	h, replace, loading, empty, errorBox, busy, statusBadge, num, ms,
	dateTime, tabs, alertBox, toast, table,
} from "/assets/ui.js";

const TABS = [
	{ id: "reference", label: "API reference" },
	{ id: "markdown", label: "Markdown" },
	{ id: "versions", label: "Versions & changes" },
	{ id: "exports", label: "Exports" },
];

// The versions list may come as an array or as {items: [...]}.
function versionList(r) {
	const list = Array.isArray(r) ? r : (r && (r.items || r.versions)) || [];
	return list.slice().sort((a, b) => b.version - a.version);
}

// format=openapi may answer the document itself or wrap it.
function openapiOf(r) {
	if (r && typeof r.openapi === "string")
		return r;
	if (r && r.openapi && typeof r.openapi === "object")
		return r.openapi;
	if (r && r.document)
		return r.document;
	return r;
}

function markdownOf(r) {
	if (typeof r === "string")
		return r;
	return (r && (r.markdown || r.content)) || "";
}

export default async function docsView(root, ctx) {
	const id = ctx.params.id;
	const base = `/api/endpoints/${encodeURIComponent(id)}`;
	const tab = ctx.query.get("tab") || "reference";
	let ep, versions;
	try {
		[ep, versions] = await Promise.all([api.get(base),
		    api.get(`${base}/docs/versions`).then(versionList)]);
	} catch (err) {
		root.append(h("h1", "Documentation"), errorBox(err),
		    h("p", h("a", { href: `/endpoints/${id}` },
			"Back to the endpoint")));
		return;
	}
	ctx.setTitle(`${ep.name} · documentation`);

	const head = h("div.page-head",
	    h("div", h("h1", `${ep.name}: documentation`),
		h("p.small", h("a", { href: `/endpoints/${id}` },
		    "← Back to the endpoint"))));
	root.append(head);

	if (versions.length === 0) {
		root.append(empty("No documentation yet",
		    ep.status === "PROCESSING" ?
		    "It is being generated; this page shows it when it is done." :
		    "Capture some calls, then press Generate documentation on " +
		    "the endpoint page.",
		    h("a.btn", { href: `/endpoints/${id}` }, "Go to the endpoint")));
		// Being generated: look again until the first version is in.
		if (ep.status === "PROCESSING") {
			const t = setTimeout(() => ctx.alive() &&
			    ctx.navigate(location.pathname + location.search,
			    { replace: true }), 2000);
			ctx.onLeave(() => clearTimeout(t));
		}
		return;
	}

	let current = Number(ctx.query.get("version")) || versions[0].version;
	if (!versions.some((v) => v.version === current))
		current = versions[0].version;

	const picker = h("select#version-picker", { "aria-label": "Version" },
	    versions.map((v) => h("option", { value: String(v.version),
		selected: v.version === current },
		`Version ${v.version} · ${dateTime(v.generatedAt)}`)));
	head.append(h("div.actions", h("label.visually-hidden",
	    { for: "version-picker" }, "Version"), picker));

	const meta = h("div");
	const panel = h("div", { role: "tabpanel" });
	const cache = new Map();
	let selected = TABS.some((t) => t.id === tab) ? tab : "reference";
	const bar = tabs(TABS, (t) => {
		selected = t;
		panel.setAttribute("aria-labelledby", `tab-${t}`);
		const u = new URL(location.href);
		u.searchParams.set("tab", t);
		history.replaceState(null, "", u.pathname + u.search);
		show();
	}, selected);
	root.append(meta, bar, panel);

	picker.addEventListener("change", () => {
		current = Number(picker.value);
		const u = new URL(location.href);
		u.searchParams.set("version", String(current));
		history.replaceState(null, "", u.pathname + u.search);
		show();
	});

	function fetchDoc(format) {
		const key = `${format}:${current}`;
		if (!cache.has(key)) {
			const p = api.get(`${base}/docs`, { format,
			    version: current }).catch((err) => {
				cache.delete(key);
				throw err;
			});
			cache.set(key, p);
		}
		return cache.get(key);
	}

	function renderMeta() {
		const v = versions.find((x) => x.version === current) || {};
		const ai = v.aiStatus || v.ai_status;
		replace(meta, h("div.card", { style: "margin-bottom:1rem" },
		    h("dl.kv",
			h("dt", "Version"), h("dd", String(v.version)),
			h("dt", "Generated"), h("dd", dateTime(v.generatedAt)),
			v.callsAnalysed !== undefined ? [h("dt", "Calls analysed"),
			    h("dd", num(v.callsAnalysed))] : null,
			v.generationMs !== undefined ? [h("dt", "Generation time"),
			    h("dd", ms(v.generationMs))] : null,
			ai ? [h("dt", "Descriptions"), h("dd", statusBadge(ai), " ",
			    ai === "used" ? `written by ${v.model || "the model"}` :
			    ai === "disabled" ? "no language model is configured; " +
			    "inferred from traffic only" :
			    "the language model failed; inferred from traffic " +
			    "only")] : null)));
	}

	async function show() {
		renderMeta();
		const want = `${selected}:${current}`;
		replace(panel, loading());
		const stillWanted = () => ctx.alive() &&
		    `${selected}:${current}` === want;
		try {
			if (selected === "reference") {
				const spec = openapiOf(await fetchDoc("openapi"));
				if (!stillWanted())
					return;
				const host = h("div.redoc-host#redoc",
				    loading("Rendering the reference…"));
				replace(panel, host);
				await renderOpenApi(host, spec);
			} else if (selected === "markdown") {
				const md = markdownOf(await fetchDoc("markdown"));
				const el = await renderMarkdown(md);
				if (stillWanted())
					replace(panel, h("div.card", el));
			} else if (selected === "versions") {
				if (stillWanted())
					replace(panel, versionsPanel(base, versions, current));
			} else {
				if (stillWanted())
					replace(panel, exportsPanel(base, ep, current,
					    fetchDoc));
			}
		} catch (err) {
			if (stillWanted())
				replace(panel, errorBox(err, show));
		}
	}
	show();
}

function versionsPanel(base, versions, current) {
	const from = h("select#diff-from", versions.map((v) =>
	    h("option", { value: String(v.version),
		selected: v.version === (versions[1] || versions[0]).version },
		`Version ${v.version}`)));
	const to = h("select#diff-to", versions.map((v) =>
	    h("option", { value: String(v.version),
		selected: v.version === current }, `Version ${v.version}`)));
	const go = h("button.btn", { type: "submit" }, "Compare");
	const out = h("div#diff-result");
	const form = h("form.filters",
	    h("div.field", h("label", { for: "diff-from" }, "From"), from),
	    h("div.field", h("label", { for: "diff-to" }, "To"), to), go);
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		busy(go, async () => {
			const d = await api.get(`${base}/docs/diff`,
			    { from: from.value, to: to.value });
			replace(out, diffView(d));
		}, out);
	});
	return h("div",
	    table(["Version", "Generated", "Calls", "Descriptions"],
		versions.map((v) => h("tr",
		    h("td", `Version ${v.version}`),
		    h("td", dateTime(v.generatedAt)),
		    h("td.num", num(v.callsAnalysed)),
		    h("td", statusBadge(v.aiStatus || "—")))),
		{ caption: "Documentation versions" }),
	    h("h2", { style: "margin-top:1.5rem" }, "What changed"),
	    versions.length < 2 ?
	    h("p.muted", "There is only one version so far. Reactivate the " +
		"endpoint, capture more calls and generate again to compare.") :
	    h("div", form, out));
}

// The diff's exact shape is the docs API's; show every list it has as
// added (+) or removed (-) entries, grouped by what they are about.
function diffView(d) {
	const groups = [];
	function label(x) {
		if (typeof x === "string")
			return x;
		if (x && x.method && x.path)
			return `${x.method.toUpperCase()} ${x.path}` +
			    (x.location ? ` · ${x.location}` : "") +
			    (x.name || x.field ? ` · ${x.name || x.field}` : "");
		if (x && (x.field || x.name || x.path))
			return [x.operation, x.location, x.path, x.field || x.name]
			    .filter(Boolean).join(" · ");
		return JSON.stringify(x);
	}
	function walk(obj, prefix) {
		for (const [k, v] of Object.entries(obj || {})) {
			if (Array.isArray(v)) {
				const kind = /add/i.test(k) ? "added" :
				    /remov|delet/i.test(k) ? "removed" : "changed";
				groups.push({ title: prefix ? `${prefix} ${k}` : k, kind,
				    items: v.map(label) });
			} else if (v && typeof v === "object") {
				walk(v, prefix ? `${prefix} ${k}` : k);
			}
		}
	}
	walk(d, "");
	const total = groups.reduce((a, g) => a + g.items.length, 0);
	if (total === 0)
		return alertBox("info", "No operations or fields were added or " +
		    "removed between these versions.");
	return h("div.grid.grid-2", groups.filter((g) => g.items.length)
	    .map((g) => h("div.card", h("h3", g.title.charAt(0).toUpperCase() +
		g.title.slice(1)),
		h("ul.diff-list", g.items.map((t) => h("li.diff-" + g.kind,
		    g.kind === "added" ? "+ " : g.kind === "removed" ? "− " :
		    "~ ", t))))));
}

function exportsPanel(base, ep, version, fetchDoc) {
	const slot = h("div");
	const safe = ep.name.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60) ||
	    "endpoint";
	function button(label, id, fn) {
		const b = h("button.btn.btn-secondary", { type: "button", id },
		    label);
		b.addEventListener("click", () => busy(b, async () => {
			const r = await fn();
			if (r)
				toast(`Downloaded ${r.name}.`, "success");
		}, slot));
		return b;
	}
	function save(name, type, text) {
		const url = URL.createObjectURL(new Blob([text], { type }));
		const a = h("a", { href: url, download: name });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(url), 10000);
		return { name };
	}
	return h("div.grid.grid-2",
	    h("div.card", h("h2", "This version"),
		h("p.muted", `Version ${version} as files.`),
		h("div.row",
		    button("OpenAPI (JSON)", "export-openapi", async () =>
			save(`${safe}-v${version}.openapi.json`, "application/json",
			    JSON.stringify(openapiOf(await fetchDoc("openapi")),
			    null, 2))),
		    button("Markdown", "export-markdown", async () =>
			save(`${safe}-v${version}.md`, "text/markdown",
			    markdownOf(await fetchDoc("markdown")))))),
	    h("div.card", h("h2", "Exports"),
		h("p.muted", "Produced by the server from the latest " +
		    "documentation and the captured calls."),
		h("div.row",
		    button("Calls (CSV)", "export-csv", () =>
			download(`${base}/export/calls.csv`, `${safe}-calls.csv`)),
		    button("Everything (ZIP)", "export-zip", () =>
			download(`${base}/export/docs.zip`, `${safe}-docs.zip`)),
		    h("a.btn.btn-secondary#export-printable",
			{ href: `${base}/export/printable`, target: "_blank",
			rel: "noopener" }, "Printable page"))),
	    slot);
}
