// Admin: the audit log, newest first, filtered by action, actor or
// target.

import { api } from "/assets/api.js";
import {
	h, replace, loading, empty, errorBox, dateTime, table, pager,
	openDialog,
} from "/assets/ui.js";

export default async function adminAudit(panel) {
	const action = h("input#audit-action", { type: "search",
	    placeholder: "credits.admin_adjust" });
	const actor = h("input#audit-actor", { type: "search",
	    placeholder: "user id" });
	const targetType = h("input#audit-target-type", { type: "search",
	    placeholder: "user, endpoint, payment…" });
	const target = h("input#audit-target", { type: "search",
	    placeholder: "target id" });
	const form = h("form.filters", { role: "search" },
	    h("div.field", h("label", { for: action.id }, "Action"), action),
	    h("div.field", h("label", { for: actor.id }, "Actor"), actor),
	    h("div.field", h("label", { for: targetType.id }, "Target type"),
		targetType),
	    h("div.field", h("label", { for: target.id }, "Target id"), target),
	    h("button.btn.btn-secondary", { type: "submit" }, "Filter"));
	const slot = h("div", loading());
	panel.append(form, slot);
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		load();
	});

	async function load() {
		replace(slot, loading());
		const query = { action: action.value.trim(),
		    actor: actor.value.trim(), targetType: targetType.value.trim(),
		    targetId: target.value.trim(), limit: 50 };
		let first;
		try {
			first = await api.get("/api/admin/audit", query);
		} catch (err) {
			replace(slot, errorBox(err, load));
			return;
		}
		if (!(first.items || []).length) {
			replace(slot, empty("No audit entries match"));
			return;
		}
		const tbl = table(["When", "Action", "Actor", "Target", "IP",
		    "Details"], [], { caption: "Audit log",
		    className: "audit" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/admin/audit",
		    { ...query, cursor }), (items) => {
			for (const a of items) {
				const details = JSON.stringify(a.details || {}, null, 2);
				const show = h("button.row-button", { type: "button" },
				    "show");
				show.addEventListener("click", () => openDialog(
				    `${a.action} · ${dateTime(a.createdAt)}`,
				    h("div", h("p.small.muted", `request ${
					a.requestId || "—"}`),
					h("pre.code", details))));
				body.append(h("tr",
				    h("td.nowrap", dateTime(a.createdAt)),
				    h("td.mono", a.action),
				    h("td", a.actorEmail || a.actorId || "system"),
				    h("td.small", [a.targetType, a.targetId]
					.filter(Boolean).join(" ")),
				    h("td.small.mono", a.ip || ""),
				    h("td", show)));
			}
		});
		replace(slot, tbl, more);
		more.start(first);
	}
	await load();
}
