// One endpoint: its proxy URL, the live table of captured calls with
// filters and a detail view, charts of traffic, status mix and latency,
// documentation generation with the job's progress, reactivation,
// settings and deletion.

import { api } from "/assets/api.js";
import { proxyExamples } from "/assets/endpoint-common.js";
import { openCallDetail, markRedacted } from "/assets/call-detail.js";
import { timeChart, barChart, statusColor } from "/assets/charts.js";
import {
	h, replace, clear, loading, empty, errorBox, field, busy, statusBadge,
	num, ms, bytes, time, table, alertBox, copyButton, codeBlock,
	openDialog, toast, showFormError, dateTime,
} from "/assets/ui.js";

const LIVE_MS = 3000;
const JOB_MS = 1500;
const METHODS = ["", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
    "OPTIONS"];

export default async function endpointView(root, ctx) {
	const id = ctx.params.id;
	const base = `/api/endpoints/${encodeURIComponent(id)}`;
	let ep;
	try {
		ep = await api.get(base);
	} catch (err) {
		root.append(h("h1", "Endpoint"), errorBox(err),
		    h("p", h("a", { href: "/dashboard" }, "Back to the dashboard")));
		return;
	}
	ctx.setTitle(ep.name);

	const timers = new Set();
	ctx.onLeave(() => timers.forEach((t) => clearTimeout(t)));
	function later(fn, delay) {
		const t = setTimeout(() => {
			timers.delete(t);
			if (ctx.alive())
				fn();
		}, delay);
		timers.add(t);
	}

	const headSlot = h("div");
	const jobSlot = h("div#job-panel");
	const statsSlot = h("div", loading("Loading statistics…"));
	const callsSlot = h("div");
	const actionErr = h("div");

	root.append(headSlot, actionErr, jobSlot,
	    h("h2", { style: "margin-top:1.5rem" }, "Traffic"), statsSlot,
	    h("h2", { style: "margin-top:1.5rem" }, "Captured calls"),
	    callsSlot);

	function renderHead() {
		const actions = h("div.actions");
		if (ep.status !== "PROCESSING") {
			const gen = h("button.btn#generate", { type: "button" },
			    "Generate documentation");
			gen.addEventListener("click", () => busy(gen, async () => {
				gen.textContent = "Starting…";
				const r = await api.post(`${base}/generate`, {});
				toast(`Generation started (job ${r && r.jobId}).`,
				    "success");
				ep = { ...ep, status: "PROCESSING" };
				renderHead();
				watchJob();
			}, actionErr));
			actions.append(gen);
		}
		if (ep.status === "COMPLETE" || ep.status === "ERROR") {
			const re = h("button.btn.btn-secondary#reactivate",
			    { type: "button" }, "Reactivate capture");
			re.addEventListener("click", () => busy(re, async () => {
				const r = await api.post(`${base}/reactivate`, {});
				ep = r && r.id ? r : await api.get(base);
				toast("The endpoint captures calls again.", "success");
				renderHead();
			}, actionErr));
			actions.append(re);
		}
		actions.append(h("a.btn.btn-ghost#view-docs",
		    { href: `/endpoints/${id}/docs` }, "Documentation"));
		const settings = h("button.btn.btn-ghost", { type: "button" },
		    "Settings");
		settings.addEventListener("click", () => openSettings());
		actions.append(settings);

		const ex = proxyExamples(ep.proxyUrl);
		replace(headSlot,
		    h("div.page-head",
			h("div", h("h1", ep.name, " ", statusBadge(ep.status)),
			    h("p.muted.small", "Forwards to ",
				h("span.mono", ep.destinationUrl))),
			actions),
		    ep.status === "PROCESSING" ? alertBox("info",
			"Documentation is being generated; the proxy answers " +
			"409 until it is done.") : null,
		    ep.status === "COMPLETE" ? alertBox("success",
			"Documentation is ready. ",
			h("a", { href: `/endpoints/${id}/docs` },
			    "Read it"), ". Reactivate to capture more calls " +
			"for a new version.") : null,
		    ep.status === "ERROR" ? alertBox("error",
			"The last generation failed; see the job below. " +
			"Reactivate to capture more, or generate again.") : null,
		    h("div.card",
			h("h2", "Proxy URL"),
			h("div.proxy-url", h("code#proxy-url", ep.proxyUrl),
			    copyButton(ep.proxyUrl, "Copy URL")),
			h("p.small.muted", "Every method and path under this URL " +
			    "is forwarded to the destination and captured."),
			h("details", h("summary", "curl examples"),
			    codeBlock(ex.get), h("div", { style: "height:.5rem" }),
			    codeBlock(ex.post)),
			h("dl.kv", { style: "margin-top:.75rem" },
			    h("dt", "Calls captured"), h("dd#call-count",
				num(ep.callCount)),
			    h("dt", "Last call"), h("dd", ep.lastCallAt ?
				time(ep.lastCallAt) : "never"),
			    h("dt", "Secrets"), h("dd", ep.captureSecrets ?
				"kept in captured calls" : "redacted before storage"),
			    h("dt", "Created"), h("dd", dateTime(ep.createdAt)))));
	}

	function openSettings() {
		const name = h("input", { type: "text", value: ep.name,
		    maxlength: "100" });
		const secrets = h("input", { type: "checkbox",
		    id: "settings-secrets", checked: !!ep.captureSecrets });
		const err = h("div");
		const save = h("button.btn", { type: "submit" }, "Save");
		const del = h("button.btn.btn-danger", { type: "button" },
		    "Delete endpoint");
		const form = h("form", field("Name", name),
		    h("div.check", secrets, h("label", { for: secrets.id },
			"Keep secrets in captured calls")),
		    err, h("div.row.row-between", save, del));
		const dlg = openDialog("Endpoint settings", form);
		form.addEventListener("submit", (ev) => {
			ev.preventDefault();
			busy(save, async () => {
				try {
					ep = await api.patch(base, { name: name.value.trim(),
					    captureSecrets: secrets.checked });
				} catch (e) {
					showFormError(e, { name }, err);
					return;
				}
				dlg.close();
				renderHead();
				toast("Saved.", "success");
			}, err);
		});
		del.addEventListener("click", () => {
			if (del.dataset.confirm !== "1") {
				del.dataset.confirm = "1";
				del.textContent = "Delete it and all its calls and docs";
				return;
			}
			busy(del, async () => {
				await api.del(base);
				dlg.close();
				toast(`Deleted “${ep.name}”.`, "success");
				ctx.navigate("/dashboard");
			}, err);
		});
	}

	// Follows the generation job until the endpoint leaves PROCESSING.
	async function watchJob() {
		let job = null, jobErr = null;
		try {
			job = await api.get(`${base}/job`);
		} catch (err) {
			jobErr = err;
		}
		try {
			const fresh = await api.get(base);
			const changed = fresh.status !== ep.status;
			ep = fresh;
			if (changed)
				renderHead();
		} catch (err) {
			jobErr = jobErr || err;
		}
		renderJob(job, jobErr);
		// The endpoint can leave PROCESSING a moment before the job
		// row says it finished: follow both until both are done.
		const running = job && ["waiting", "active", "delayed"]
		    .includes(job.state);
		if (ep.status === "PROCESSING" || running)
			later(watchJob, JOB_MS);
	}

	function renderJob(job, err) {
		if (!job) {
			if (err && err.status !== 404)
				replace(jobSlot, h("div.card", h("h2", "Generation job"),
				    errorBox(err)));
			else
				clear(jobSlot);
			return;
		}
		const state = job.state || job.status || "unknown";
		// progress is {percent, stage} (or a bare number).
		const prog = job.progress;
		let pct = typeof prog === "number" ? prog :
		    prog && typeof prog.percent === "number" ? prog.percent : null;
		if (pct !== null && typeof prog === "number" && pct <= 1)
			pct *= 100;
		const stage = (prog && prog.stage) || job.step || job.stage;
		const running = state === "active" || state === "waiting" ||
		    state === "delayed";
		const bar = h("div.progress" + (pct === null && running ?
		    ".progress-indeterminate" : ""), { role: "progressbar",
		    "aria-label": "generation progress",
		    "aria-valuemin": "0", "aria-valuemax": "100",
		    "aria-valuenow": pct === null ? null : String(Math.round(pct)) },
		    h("div.progress-bar", { style: pct === null ? "" :
			`width:${Math.max(0, Math.min(100, pct))}%` }));
		const error = job.lastError || job.error;
		replace(jobSlot, h("div.card", { "aria-live": "polite" },
		    h("div.row.row-between", h("h2", "Generation job ",
			h("span.muted.small", `#${job.id || job.jobId || ""}`)),
			statusBadge(state)),
		    running || state === "completed" ? bar : null,
		    h("dl.kv", { style: "margin-top:.5rem" },
			stage ? [h("dt", "Step"), h("dd#job-stage", stage,
			    pct !== null ? ` (${Math.round(pct)}%)` : "")] : null,
			h("dt", "Attempts"), h("dd", `${job.attempts ?? 0}` +
			    (job.maxAttempts ? ` of ${job.maxAttempts}` : "")),
			job.createdAt ? [h("dt", "Queued"),
			    h("dd", time(job.createdAt))] : null,
			job.finishedAt ? [h("dt", "Finished"),
			    h("dd", time(job.finishedAt))] : null,
			job.runAt && state === "delayed" ? [h("dt", "Next try"),
			    h("dd", dateTime(job.runAt))] : null),
		    error ? alertBox(state === "failed" ? "error" : "warn",
			h("strong", "Last error: "), error) : null,
		    state === "completed" ? h("p", h("a.btn",
			{ href: `/endpoints/${id}/docs`, id: "job-docs-link" },
			"Read the documentation")) : null));
	}

	async function loadStats() {
		let s;
		try {
			s = await api.get(`${base}/stats`);
		} catch (err) {
			replace(statsSlot, errorBox(err, loadStats));
			return;
		}
		const count = document.getElementById("call-count");
		if (count && typeof s.totalCalls === "number")
			count.textContent = num(s.totalCalls);
		const lat = s.latency || {};
		const mix = (s.statusMix || []).slice().sort((a, b) =>
		    a.status - b.status);
		replace(statsSlot,
		    h("div.grid.grid-4",
			stat(num(s.totalCalls), "calls"),
			stat(num(s.errorCalls), "errors (5xx or no answer)"),
			stat(ms(lat.p50), "median latency"),
			stat(ms(lat.p95), "p95 latency")),
		    h("div.grid.grid-2", { style: "margin-top:1rem" },
			h("div.card", h("h3", `Calls per ${s.bucket || "minute"}`),
			    timeChart(s.callsOverTime || [], { bucket: s.bucket })),
			h("div.card", h("h3", "Status codes"),
			    barChart(mix.map((m) => ({ label: m.status === null ||
				m.status === 0 ? "no reply" : String(m.status),
				value: m.count, color: statusColor(m.status) })),
				{ label: "status codes" }),
			    h("h3", { style: "margin-top:1rem" }, "Latency"),
			    barChart(["p50", "p95", "p99", "avg"].filter((k) =>
				lat[k] !== undefined && lat[k] !== null).map((k) => ({
				label: k, value: Number(lat[k]), display: ms(lat[k]),
				color: "var(--chart-4)" })), { label: "latency" }))),
		    (s.operations || []).length ? h("div",
			{ style: "margin-top:1rem" }, h("h3", "Operations seen"),
			table(["Method", "Path", "Calls", "Average"],
			    s.operations.map((o) => h("tr",
				h("td", h("span.method.method-" +
				    String(o.method).toLowerCase(), o.method)),
				h("td.mono", o.path), h("td.num", num(o.count)),
				h("td.num", ms(o.avgMs)))),
			    { caption: "Operations seen" })) : null);
	}

	const calls = callsTable(base, later, loadStats);
	callsSlot.append(calls);

	renderHead();
	watchJob();
	await loadStats();
}

