// The admin area: one tab per concern, each its own module
// (admin-<tab>.js). Every action is audited by the server.

import { h, replace, loading, errorBox, tabs } from "/assets/ui.js";

const TABS = [
	{ id: "users", label: "Users" },
	{ id: "endpoints", label: "Endpoints" },
	{ id: "payments", label: "Payments" },
	{ id: "audit", label: "Audit log" },
	{ id: "queue", label: "Job queue" },
	{ id: "metrics", label: "Metrics" },
];

export default async function admin(root, ctx) {
	const tab = TABS.some((t) => t.id === ctx.params.tab) ?
	    ctx.params.tab : "users";
	const panel = h("div#admin-panel", { role: "tabpanel",
	    "aria-labelledby": `tab-${tab}` });
	const bar = tabs(TABS, (t) => {
		if (t !== tab)
			ctx.navigate(`/admin/${t}`);
	}, tab);
	root.append(h("div.page-head", h("h1", "Admin")), bar, panel);
	ctx.setTitle(`Admin · ${TABS.find((t) => t.id === tab).label}`);

	replace(panel, loading());
	try {
		const mod = await import(`/assets/admin-${tab}.js`);
		replace(panel);
		await mod.default(panel, ctx);
	} catch (err) {
		replace(panel, errorBox(err));
	}
}
