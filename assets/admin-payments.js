// Admin: every payment; mark one reconciled, or grant the credits of a
// payment the provider completed but whose webhook never arrived.

import { api } from "/assets/api.js";
import {
	h, replace, loading, empty, errorBox, busy, num, money, time, table,
	pager, statusBadge, toast,
} from "/assets/ui.js";

export default async function adminPayments(panel) {
	const status = h("select#admin-payment-status", ["", "PENDING",
	    "COMPLETED", "FAILED", "REFUNDED"].map((s) =>
	    h("option", { value: s }, s || "Any status")));
	const form = h("form.filters",
	    h("div.field", h("label", { for: status.id }, "Status"), status),
	    h("button.btn.btn-secondary", { type: "submit" }, "Show"));
	const err = h("div");
	const slot = h("div", loading());
	panel.append(form, err, slot);
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		load();
	});

	function actions(p) {
		const out = [];
		const id = encodeURIComponent(p.id);
		if (!p.reconciledAt) {
			const b = h("button.btn.btn-small.btn-ghost", { type: "button" },
			    "Mark reconciled");
			b.addEventListener("click", () => busy(b, async () => {
				await api.post(`/api/admin/payments/${id}/reconcile`, {});
				toast("Marked reconciled.", "success");
				load();
			}, err));
			out.push(b);
		}
		if (p.status === "PENDING") {
			const b = h("button.btn.btn-small", { type: "button" },
			    "Grant credits");
			b.addEventListener("click", () => busy(b, async () => {
				await api.post(`/api/admin/payments/${id}/fulfil`, {});
				toast("Payment fulfilled.", "success");
				load();
			}, err));
			out.push(b);
		}
		return out;
	}

	async function load() {
		replace(slot, loading());
		const query = { status: status.value, limit: 50 };
		let first;
		try {
			first = await api.get("/api/admin/payments", query);
		} catch (e) {
			replace(slot, errorBox(e, load));
			return;
		}
		if (!(first.items || []).length) {
			replace(slot, empty("No payments match"));
			return;
		}
		const tbl = table(["When", "User", "Provider", "Amount", "Credits",
		    "Status", ""], [], { caption: "Payments" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/admin/payments",
		    { ...query, cursor }), (items) => {
			for (const p of items) {
				body.append(h("tr", { dataset: { paymentId: p.id } },
				    h("td.nowrap", time(p.createdAt)),
				    h("td", p.user && p.user.id ? h("a", { href:
					`/admin/users/${p.user.id}` }, p.user.email) :
					p.userEmail || p.userId || ""),
				    h("td", p.provider, h("div.small.muted.mono",
					p.providerRef || "")),
				    h("td.num", money(p.amountCents, p.currency)),
				    h("td.num", num(p.credits)),
				    h("td", statusBadge(p.status), p.reconciledAt ?
					h("div.small.muted", "reconciled") : null,
					p.failureReason ? h("div.small.muted",
					    p.failureReason) : null),
				    h("td", h("div.row", actions(p)))));
			}
		});
		replace(slot, tbl, more);
		more.start(first);
	}
	await load();
}
