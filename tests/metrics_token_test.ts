/**
 * METRICS_TOKEN: a scrape without it, or with a wrong one, gets 401 with a message about the
 * metrics token (not an API key); the proxy's own 401s still speak of API keys.
 */
import assert from "node:assert/strict";
import { ApiKeys } from "../lib/api_keys.ts";
import { withHarness } from "./support/exporter_harness.ts";

Deno.test("/metrics without or with a wrong token: 401 naming the metrics token", async () => {
  await withHarness({ env: { METRICS_TOKEN: "scrape-secret-42" } }, async (h) => {
    const missing = await fetch(`${h.url}/metrics`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="ollama-exporter"');
    assert.deepEqual(await missing.json(), {
      error: "unauthorized: send the metrics token as Authorization: Bearer <token>",
    });
    const wrong = await fetch(`${h.url}/metrics`, {
      headers: { authorization: "Bearer scrape-secret-43" },
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), { error: "unauthorized: the metrics token is not valid" });
    const right = await fetch(`${h.url}/metrics`, {
      headers: { authorization: "Bearer scrape-secret-42" },
    });
    assert.equal(right.status, 200);
    assert.match(await right.text(), /^ollama_up 1$/m);
  });
});

Deno.test("with API keys and a metrics token, each 401 names its own credential", async () => {
  const env = { API_KEYS: "alice:sk-alice-0123456789", METRICS_TOKEN: "scrape-secret-42" };
  await withHarness({ env }, async (h) => {
    const proxy = await fetch(`${h.url}/api/tags`);
    assert.equal(proxy.status, 401);
    assert.deepEqual(await proxy.json(), {
      error: "unauthorized: send an API key as Authorization: Bearer <key>",
    });
    const scrapeWithKey = await fetch(`${h.url}/metrics`, {
      headers: { authorization: "Bearer sk-alice-0123456789" },
    });
    assert.equal(scrapeWithKey.status, 401);
    assert.deepEqual(await scrapeWithKey.json(), {
      error: "unauthorized: the metrics token is not valid",
    });
  });
});

Deno.test("METRICS_TOKEN is one token, whole: commas and colons in it are part of it", async () => {
  await withHarness({ env: { METRICS_TOKEN: "12345678,x:yyyyyyyy" } }, async (h) => {
    for (const part of ["12345678", "yyyyyyyy", "x:yyyyyyyy"]) {
      const response = await fetch(`${h.url}/metrics`, {
        headers: { authorization: `Bearer ${part}` },
      });
      assert.equal(response.status, 401, part);
      await response.body?.cancel();
    }
    const whole = await fetch(`${h.url}/metrics`, {
      headers: { authorization: "Bearer 12345678,x:yyyyyyyy" },
    });
    assert.equal(whole.status, 200);
    await whole.body?.cancel();
  });
});

Deno.test("ApiKeys.token: shorter than 8 characters is refused, naming the setting only", () => {
  assert.throws(
    () => ApiKeys.token("abc", { name: "prometheus", source: "METRICS_TOKEN" }),
    { message: "Cannot use METRICS_TOKEN: it is shorter than 8 characters" },
  );
  const keys = ApiKeys.token("abc,d:#efgh", { name: "prometheus", source: "METRICS_TOKEN" });
  assert.equal(keys.size, 1);
  assert.equal(keys.identify("Bearer abc,d:#efgh"), "prometheus");
  assert.equal(keys.identify("Bearer abc"), null);
});
