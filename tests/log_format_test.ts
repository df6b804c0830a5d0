/**
 * LOG_FORMAT: `text` lines as before, or `json`, one object per line with `time`, `level`,
 * `message` and the fields as members, field values cut the same way.
 */
import assert from "node:assert/strict";
import { getLogger, Logger, parseLogFormat, setup } from "../lib/log.ts";

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

Deno.test("json: one object per line, fields as members with their JSON types", () => {
  const lines: string[] = [];
  const logger = new Logger("DEBUG", { sink: (line) => lines.push(line), format: "json" });
  logger.info("proxied", {
    method: "POST",
    path: "/api/generate",
    status: 200,
    stream: true,
    model: null,
    skipped: undefined,
  });
  logger.warn("Ollama does not answer", { upstream: "http://127.0.0.1:11434", error: 'a "b"\n' });
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.match(first.time, TIME);
  assert.deepEqual({ ...first, time: "T" }, {
    time: "T",
    level: "INFO",
    message: "proxied",
    method: "POST",
    path: "/api/generate",
    status: 200,
    stream: true,
    model: null,
  });
  assert.deepEqual(Object.keys(first).slice(0, 3), ["time", "level", "message"]);
  const second = JSON.parse(lines[1]!);
  assert.deepEqual({ ...second, time: "T" }, {
    time: "T",
    level: "WARN",
    message: "Ollama does not answer",
    upstream: "http://127.0.0.1:11434",
    error: 'a "b"\n',
  });
  assert.ok(!lines[1]!.includes("\n"), "one line");
});

Deno.test("json: field values are cut to 200 characters; core members cannot be replaced", () => {
  const lines: string[] = [];
  const logger = new Logger("INFO", { sink: (line) => lines.push(line), format: "json" });
  logger.debug("dropped below the level");
  logger.error("Cannot handle the request", {
    model: "m".repeat(300),
    message: "from a field",
    level: "x",
  });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!);
  assert.equal(record.model, `${"m".repeat(200)}…(100 more)`);
  assert.equal(record.message, "Cannot handle the request");
  assert.equal(record.level, "ERROR");
  assert.equal(record.field_message, "from a field");
  assert.equal(record.field_level, "x");
});

Deno.test("text stays the default format", () => {
  const lines: string[] = [];
  new Logger("INFO", { sink: (line) => lines.push(line) }).info("listening", { address: "a b" });
  assert.match(lines[0]!, /^\S+Z INFO {2}listening address="a b"$/);
});

Deno.test("setup passes the format on; parseLogFormat reads what users write", () => {
  const lines: string[] = [];
  const logger = setup({ level: "INFO", format: "json", sink: (line) => lines.push(line) });
  assert.equal(getLogger(), logger);
  logger.info("hello", { n: 1 });
  assert.deepEqual({ ...JSON.parse(lines[0]!), time: "T" }, {
    time: "T",
    level: "INFO",
    message: "hello",
    n: 1,
  });
  setup();
  assert.equal(parseLogFormat(" JSON "), "json");
  assert.equal(parseLogFormat("Text"), "text");
  assert.equal(parseLogFormat("logfmt"), null);
});