function stat(value, label) {
	return h("div.card.stat", h("span.stat-value", value),
	    h("span.stat-label", label));
}

// The captured calls: filters, newest first, new calls appear while
// "Live" is on (the page polls; a hidden tab does not).
function callsTable(base, later, onNew) {
	const method = h("select", { name: "method" }, METHODS.map((m) =>
	    h("option", { value: m }, m || "Any")));
	const status = h("input", { type: "text", name: "status",
	    placeholder: "200 or 4xx", inputmode: "text", maxlength: "3" });
	const path = h("input", { type: "search", name: "path",
	    placeholder: "/users" });
	const live = h("input", { type: "checkbox", id: "calls-live",
	    checked: true });
	const apply = h("button.btn.btn-secondary", { type: "submit" },
	    "Filter");
	const filters = h("form.filters", { role: "search",
	    "aria-label": "Filter calls" },
	    field("Method", method), field("Status", status),
	    h("div.field.field-grow", h("label", { for: "calls-path" },
		"Path starts with"), Object.assign(path, { id: "calls-path" })),
	    apply,
	    h("div.check", { style: "margin:0 0 .6rem" }, live,
		h("label", { for: live.id }, "Live")));
	const errSlot = h("div");
	const listSlot = h("div", loading("Loading calls…"));
	const more = h("button.btn.btn-ghost", { type: "button", hidden: true },
	    "Load older calls");
	const wrap = h("div", filters, errSlot, listSlot,
	    h("div.pager", more));

	let tbody = null;
	let topId = null;
	let cursor = null;
	let seq = 0;

	function query(extra) {
		return { limit: 50, method: method.value,
		    status: status.value.trim(), path: path.value.trim(),
		    ...extra };
	}

	function row(c, isNew) {
		const target = c.path + (c.query ? `?${c.query}` : "");
		const open = h("button.row-button", { type: "button",
		    "aria-label": `Show call ${c.method} ${target}` },
		    markRedacted(target));
		open.addEventListener("click", (ev) => {
			ev.stopPropagation();
			openCallDetail(base.split("/").pop(), c.id);
		});
		const tr = h("tr.clickable" + (isNew ? ".is-new" : ""),
		    { dataset: { callId: c.id } },
		    h("td.nowrap", time(c.timestamp)),
		    h("td", h("span.method.method-" +
			String(c.method).toLowerCase(), c.method)),
		    h("td.mono", open),
		    h("td", c.statusCode === null || c.statusCode === undefined ?
			h("span.badge.badge-error", "failed") :
			h(`span.code-${Math.floor(c.statusCode / 100)}`,
			String(c.statusCode))),
		    h("td.num", ms(c.durationMs)),
		    h("td.num.hide-phone", `${bytes(c.requestSize)} / ` +
			bytes(c.responseSize)),
		    h("td.hide-phone", [
			c.redacted ? h("span.badge", { title: "secrets redacted" },
			    "redacted") : null,
			c.requestTruncated || c.responseTruncated ?
			    h("span.badge.badge-pending", "truncated") : null,
			c.error ? h("span.badge.badge-error", { title: c.error },
			    "error") : null]));
		tr.addEventListener("click", () => open.click());
		return tr;
	}

	async function reload() {
		const mine = ++seq;
		let page;
		try {
			page = await api.get(`${base}/calls`, query());
		} catch (err) {
			if (mine === seq)
				replace(errSlot, errorBox(err, reload));
			return;
		}
		if (mine !== seq)
			return;
		clear(errSlot);
		const items = page.items || [];
		cursor = page.nextCursor || null;
		more.hidden = !cursor;
		topId = items.length ? items[0].id : null;
		if (items.length === 0) {
			tbody = null;
			const filtered = method.value || status.value || path.value;
			replace(listSlot, empty(filtered ? "No calls match" :
			    "No calls captured yet", filtered ?
			    "Change or clear the filters." :
			    "Send a request to the proxy URL; it appears here " +
			    "within seconds."));
			return;
		}
		const tbl = table(["When", "Method", "Path", "Status", "Time",
		    "Sizes", ""], items.map((c) => row(c, false)),
		    { caption: "Captured calls", className: "calls" });
		tbody = tbl.querySelector("tbody");
		replace(listSlot, tbl);
	}

	// Adds calls newer than the newest one shown.
	async function poll() {
		if (live.checked && document.visibilityState === "visible") {
			const mine = seq;
			try {
				const page = await api.get(`${base}/calls`, query());
				if (mine === seq) {
					const items = page.items || [];
					const fresh = topId === null ? items :
					    items.filter((c) => c.id > topId);
					if (fresh.length && !tbody) {
						await reload();
					} else if (fresh.length) {
						for (const c of fresh.slice().reverse())
							tbody.prepend(row(c, true));
						topId = fresh[0].id;
					}
					if (fresh.length)
						onNew();
					clear(errSlot);
				}
			} catch (err) {
				replace(errSlot, errorBox(err));
			}
		}
		later(poll, LIVE_MS);
	}

	more.addEventListener("click", () => busy(more, async () => {
		const page = await api.get(`${base}/calls`, query({ cursor }));
		for (const c of page.items || [])
			tbody.append(row(c, false));
		cursor = page.nextCursor || null;
		more.hidden = !cursor;
	}, errSlot));

	filters.addEventListener("submit", (ev) => {
		ev.preventDefault();
		replace(listSlot, loading("Loading calls…"));
		reload();
	});
	method.addEventListener("change", () => filters.requestSubmit());

	reload().then(() => later(poll, LIVE_MS));
	return wrap;
}
