// Admin: every endpoint, with its owner, status and traffic.

import { api } from "/assets/api.js";
import {
	h, replace, loading, empty, errorBox, num, time, table, pager,
	statusBadge,
} from "/assets/ui.js";

export default async function adminEndpoints(panel) {
	const q = h("input#admin-endpoint-search", { type: "search",
	    placeholder: "name, URL or owner" });
	const status = h("select#admin-endpoint-status", ["", "ACTIVE",
	    "PROCESSING", "COMPLETE", "ERROR"].map((s) =>
	    h("option", { value: s }, s || "Any status")));
	const form = h("form.filters", { role: "search" },
	    h("div.field.field-grow", h("label", { for: q.id }, "Search"), q),
	    h("div.field", h("label", { for: status.id }, "Status"), status),
	    h("button.btn.btn-secondary", { type: "submit" }, "Search"));
	const slot = h("div", loading());
	panel.append(form, slot);
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		load();
	});

	async function load() {
		replace(slot, loading());
		const query = { q: q.value.trim(), status: status.value,
		    limit: 50 };
		let first;
		try {
			first = await api.get("/api/admin/endpoints", query);
		} catch (err) {
			replace(slot, errorBox(err, load));
			return;
		}
		if (!(first.items || []).length) {
			replace(slot, empty("No endpoints match"));
			return;
		}
		const tbl = table(["Name", "Owner", "Status", "Calls", "Created"],
		    [], { caption: "Endpoints" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/admin/endpoints",
		    { ...query, cursor }), (items) => {
			for (const e of items) {
				const owner = e.ownerEmail || (e.owner && e.owner.email) ||
				    e.userEmail || e.userId;
				const ownerId = e.userId || (e.owner && e.owner.id);
				body.append(h("tr",
				    h("td", e.name, h("div.small.muted.mono",
					e.destinationUrl)),
				    h("td", ownerId ? h("a", { href:
					`/admin/users/${ownerId}` }, owner) : owner),
				    h("td", statusBadge(e.status)),
				    h("td.num", num(e.callCount)),
				    h("td.nowrap", time(e.createdAt))));
			}
		});
		replace(slot, tbl, more);
		more.start(first);
	}
	await load();
}
