// The dashboard: the balance, the person's endpoints with their status
// and call counts, and the form that creates an endpoint (its cost is
// shown; the API's validation errors appear next to the field).

import { api } from "/assets/api.js";
import * as session from "/assets/session.js";
import { endpointCost, proxyExamples } from "/assets/endpoint-common.js";
import {
	h, replace, clear, loading, empty, errorBox, field, busy, showFormError,
	statusBadge, num, time, table, pager, alertBox, copyButton, codeBlock,
} from "/assets/ui.js";

const REFRESH_MS = 10000;

export default async function dashboard(root, ctx) {
	const user = session.currentUser();
	const balance = h("span.stat-value#dash-balance", num(user.credits));
	const endpointsStat = h("span.stat-value", "…");
	const callsStat = h("span.stat-value", "…");
	const listSlot = h("div", loading("Loading your endpoints…"));
	const createdSlot = h("div");

	root.append(
	    h("div.page-head", h("h1", "Dashboard"),
		h("div.actions", h("a.btn.btn-ghost", { href: "/credits" },
		    "Buy credits"))),
	    h("div.grid.grid-3",
		h("div.card.stat", balance, h("span.stat-label", "credits")),
		h("div.card.stat", endpointsStat, h("span.stat-label",
		    "endpoints")),
		h("div.card.stat", callsStat, h("span.stat-label",
		    "calls captured"))),
	    h("div.grid.grid-2", { style: "margin-top:1rem" },
		createCard(ctx, createdSlot, () => loadList()),
		h("div.card", h("h2", "How it works"),
		    h("ol",
			h("li", "Create an endpoint with the base URL of the API " +
			    "you want documented."),
			h("li", "Send requests to its proxy URL instead; they " +
			    "are forwarded and captured."),
			h("li", "Open the endpoint and press ",
			    h("strong", "Generate documentation"), "."),
			h("li", "Read, compare and export the result.")))),
	    createdSlot,
	    h("h2", { style: "margin-top:1.5rem" }, "Your endpoints"),
	    listSlot);

	const unsub = session.subscribe((u) => {
		if (u)
			balance.textContent = num(u.credits);
	});
	ctx.onLeave(unsub);
	session.refreshCredits();

	// Status and call counts change while the page is open (traffic
	// through the proxy, generation jobs): refresh them in place, so
	// focus and scrolling are left alone.
	let timer = null;
	ctx.onLeave(() => clearTimeout(timer));
	async function refreshRows() {
		if (document.visibilityState === "visible") {
			try {
				const r = await api.get("/api/endpoints", { limit: 50 });
				for (const e of r.items || []) {
					const row = listSlot.querySelector(
					    `tr[data-endpoint-id="${e.id}"]`);
					if (row)
						updateRow(row, e);
				}
			} catch (err) {
				// The next full load shows the error.
			}
		}
		if (ctx.alive())
			timer = setTimeout(refreshRows, REFRESH_MS);
	}
	timer = setTimeout(refreshRows, REFRESH_MS);

	async function loadList() {
		let first;
		try {
			first = await api.get("/api/endpoints", { limit: 50 });
		} catch (err) {
			replace(listSlot, errorBox(err, loadList));
			endpointsStat.textContent = "—";
			callsStat.textContent = "—";
			return;
		}
		const items = first.items || [];
		endpointsStat.textContent = num(items.length) +
		    (first.nextCursor ? "+" : "");
		callsStat.textContent = num(items.reduce((a, e) =>
		    a + (e.callCount || 0), 0)) + (first.nextCursor ? "+" : "");
		if (items.length === 0) {
			replace(listSlot, empty("No endpoints yet",
			    "Create one above; it gets its own proxy URL."));
			return;
		}
		const tbody = [];
		const tbl = table(["Name", "Status", "Calls", "Last call",
		    "Proxy URL", "Created"], tbody, { caption: "Your endpoints",
		    className: "endpoints" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/endpoints",
		    { limit: 50, cursor }), (rows) => {
			for (const e of rows)
				body.append(endpointRow(e));
		});
		replace(listSlot, tbl, more);
		more.start(first);
	}
	await loadList();
}

