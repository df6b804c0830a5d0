import assert from "node:assert/strict";
import { CONFIG_SETTINGS, loadConfig, parseOllamaHost, usage } from "../lib/config.ts";

Deno.test("defaults match the documentation", () => {
  const config = loadConfig({});
  assert.equal(config.ollamaUrl.href, "http://localhost:11434/");
  assert.equal(config.port, 8000);
  assert.equal(config.listenHost, "0.0.0.0");
  assert.equal(config.logLevel, "INFO");
  assert.equal(config.shutdownGraceSeconds, 25);
  assert.equal(config.healthIntervalSeconds, 15);
  assert.equal(config.maxModels, 100);
  assert.equal(config.logFormat, "text");
  assert.equal(config.shutdownDelaySeconds, 0);
});

Deno.test("LOG_FORMAT and SHUTDOWN_DELAY_SECONDS are read, flags winning", () => {
  const config = loadConfig({ LOG_FORMAT: " JSON ", SHUTDOWN_DELAY_SECONDS: "2.5" });
  assert.equal(config.logFormat, "json");
  assert.equal(config.shutdownDelaySeconds, 2.5);
  const flags = loadConfig({ LOG_FORMAT: "json" }, [
    "--log-format",
    "text",
    "--shutdown-delay-seconds",
    "10",
  ]);
  assert.equal(flags.logFormat, "text");
  assert.equal(flags.shutdownDelaySeconds, 10);
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
    ["localhost:65535", "http://localhost:65535/"],
    ["http://ollama:1/", "http://ollama:1/"],
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
    [{ PORT: "eighty" }, 'Cannot parse PORT "eighty": expected a whole number from 0 to 65535'],
    [{ PORT: "70000" }, 'Cannot parse PORT "70000": expected a whole number from 0 to 65535'],
    [{ PORT: "-1" }, 'Cannot parse PORT "-1": expected a whole number from 0 to 65535'],
    [{ PORT: "80.5" }, 'Cannot parse PORT "80.5": expected a whole number from 0 to 65535'],
    [
      { MAX_REQUEST_BYTES: "100" },
      'Cannot parse MAX_REQUEST_BYTES "100": expected a whole number of 1024 or more',
    ],
    [
      { OLLAMA_HOST: "localhost:99999" },
      'Cannot parse OLLAMA_HOST "localhost:99999": port 99999 is out of range (1–65535)',
    ],
    [
      { OLLAMA_HOST: "http://[::1]:70000/ollama" },
      'Cannot parse OLLAMA_HOST "http://[::1]:70000/ollama": port 70000 is out of range (1–65535)',
    ],
    [
      { OLLAMA_HOST: "ollama:0" },
      'Cannot parse OLLAMA_HOST "ollama:0": port 0 is out of range (1–65535)',
    ],
    [
      { METRICS_TOKEN: "abc" },
      "Cannot parse METRICS_TOKEN (value hidden): it is shorter than 8 characters",
    ],
    [
      { METRICS_TOKEN: "abc def ghi" },
      "Cannot parse METRICS_TOKEN (value hidden): the token may not contain white space",
    ],
    [{ LOG_FORMAT: "xml" }, 'Cannot parse LOG_FORMAT "xml": expected text or json'],
    [
      { SHUTDOWN_DELAY_SECONDS: "soon" },
      'Cannot parse SHUTDOWN_DELAY_SECONDS "soon": expected a number of seconds, 0 or more',
    ],
    [
      { LOG_LEVEL: "LOUD" },
      'Cannot parse LOG_LEVEL "LOUD": expected DEBUG, INFO, WARNING or ERROR',
    ],
    [
      { SHUTDOWN_GRACE_SECONDS: "-1" },
      'Cannot parse SHUTDOWN_GRACE_SECONDS "-1": expected a number of seconds, 0 or more',
    ],
    [{ MAX_MODELS: "0" }, 'Cannot parse MAX_MODELS "0": expected a whole number from 1 to 100000'],
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

/** The variables lib/config.ts declares, read from its source: `env: "NAME",` in SETTINGS. */
async function declaredVariables(): Promise<string[]> {
  const source = await Deno.readTextFile(new URL("../lib/config.ts", import.meta.url));
  return [...source.matchAll(/^ {4}env: "([A-Z0-9_]+)",$/gm)].map((match) => match[1]!);
}

/** The variables `deno task start` lets the exporter read (`--allow-env=A,B,...`). */
async function allowedVariables(): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks;
  const match = /--allow-env=(\S+)/.exec(tasks.start);
  assert.ok(match, "the start task has --allow-env=<list>");
  return match[1]!.split(",");
}

Deno.test("usage lists every variable the configuration reads, with its flag, text and default", async () => {
  const declared = await declaredVariables();
  const allowed = await allowedVariables();
  // Every variable the exporter may read is a setting, and every setting is read from one.
  assert.deepEqual(declared, CONFIG_SETTINGS.map((setting) => setting.env), "lib/config.ts");
  assert.deepEqual([...allowed].sort(), [...declared].sort(), "deno.json start --allow-env");
  const text = usage();
  const rows = text.split("\n").filter((line) => /^ {2}--[a-z]/.test(line));
  assert.deepEqual(rows.slice(-2).map((row) => row.split(/\s+/)[1]), ["--help,", "--version"]);
  assert.equal(rows.length, declared.length + 2, "one row per setting, then --help and --version");
  for (const [i, name] of declared.entries()) {
    const setting = CONFIG_SETTINGS[i]!;
    const row = rows[i]!;
    const match = new RegExp(`^ {2}--${setting.flag} +${name} +(\\S.*)$`).exec(row);
    assert.ok(
      match,
      `${name}: a row "--${setting.flag} ${name} <text>", not ${JSON.stringify(row)}`,
    );
    const meaning = match[1]!;
    if (setting.fallback === "") {
      assert.doesNotMatch(meaning, /\(default /, name);
      assert.ok(meaning.length >= 10, `${name} says what it does: ${JSON.stringify(meaning)}`);
    } else {
      const suffix = ` (default ${setting.fallback})`;
      assert.ok(meaning.endsWith(suffix), `${name} ends with${suffix}: ${JSON.stringify(meaning)}`);
      const doc = meaning.slice(0, -suffix.length);
      assert.ok(doc.length >= 10, `${name} says what it does: ${JSON.stringify(doc)}`);
    }
  }
  assert.match(text, /^ {2}--help, -h {17}print this and exit$/m);
  assert.match(text, /^ {2}--version {18}print the exporter's and Deno's versions and exit$/m);
});

Deno.test("the start, dev and compile tasks allow exactly the configuration variables", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks;
  const expected = CONFIG_SETTINGS.map((s) => s.env).sort();
  for (const name of ["start", "dev", "compile"]) {
    const match = /--allow-env=(\S+)/.exec(tasks[name]);
    assert.ok(match, `${name} has --allow-env=<list>`);
    assert.deepEqual(match[1]!.split(",").sort(), expected, name);
  }
});
