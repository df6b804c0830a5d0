/**
 * Exemplars from the exporter end to end: requests carrying a W3C `traceparent` go through the
 * exporter (in front of the simulator); its OpenMetrics output attaches their trace ids to the
 * `ollama_response_seconds` and `ollama_time_to_first_token_seconds` buckets they fell in; the
 * real Prometheus, started with `--enable-feature=exemplar-storage`, scrapes the exporter and
 * gives the trace ids back through `/api/v1/query_exemplars` on the right series. A request
 * without a `traceparent`, or with an invalid one, leaves no exemplar; the text format never has
 * any.
 *
 * Without the `prometheus` binary this test fails: install it with `apt-get install prometheus`.
 */

import assert from "node:assert/strict";
import { withHarness } from "./support/exporter_harness.ts";
import { PrometheusServer, waitFor } from "./support/prometheus_server.ts";

const CHAT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const GENERATE_TRACE = "0af7651916cd43dd8448eb211c80319c";

function traceparent(traceId: string): string {
  return `00-${traceId}-00f067aa0ba902b7-01`;
}

Deno.test("trace ids of requests become exemplars that the real Prometheus stores", async () => {
  await withHarness({}, async (harness) => {
    const send = async (path: string, body: unknown, header?: string) => {
      const response = await fetch(`${harness.url}${path}`, {
        method: "POST",
        headers: header === undefined ? {} : { traceparent: header },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    };
    const messages = [{ role: "user", content: "hi" }];
    await send("/api/chat", { model: "llama3.2", messages }, traceparent(CHAT_TRACE));
    await send(
      "/api/generate",
      { model: "llama3.2", prompt: "hi", stream: false },
      traceparent(GENERATE_TRACE),
    );
    // No exemplar for these: none, an all-zero trace id, a malformed header.
    await send("/api/chat", { model: "qwen2.5:0.5b", messages });
    await send(
      "/api/chat",
      { model: "qwen2.5:0.5b", messages },
      traceparent("0".repeat(32)),
    );
    await send("/api/chat", { model: "qwen2.5:0.5b", messages }, "00-xyz-01");
    await harness.settle();

    const openMetrics = await (await fetch(`${harness.url}/metrics`, {
      headers: { accept: "application/openmetrics-text;version=1.0.0" },
    })).text();
    const withExemplars = openMetrics.split("\n").filter((line) => line.includes(" # {"));
    // The bucket depends on timing: the exemplar's value must lie in the bucket it is on.
    for (const line of withExemplars) {
      const [, le, value] = /le="([^"]+)"\} \d+ # \{[^}]*\} ([\d.e-]+) [\d.]+$/.exec(line) ?? [];
      assert.ok(le !== undefined && value !== undefined, line);
      assert.ok(le === "+Inf" || Number(value) <= Number(le), `${line}: value over its bucket`);
    }
    assert.deepEqual(
      withExemplars.map((line) =>
        line.replace(/,le="[^"]+"\} \d+ # /, "} # ").replace(/\} [\d.e-]+ [\d.]+$/, "}")
      ),
      [
        `ollama_response_seconds_bucket{model="llama3.2:latest",endpoint="/api/chat"} # {trace_id="${CHAT_TRACE}"}`,
        `ollama_response_seconds_bucket{model="llama3.2:latest",endpoint="/api/generate"} # {trace_id="${GENERATE_TRACE}"}`,
        `ollama_time_to_first_token_seconds_bucket{model="llama3.2:latest",endpoint="/api/chat"} # {trace_id="${CHAT_TRACE}"}`,
      ],
      openMetrics,
    );
    const text = await (await fetch(`${harness.url}/metrics`)).text();
    assert.ok(!text.includes("trace_id"), "the text format has no exemplars");

    const prometheus = await PrometheusServer.start({
      intervalSeconds: 1,
      features: ["exemplar-storage"],
      jobs: [{ name: "exporter", target: new URL(harness.url).host }],
    });
    try {
      const start = Date.now() / 1000 - 600;
      const found = await waitFor("the exemplars in Prometheus", async () => {
        const all = await prometheus.exemplars(
          '{__name__=~"ollama_(response_seconds|time_to_first_token_seconds)_bucket"}',
          start,
          Date.now() / 1000 + 60,
        );
        return all.length >= 3 ? all : undefined;
      }, { detail: () => prometheus.log });
      const got = found.map((entry) =>
        [
          entry.seriesLabels.__name__,
          entry.seriesLabels.endpoint,
          entry.seriesLabels.model,
          entry.exemplars.map((exemplar) => exemplar.labels.trace_id).join(","),
        ].join(" ")
      ).sort();
      assert.deepEqual(got, [
        `ollama_response_seconds_bucket /api/chat llama3.2:latest ${CHAT_TRACE}`,
        `ollama_response_seconds_bucket /api/generate llama3.2:latest ${GENERATE_TRACE}`,
        `ollama_time_to_first_token_seconds_bucket /api/chat llama3.2:latest ${CHAT_TRACE}`,
      ]);
    } finally {
      await prometheus.close();
    }
  });
});
