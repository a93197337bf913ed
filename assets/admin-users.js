// Admin: find users by email or name; open one to adjust credits.

import { api } from "/assets/api.js";
import {
	h, replace, loading, empty, errorBox, num, time, table, pager,
	statusBadge,
} from "/assets/ui.js";

export default async function adminUsers(panel, ctx) {
	const q = h("input#admin-user-search", { type: "search", name: "q",
	    placeholder: "email or name", value: ctx.query.get("q") || "" });
	const form = h("form.filters", { role: "search" },
	    h("div.field.field-grow", h("label", { for: q.id }, "Search users"),
		q), h("button.btn.btn-secondary", { type: "submit" }, "Search"));
	const slot = h("div", loading());
	panel.append(form, slot);

	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		const u = new URL(location.href);
		u.searchParams.set("q", q.value.trim());
		history.replaceState(null, "", u.pathname + u.search);
		load();
	});

	async function load() {
		replace(slot, loading());
		const query = { q: q.value.trim(), limit: 50 };
		let first;
		try {
			first = await api.get("/api/admin/users", query);
		} catch (err) {
			replace(slot, errorBox(err, load));
			return;
		}
		if (!(first.items || []).length) {
			replace(slot, empty("No users match"));
			return;
		}
		const tbl = table(["Email", "Name", "Role", "Credits", "Joined",
		    "State"], [], { caption: "Users", className: "admin-users" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/admin/users",
		    { ...query, cursor }), (items) => {
			for (const u of items) {
				body.append(h("tr", { dataset: { userId: u.id } },
				    h("td", h("a", { href: `/admin/users/${u.id}` },
					u.email)),
				    h("td", u.name),
				    h("td", u.role, u.isDemo ? " (demo)" : ""),
				    h("td.num", num(u.credits)),
				    h("td.nowrap", time(u.createdAt)),
				    h("td", statusBadge(u.disabledAt ? "disabled" :
					"active"))));
			}
		});
		replace(slot, tbl, more);
		more.start(first);
	}
	await load();
}
