/**
 * Log lines stay small whatever clients send: every field value is cut to 200 characters, so a
 * request with a 5 MB model name adds a line, not 5 MB, to the log.
 */
import assert from "node:assert/strict";
import { Logger, MAX_FIELD_LENGTH, truncateField } from "../lib/log.ts";
import { withHarness } from "./support/exporter_harness.ts";

Deno.test("truncateField: 200 characters, then how many more there were", () => {
  assert.equal(MAX_FIELD_LENGTH, 200);
  assert.equal(truncateField("a".repeat(200)), "a".repeat(200));
  assert.equal(truncateField("a".repeat(201)), `${"a".repeat(200)}…(1 more)`);
  assert.equal(truncateField("b".repeat(5_000_000)), `${"b".repeat(200)}…(4999800 more)`);
  const emoji = "x".repeat(199) + "😀" + "y";
  assert.equal(truncateField(emoji), `${"x".repeat(199)}…(3 more)`, "no half surrogate pair");
});

Deno.test("Logger cuts every field value and quotes what needs it", () => {
  const lines: string[] = [];
  const logger = new Logger("DEBUG", { sink: (line) => lines.push(line) });
  logger.info("proxied", { model: "m".repeat(300), path: "/a b", status: 200 });
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    new RegExp(
      `^\\S+ INFO  proxied model="${"m".repeat(200)}…\\(100 more\\)" path="/a b" status=200$`,
    ),
  );
});

Deno.test("three requests with a 5 MB model name add three short lines to the log", async () => {
  await withHarness({}, async (h) => {
    const model = "x".repeat(5 * 1024 * 1024);
    const before = h.logs.length;
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${h.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({ model, prompt: "hi", stream: false }),
      });
      assert.equal(response.status, 404);
      await response.arrayBuffer();
    }
    await h.settle();
    const added = h.logs.slice(before).filter((line) => !line.includes(" GET /metrics"));
    const bytes = added.reduce((sum, line) => sum + line.length, 0);
    assert.ok(bytes < 3 * 1024, `the requests added ${bytes} characters of log`);
    const proxied = added.filter((line) => line.includes(" proxied "));
    assert.equal(proxied.length, 3);
    for (const line of proxied) {
      assert.ok(line.length < 600, line.slice(0, 300));
      // The model field is the name cut to 200 characters, or absent when the scan of the
      // request body does not keep so long a value.
      const model = / model=("[^"]*"|\S*)/.exec(line)?.[1];
      if (model !== undefined) assert.match(model, /^"x{200}…\(\d+ more\)"$/);
    }
  });
});
