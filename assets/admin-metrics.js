// Admin: the metrics dashboard. The API's metrics object is drawn as it
// comes: numbers as figures, time series ([{t, count}]) as charts, and
// maps of counts (by state, by status) as bars.

import { api } from "/assets/api.js";
import { timeChart, barChart } from "/assets/charts.js";
import {
	h, replace, loading, errorBox, num, dateTime,
} from "/assets/ui.js";

function words(key) {
	return key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_.]/g, " ")
	    .toLowerCase();
}

function isSeries(v) {
	return Array.isArray(v) && v.length > 0 && v.every((p) =>
	    p && typeof p === "object" && ("t" in p || "day" in p));
}

function isRate(key) {
	return /rate$/i.test(key);
}

function figure(key, v, parentKey) {
	let shown;
	if (v === null)
		shown = "—";
	else if (isRate(key) || /rates$/i.test(parentKey || ""))
		shown = `${(v * 100).toFixed(1)}%`;
	else if (/At$/.test(key) && v > 1e9)
		shown = dateTime(new Date(v * 1000).toISOString());
	else
		shown = Number.isInteger(v) ? num(v) : v.toFixed(2);
	return h("div.card.stat", h("span.stat-value", shown),
	    h("span.stat-label", words(key)));
}

function isCounts(v) {
	return v && typeof v === "object" && !Array.isArray(v) &&
	    Object.keys(v).length > 0 &&
	    Object.values(v).every((x) => typeof x === "number");
}

function section(title, obj, out, key) {
	const figures = [];
	const blocks = [];
	const nested = [];
	for (const [k, v] of Object.entries(obj || {})) {
		const rates = /rates$/i.test(k);
		if (typeof v === "number" || (v === null && (isRate(k) ||
		    /rates$/i.test(key || ""))))
			figures.push(figure(k, v, key));
		else if (isCounts(v) && !rates) {
			// Counts as bars; rates beside them as percentages.
			const counts = Object.entries(v).filter(([n]) => !isRate(n));
			for (const [n, x] of Object.entries(v).filter(([n]) =>
			    isRate(n)))
				figures.push(figure(`${words(k)} ${words(n)}`, x));
			blocks.push(h("div.card", h("h3", words(k)),
			    barChart(counts.map(([label, value]) => ({ label, value })),
				{ label: words(k) })));
		}
		else if (isSeries(v))
			blocks.push(h("div.card", h("h3", words(k)),
			    timeChart(v.map((p) => ({ t: p.t || p.day,
				count: p.count ?? p.value ?? 0,
				errors: p.errors || p.failed || 0 })),
				{ bucket: v[0].day ? "day" : "minute",
				label: words(k) })));
		else if (v && typeof v === "object" && !Array.isArray(v))
			section(!title || title === "database" ? words(k) :
			    `${title} · ${words(k)}`, v, nested, k);
	}
	if (figures.length || blocks.length)
		out.push(h("section", { style: "margin-bottom:1.5rem" },
		    title ? h("h2", title) : null,
		    figures.length ? h("div.grid.grid-4", figures) : null,
		    blocks.length ? h("div.grid.grid-2",
			{ style: "margin-top:1rem" }, blocks) : null));
	out.push(...nested);
}

export default async function adminMetrics(panel, ctx) {
	const slot = h("div", loading());
	panel.append(slot);
	let timer = null;
	ctx.onLeave(() => clearTimeout(timer));
	async function load() {
		let m;
		try {
			m = await api.get("/api/admin/metrics");
		} catch (err) {
			replace(slot, errorBox(err, load));
			return;
		}
		const out = [];
		section("", m, out);
		replace(slot, out.length ? out : h("p.muted", "No metrics yet."));
		timer = setTimeout(() => ctx.alive() && load(), 15000);
	}
	await load();
}
