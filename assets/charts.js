// Charts drawn as SVG (and plain HTML bars), small enough to need no
// library: calls over time with errors stacked on top, horizontal bars
// for status mixes and latency percentiles. Each chart carries a text
// description for screen readers.

import { h, svg, num } from "/assets/ui.js";

function niceMax(v) {
	if (v <= 0)
		return 1;
	const p = Math.pow(10, Math.floor(Math.log10(v)));
	for (const m of [1, 2, 2.5, 5, 10]) {
		if (m * p >= v)
			return m * p;
	}
	return 10 * p;
}

function shortTime(iso, bucket) {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return String(iso);
	const hm = d.toLocaleTimeString("en-GB", { hour: "2-digit",
	    minute: "2-digit" });
	if (bucket === "minute")
		return hm;
	if (bucket === "day")
		return d.toLocaleDateString("en-GB", { day: "numeric",
		    month: "short" });
	return d.toLocaleDateString("en-GB", { day: "numeric",
	    month: "short" }) + " " + hm;
}

const BUCKET_MS = { minute: 60000, hour: 3600000, day: 86400000 };
const MIN_BUCKETS = 30;

// The API lists only buckets that had calls; a chart needs the empty
// ones too, and a few before the first so one busy minute is not drawn
// as a wall.
function continuous(points, bucket) {
	const step = BUCKET_MS[bucket];
	const times = points.map((p) => new Date(p.t).getTime());
	if (!step || times.some(Number.isNaN))
		return points;
	const byTime = new Map(points.map((p, i) => [times[i], p]));
	const last = Math.max(...times);
	let first = Math.min(...times);
	if ((last - first) / step > 2000)
		return points;
	first = Math.min(first, last - (MIN_BUCKETS - 1) * step);
	const out = [];
	for (let t = first; t <= last; t += step) {
		out.push(byTime.get(t) ||
		    { t: new Date(t).toISOString(), count: 0, errors: 0 });
	}
	return out;
}

// points: [{t, count, errors?}] oldest first.
export function timeChart(points, { bucket = "minute", label = "Calls",
    errorLabel = "Errors" } = {}) {
	const W = 640, H = 200, L = 40, R = 8, T = 10, B = 28;
	if (!points || points.length === 0)
		return h("p.muted", "No data for this period yet.");
	points = continuous(points, bucket);
	const max = niceMax(Math.max(...points.map((p) => p.count || 0)));
	const bw = (W - L - R) / points.length;
	const y = (v) => T + (H - T - B) * (1 - v / max);
	const total = points.reduce((a, p) => a + (p.count || 0), 0);
	const errs = points.reduce((a, p) => a + (p.errors || 0), 0);
	const desc = `${label}: ${num(total)} in ${points.length} ` +
	    `${bucket} buckets, ${num(errs)} ${errorLabel.toLowerCase()}, ` +
	    `at most ${num(Math.max(...points.map((p) => p.count || 0)))} ` +
	    `in one ${bucket}.`;

	const g = [];
	for (const frac of [0, 0.5, 1]) {
		const v = max * frac;
		if (!Number.isInteger(v))
			continue;
		g.push(svg("line", { class: "grid-line", x1: L, x2: W - R,
		    y1: y(v), y2: y(v) }));
		g.push(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" },
		    num(Math.round(v))));
	}
	points.forEach((p, i) => {
		const x = L + i * bw + Math.max(bw * 0.12, 0.5);
		const w = Math.max(bw * 0.76, 1);
		const c = p.count || 0, e = Math.min(p.errors || 0, c);
		const tip = svg("title", {}, `${shortTime(p.t, bucket)}: ${c} ` +
		    `calls, ${e} errors`);
		g.push(svg("rect", { x, y: y(c - e), width: w,
		    height: y(0) - y(c - e), style: "fill:var(--chart-1)" }, tip));
		if (e > 0)
			g.push(svg("rect", { x, y: y(c), width: w,
			    height: y(c - e) - y(c), style: "fill:var(--chart-2)" },
			    tip.cloneNode(true)));
	});
	g.push(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(0),
	    y2: y(0) }));
	g.push(svg("text", { x: L, y: H - 8 }, shortTime(points[0].t, bucket)));
	g.push(svg("text", { x: W - R, y: H - 8, "text-anchor": "end" },
	    shortTime(points[points.length - 1].t, bucket)));

	const chart = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`,
	    role: "img", "aria-label": desc }, g);
	return h("figure.chart-figure", { style: "margin:0" }, chart,
	    h("div.chart-legend",
		h("span", h("span.swatch", { style: "background:var(--chart-1)" }),
		    label),
		errs > 0 || errorLabel !== "Errors" ? h("span",
		    h("span.swatch", { style: "background:var(--chart-2)" }),
		    errorLabel) : null));
}

// rows: [{label, value, display?, color?}]
export function barChart(rows, { label = "values" } = {}) {
	if (!rows || rows.length === 0)
		return h("p.muted", "Nothing to show yet.");
	const max = Math.max(...rows.map((r) => r.value || 0), 1);
	return h("div.bars", { role: "list", "aria-label": label },
	    rows.map((r) => h("div.bar-row", { role: "listitem" },
		h("span.bar-label", r.label),
		h("span.bar-track", { "aria-hidden": "true" },
		    h("span.bar-fill", { style: `display:block;width:${
			Math.max(100 * (r.value || 0) / max, 0.5).toFixed(1)}%;` +
			(r.color ? `background:${r.color}` : "") })),
		h("span.num", r.display !== undefined ? r.display :
		    num(r.value)))));
}

export function statusColor(code) {
	const c = Math.floor(Number(code) / 100);
	return c >= 2 && c <= 5 ? `var(--status-${c})` : "var(--muted)";
}
