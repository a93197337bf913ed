// Admin: one user, with the credit adjustment (amount and reason, both
// required; the ledger records it), disabling, and recalculating the
// balance from the ledger.

import { api } from "/assets/api.js";
import * as session from "/assets/session.js";
import {
	h, replace, loading, errorBox, field, busy, showFormError, num,
	dateTime, time, table, alertBox, statusBadge, toast, money,
} from "/assets/ui.js";

export default async function adminUser(root, ctx) {
	const id = ctx.params.id;
	const base = `/api/admin/users/${encodeURIComponent(id)}`;
	const slot = h("div", loading());
	root.append(h("p.small", h("a", { href: "/admin/users" },
	    "← All users")), slot);

	async function load() {
		let r;
		try {
			r = await api.get(base);
		} catch (err) {
			replace(slot, h("h1", "User"), errorBox(err, load));
			return;
		}
		const u = r.user || r;
		ctx.setTitle(`Admin · ${u.email}`);
		const txs = r.transactions || (r.ledger && r.ledger.items) || null;
		replace(slot,
		    h("div.page-head", h("h1", u.name || u.email),
			statusBadge(u.disabledAt ? "disabled" : "active")),
		    h("div.grid.grid-2",
			h("div.card", h("h2", "Account"),
			    h("dl.kv",
				h("dt", "Email"), h("dd", u.email),
				h("dt", "Role"), h("dd", u.role +
				    (u.isDemo ? " (demo)" : "")),
				h("dt", "Credits"), h("dd#admin-user-credits",
				    num(u.credits)),
				h("dt", "Joined"), h("dd", dateTime(u.createdAt)),
				h("dt", "Last login"), h("dd",
				    dateTime(u.lastLoginAt)),
				u.endpointCount !== undefined ? [h("dt", "Endpoints"),
				    h("dd", num(u.endpointCount))] : null,
				u.ledgerSum !== undefined ? [h("dt", "Ledger sum"),
				    h("dd", num(u.ledgerSum), " ",
				    u.balanceMatchesLedger === false ?
				    h("span.badge.badge-error", "differs from balance") :
				    h("span.badge.badge-active", "matches"))] : null,
				u.activeSessions !== undefined ? [h("dt", "Sessions"),
				    h("dd", num(u.activeSessions))] : null),
			    h("div.row", { style: "margin-top:1rem" },
				disableButton(u), recalcButton())),
			adjustCard(u)),
		    txs ? h("div", h("h2", { style: "margin-top:1.5rem" },
			"Ledger"), table(["When", "Kind", "Amount", "Balance",
			"Reference"], txs.map((t) => h("tr",
			    h("td.nowrap", time(t.createdAt)), h("td", t.kind),
			    h("td.num", num(t.amount)),
			    h("td.num", num(t.balanceAfter)),
			    h("td.small.mono", t.reference || ""))),
			{ caption: "Ledger" })) : null,
		    (r.payments || []).length ? h("div", h("h2",
			{ style: "margin-top:1.5rem" }, "Payments"),
			table(["When", "Provider", "Amount", "Credits", "Status"],
			    r.payments.map((p) => h("tr",
				h("td.nowrap", time(p.createdAt)), h("td", p.provider),
				h("td.num", money(p.amountCents, p.currency)),
				h("td.num", num(p.credits)),
				h("td", statusBadge(p.status)))),
			    { caption: "Payments" })) : null,
		    (r.endpoints || []).length ? h("div", h("h2",
			{ style: "margin-top:1.5rem" }, "Endpoints"),
			table(["Name", "Status", "Calls"], r.endpoints.map((e) =>
			    h("tr", h("td", e.name), h("td", statusBadge(e.status)),
				h("td.num", num(e.callCount)))),
			    { caption: "Endpoints" })) : null);
	}

	function adjustCard(u) {
		const amount = h("input#adjust-amount", { type: "number",
		    name: "amount", step: "1", required: true,
		    placeholder: "e.g. 50 or -20" });
		const reason = h("input#adjust-reason", { type: "text",
		    name: "reason", required: true, maxlength: "200",
		    placeholder: "Why (kept in the audit log)" });
		const err = h("div");
		const submit = h("button.btn", { type: "submit" }, "Apply");
		const form = h("form#adjust-credits", { novalidate: true },
		    field("Amount (credits; negative takes away)", amount),
		    field("Reason", reason), err, submit);
		form.addEventListener("submit", (ev) => {
			ev.preventDefault();
			const n = Number(amount.value);
			busy(submit, async () => {
				let r;
				try {
					r = await api.post(`${base}/credits`, {
						amount: Number.isInteger(n) ? n : amount.value,
						reason: reason.value.trim(),
					});
				} catch (e) {
					showFormError(e, { amount, reason }, err);
					return;
				}
				const bal = r && (r.balance ?? (r.user && r.user.credits) ??
				    r.credits);
				toast(`Credits adjusted${typeof bal === "number" ?
				    `; balance now ${bal}` : ""}.`, "success");
				const me = session.currentUser();
				if (me && me.id === u.id)
					session.refreshCredits();
				await load();
				const note = document.getElementById("adjust-result");
				if (note)
					note.hidden = false;
			}, err);
		});
		return h("div.card", h("h2", "Adjust credits"),
		    h("p.small.muted", "Every adjustment is a ledger transaction " +
			"and an audit entry. The balance cannot go below zero."),
		    form, h("p#adjust-result.small", { hidden: true },
			alertBox("success", "Adjustment recorded.")));
	}

	function disableButton(u) {
		const off = !!u.disabledAt;
		const b = h("button.btn.btn-small" + (off ? ".btn-secondary" :
		    ".btn-danger"), { type: "button" },
		    off ? "Enable account" : "Disable account");
		b.addEventListener("click", () => busy(b, async () => {
			await api.post(`${base}/${off ? "enable" : "disable"}`, {});
			toast(off ? "Account enabled." : "Account disabled.",
			    "success");
			await load();
		}));
		return b;
	}

	function recalcButton() {
		const b = h("button.btn.btn-small.btn-ghost", { type: "button" },
		    "Recalculate balance from the ledger");
		b.addEventListener("click", () => busy(b, async () => {
			const r = await api.post(`${base}/recalculate`, {});
			toast(`Balance recalculated${r && typeof r.balance ===
			    "number" ? `: ${r.balance}` : ""}.`, "success");
			await load();
		}));
		return b;
	}

	await load();
}
