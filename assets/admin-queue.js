// Admin: the job queue: how many jobs are in each state, and the failed
// ones with their last error and a retry button.

import { api } from "/assets/api.js";
import {
	h, replace, loading, empty, errorBox, busy, num, time, table,
	toast, statusBadge,
} from "/assets/ui.js";

const STATES = ["waiting", "active", "delayed", "completed", "failed"];

export default async function adminQueue(panel, ctx) {
	const slot = h("div", loading());
	const err = h("div");
	panel.append(err, slot);
	let timer = null;
	ctx.onLeave(() => clearTimeout(timer));

	async function load() {
		let q;
		try {
			q = await api.get("/api/admin/queue");
		} catch (e) {
			replace(slot, errorBox(e, load));
			return;
		}
		const counts = q.counts || q.byState || {};
		const failed = q.failed || q.failedJobs || (q.items || [])
		    .filter((j) => j.state === "failed");
		replace(slot,
		    h("div.grid.grid-4", STATES.map((s) => h("div.card.stat",
			h("span.stat-value", num(counts[s] || 0)),
			h("span.stat-label", s)))),
		    q.oldestWaitingSeconds !== undefined ? h("p.muted",
			`Oldest waiting job: ${q.oldestWaitingSeconds} s`) : null,
		    h("h2", { style: "margin-top:1.5rem" }, "Failed jobs"),
		    failed.length === 0 ? empty("No failed jobs") :
		    table(["Job", "Queue", "Key", "Attempts", "Last error",
			"Finished", ""], failed.map((j) => {
			const b = h("button.btn.btn-small", { type: "button",
			    dataset: { jobId: j.id } }, "Retry");
			b.addEventListener("click", () => busy(b, async () => {
				await api.post(`/api/admin/queue/${j.id}/retry`, {});
				toast(`Job ${j.id} queued again.`, "success");
				await load();
			}, err));
			return h("tr", h("td", `#${j.id}`), h("td", j.queue || ""),
			    h("td.mono.small", j.dedupeKey || ""),
			    h("td.num", `${j.attempts ?? "?"}/${j.maxAttempts ?? "?"}`),
			    h("td.small", j.lastError || ""),
			    h("td.nowrap", time(j.finishedAt)),
			    h("td", statusBadge(j.state || "failed"), " ", b));
		    }), { caption: "Failed jobs" }));
		timer = setTimeout(() => ctx.alive() && load(), 5000);
	}
	await load();
}
