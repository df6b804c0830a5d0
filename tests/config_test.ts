import assert from "node:assert/strict";
import { loadConfig, parseOllamaHost, usage } from "../lib/config.ts";

Deno.test("defaults match the documentation", () => {
  const config = loadConfig({});
  assert.equal(config.ollamaUrl.href, "http://localhost:11434/");
  assert.equal(config.port, 8000);
  assert.equal(config.listenHost, "0.0.0.0");
  assert.equal(config.logLevel, "INFO");
  assert.equal(config.shutdownGraceSeconds, 25);
  assert.equal(config.healthIntervalSeconds, 15);
  assert.equal(config.maxModels, 100);
});

Deno.test("OLLAMA_HOST is read the way Ollama's CLI reads it", () => {
  const cases: [string, string][] = [
    ["localhost", "http://localhost:11434/"],
    ["127.0.0.1:11500", "http://127.0.0.1:11500/"],
    ["0.0.0.0", "http://127.0.0.1:11434/"],
    ["ollama", "http://ollama:11434/"],
    ["http://ollama:80", "http://ollama/"],
    ["https://gpu.example.com", "https://gpu.example.com/"],
    ["http://ollama:11434/", "http://ollama:11434/"],
    ["http://proxy.local/ollama/", "http://proxy.local/ollama"],
    ["ollama:80", "http://ollama/"],
    [" [::1]:9000 ", "http://[::1]:9000/"],
  ];
  for (const [input, expected] of cases) assert.equal(parseOllamaHost(input).href, expected, input);
});

Deno.test("bad values stop start-up with one line naming the variable and the value", () => {
  const cases: [Record<string, string>, string][] = [
    [
      { OLLAMA_HOST: "ftp://x" },
      'Cannot parse OLLAMA_HOST "ftp://x": scheme "ftp" is not http or https',
    ],
    [{ OLLAMA_HOST: "" }, 'Cannot parse OLLAMA_HOST "": the address is empty'],
    [
      { OLLAMA_HOST: "http://a b" },
      'Cannot parse OLLAMA_HOST "http://a b": not a host, host:port or URL',
    ],
    [{ PORT: "eighty" }, 'Cannot parse PORT "eighty": expected a whole number'],
    [{ PORT: "70000" }, 'Cannot parse PORT "70000": expected a number from 0 to 65535'],
    [
      { LOG_LEVEL: "LOUD" },
      'Cannot parse LOG_LEVEL "LOUD": expected DEBUG, INFO, WARNING or ERROR',
    ],
    [
      { SHUTDOWN_GRACE_SECONDS: "-1" },
      'Cannot parse SHUTDOWN_GRACE_SECONDS "-1": expected a number of seconds, 0 or more',
    ],
    [{ MAX_MODELS: "0" }, 'Cannot parse MAX_MODELS "0": expected a number from 1 to 100000'],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: Error) => {
      assert.equal(error.message, message);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("flags win over the environment and are validated the same way", () => {
  const config = loadConfig({ PORT: "9000", LOG_LEVEL: "debug" }, ["--port", "9100"]);
  assert.equal(config.port, 9100);
  assert.equal(config.logLevel, "DEBUG");
  assert.equal(loadConfig({ LOG_LEVEL: "warning" }).logLevel, "WARN");
  assert.throws(() => loadConfig({}, ["--port=x"]), /^Error: Cannot parse --port "x"/);
  assert.throws(() => loadConfig({}, ["--bogus"]), /Cannot parse the command line: .*bogus/);
});

Deno.test("usage lists every variable", () => {
  for (const name of ["OLLAMA_HOST", "PORT", "LISTEN_HOST", "LOG_LEVEL", "MAX_MODELS"]) {
    assert.ok(usage().includes(name), name);
  }
});

Deno.test("the start, dev and compile tasks allow exactly the configuration variables", async () => {
  const { CONFIG_SETTINGS } = await import("../lib/config.ts");
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks;
  const expected = CONFIG_SETTINGS.map((s) => s.env).sort();
  for (const name of ["start", "dev", "compile"]) {
    const match = /--allow-env=(\S+)/.exec(tasks[name]);
    assert.ok(match, `${name} has --allow-env=<list>`);
    assert.deepEqual(match[1]!.split(",").sort(), expected, name);
  }
});
