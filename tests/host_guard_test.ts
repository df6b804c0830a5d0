/**
 * DNS-rebinding protection as Ollama applies it: listening on loopback, the exporter refuses a
 * `Host` that does not name this machine (the exporter rewrites `Host` upstream, so Ollama's own
 * check cannot see it); listening on other addresses, it checks nothing.
 */
import assert from "node:assert/strict";
import { hostAllowed, hostName, isLoopbackListenHost } from "../lib/routes/host_guard.ts";
import { type ExporterHarness, withHarness } from "./support/exporter_harness.ts";
import { rawRequest } from "./support/raw_http.ts";

const GENERATE = JSON.stringify({ model: "llama3.2", prompt: "hi", stream: false });

function portOf(h: ExporterHarness): number {
  return Number(new URL(h.url).port);
}

async function statusFor(h: ExporterHarness, host: string, path = "/api/tags"): Promise<number> {
  return (await rawRequest(portOf(h), path, { headers: { Host: host } })).status;
}

Deno.test("the Host rule is Ollama's: loopback, private, unspecified IPs and local names", () => {
  const allowed = [
    "",
    "localhost",
    "LOCALHOST:8000",
    "127.0.0.1",
    "127.9.9.9:1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255:80",
    "192.168.1.10:8000",
    "0.0.0.0",
    "[::1]:8000",
    "::1",
    "[::]:80",
    "[fd12:3456::1]:8000",
    "[fc00::1]:80",
    "[::ffff:127.0.0.1]:1",
    "[::ffff:192.168.0.1]:8000",
    "[0:0:0:0:0:0:0:1]:8000",
    "my.localhost",
    "printer.local:631",
    "host.docker.internal:8000",
  ];
  const refused = [
    "evil.com",
    "evil.com:8000",
    "localhost.evil.com",
    "8.8.8.8",
    "172.32.0.1",
    "192.169.0.1",
    "169.254.169.254",
    "127.1",
    "127.000.0.1",
    "[fe80::1]",
    // Without a port the brackets stay (Go's SplitHostPort fails): no IP address, refused.
    "[::1]",
    "[::]",
    "[fd12:3456::1]",
    "[::ffff:127.0.0.1]",
    "[2001:db8::1]:80",
    "[::ffff:8.8.8.8]",
    "local",
    "internal",
    "localhost.",
  ];
  for (const host of allowed) assert.equal(hostAllowed(hostName(host)), true, host);
  for (const host of refused) assert.equal(hostAllowed(hostName(host)), false, host);
});

Deno.test("loopback listen addresses turn the check on; others do not", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LocalHost"]) {
    assert.equal(isLoopbackListenHost(host), true, host);
  }
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "localhost.x"]) {
    assert.equal(isLoopbackListenHost(host), false, host);
  }
});

Deno.test("listening on loopback: a foreign Host gets 403, localhost and ALLOWED_HOSTS 200", async () => {
  const env = { LISTEN_HOST: "127.0.0.1", ALLOWED_HOSTS: "ollama.example.com, *.corp.test" };
  await withHarness({ env }, async (h) => {
    const port = portOf(h);
    const refused = await rawRequest(port, "/api/generate", {
      method: "POST",
      headers: { Host: `rebind.evil.com:${port}`, "Content-Type": "application/json" },
      body: GENERATE,
    });
    assert.equal(refused.status, 403);
    assert.equal(
      refused.headers.find(([name]) => name === "content-type")?.[1],
      "application/json; charset=utf-8",
    );
    assert.deepEqual(JSON.parse(new TextDecoder().decode(refused.body)), {
      error: 'forbidden: Host "rebind.evil.com" is not allowed when the exporter listens on ' +
        "loopback (DNS-rebinding protection); add it to ALLOWED_HOSTS",
    });
    const openai = await rawRequest(port, "/v1/models", { headers: { Host: "evil.com" } });
    assert.equal(openai.status, 403);
    assert.equal(
      JSON.parse(new TextDecoder().decode(openai.body)).error.code,
      "host_not_allowed",
      "OpenAI paths get OpenAI's error shape",
    );
    assert.equal(await statusFor(h, "evil.com", "/metrics"), 403, "/metrics is guarded too");
    assert.equal(
      h.simulator.requests.filter((r) => r.path === "/api/generate").length,
      0,
      "nothing refused reached Ollama",
    );

    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "OLLAMA.example.com:443"]) {
      assert.equal(await statusFor(h, host), 200, host);
    }
    assert.equal(await statusFor(h, "gpu.corp.test"), 200, "wildcard entry");
    assert.equal(await statusFor(h, "corp.test"), 403, "a wildcard does not cover its base");
    assert.equal(await statusFor(h, "example.com"), 403);
    const allowed = await rawRequest(port, "/api/generate", {
      method: "POST",
      headers: { Host: `localhost:${port}` },
      body: GENERATE,
    });
    assert.equal(allowed.status, 200);
    const absolute = await rawRequest(port, "http://evil.com/api/tags", {
      headers: { Host: "localhost" },
    });
    assert.equal(absolute.status, 403, "an absolute-form target's host is checked too");
  });
});

Deno.test("listening on 0.0.0.0: no Host check", async () => {
  await withHarness({ env: { LISTEN_HOST: "0.0.0.0" } }, async (h) => {
    assert.equal(await statusFor(h, "rebind.evil.com"), 200);
    assert.equal(await statusFor(h, "8.8.8.8:80"), 200);
  });
});
