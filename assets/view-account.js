// The signed-in account: who it is, its role and balance, and logging
// out. The API has no calls to change the name, email or password yet,
// so they are shown, not edited.

import { api } from "/assets/api.js";
import * as session from "/assets/session.js";
import {
	h, replace, loading, errorBox, busy, num, dateTime, statusBadge,
} from "/assets/ui.js";

export default async function account(root, ctx) {
	const slot = h("div", loading());
	root.append(h("div.page-head", h("h1", "Account")), slot);
	let me;
	try {
		me = await api.get("/api/auth/me");
		session.signedIn(me);
	} catch (err) {
		replace(slot, errorBox(err));
		return;
	}
	const u = me.user;
	const logout = h("button.btn.btn-secondary#logout", { type: "button" },
	    "Log out");
	logout.addEventListener("click", () => busy(logout, async () => {
		await session.logout();
		ctx.navigate("/");
	}));
	replace(slot, h("div.grid.grid-2",
	    h("div.card", h("h2", "Profile"),
		h("dl.kv",
		    h("dt", "Name"), h("dd#account-name", u.name),
		    h("dt", "Email"), h("dd#account-email", u.email),
		    h("dt", "Role"), h("dd", statusBadge(u.role),
			u.isDemo ? [" ", h("span.badge.badge-pending", "demo")] :
			null),
		    h("dt", "Member since"), h("dd", dateTime(u.createdAt)),
		    h("dt", "Last login"), h("dd", dateTime(u.lastLoginAt))),
		u.isDemo ? h("p.small.muted", "Demo accounts are shared and " +
		    "cannot buy credits. Register to get your own.") : null),
	    h("div.card", h("h2", "Credits"),
		h("p", h("span.stat-value", num(u.credits)), " credits"),
		h("p", h("a", { href: "/credits" }, "Transactions and purchases")),
		h("h2", "Session"),
		h("p.muted", "Logging out ends this browser's session on the " +
		    "server."),
		logout)));
}
