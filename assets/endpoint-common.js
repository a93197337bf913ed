// What the dashboard and the endpoint page share about endpoints.

// DESIGN section 6: creating an endpoint costs 25 credits. The API
// charges it; this is only what the page tells the person beforehand.
export const endpointCost = 25;

// Shell-quotes one argument for the curl examples.
function sq(s) {
	return "'" + String(s).replace(/'/g, "'\\''") + "'";
}

export function proxyExamples(proxyUrl) {
	const base = String(proxyUrl || "").replace(/\/+$/, "");
	return {
		get: `curl -i ${sq(base + "/")}`,
		post: `curl -i -X POST ${sq(base + "/items")} \\\n` +
		    `  -H 'Content-Type: application/json' \\\n` +
		    `  -d '{"name": "example"}'`,
	};
}