function endpointRow(e) {
	return h("tr", { dataset: { endpointId: e.id } },
	    h("td", h("a", { href: `/endpoints/${e.id}` }, e.name),
		h("div.small.muted.mono", e.destinationUrl)),
	    h("td.ep-status", statusBadge(e.status)),
	    h("td.num.ep-calls", num(e.callCount)),
	    h("td.nowrap.ep-last", e.lastCallAt ? time(e.lastCallAt) : "never"),
	    h("td", h("div.proxy-url", h("code.small", e.proxyUrl),
		copyButton(e.proxyUrl))),
	    h("td.nowrap", time(e.createdAt)));
}

function updateRow(row, e) {
	replace(row.querySelector(".ep-status"), statusBadge(e.status));
	row.querySelector(".ep-calls").textContent = num(e.callCount);
	replace(row.querySelector(".ep-last"), e.lastCallAt ?
	    time(e.lastCallAt) : "never");
}

function createCard(ctx, createdSlot, reload) {
	const name = h("input", { type: "text", name: "name", required: true,
	    maxlength: "100", placeholder: "Orders API" });
	const url = h("input", { type: "url", name: "destinationUrl",
	    required: true, placeholder: "https://api.example.com/v1",
	    inputmode: "url", autocomplete: "off" });
	const secrets = h("input", { type: "checkbox",
	    name: "captureSecrets", id: "create-capture-secrets" });
	const costLine = h("p.muted.small", { id: "create-cost" });
	const formErr = h("div");
	const submit = h("button.btn", { type: "submit" }, "Create endpoint");

	function showCost() {
		const u = session.currentUser();
		const bal = u ? u.credits : 0;
		replace(costLine, "Creating an endpoint costs ",
		    h("strong", `${endpointCost} credits`), `; you have ${num(bal)}.`,
		    bal < endpointCost ? h("span", " Not enough: ",
			h("a", { href: "/credits" }, "buy credits"), ".") : null);
	}
	showCost();
	const unsub = session.subscribe(showCost);
	ctx.onLeave(unsub);

	const form = h("form#create-endpoint", { novalidate: true },
	    field("Name", name),
	    field("Destination base URL", url, "Calls to the proxy URL are " +
		"forwarded here, with the rest of the path and the query " +
		"appended."),
	    h("div.check", secrets, h("label", { for: secrets.id },
		"Keep secrets in captured calls (Authorization, cookies, API " +
		"keys are redacted unless this is ticked)")),
	    costLine, formErr, h("div.row", submit));

	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		busy(submit, async () => {
			submit.textContent = "Creating…";
			clear(createdSlot);
			let e;
			try {
				e = await api.post("/api/endpoints", {
					name: name.value.trim(),
					destinationUrl: url.value.trim(),
					captureSecrets: secrets.checked,
				});
			} catch (err) {
				showFormError(err, { name, destinationUrl: url,
				    destination: url, url }, formErr);
				if (err.status === 402)
					session.refreshCredits();
				return;
			}
			if (typeof e.balance === "number")
				session.setCredits(e.balance);
			else
				session.refreshCredits();
			form.reset();
			replace(createdSlot, createdCard(e));
			createdSlot.querySelector("h2").focus();
			reload();
		}, formErr);
	});
	return h("div.card", h("h2", "Create an endpoint"), form);
}

function createdCard(e) {
	const ex = proxyExamples(e.proxyUrl);
	return alertBox("success",
	    h("h2", { tabindex: "-1" }, `Endpoint “${e.name}” created`),
	    h("p", "Send your calls to this proxy URL:"),
	    h("div.proxy-url", h("code#new-proxy-url", e.proxyUrl),
		copyButton(e.proxyUrl, "Copy URL")),
	    h("p", "For example:"),
	    codeBlock(ex.get, "Copy command"),
	    h("p", h("a.btn", { href: `/endpoints/${e.id}` },
		"Open the endpoint")));
}
