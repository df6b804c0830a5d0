/**
 * API keys fail closed: a key source that is set but yields no key stops start-up with one line
 * naming it, instead of starting with no authentication (an empty Kubernetes secret, blanks).
 */
import assert from "node:assert/strict";
import { ApiKeys } from "../lib/api_keys.ts";
import { loadConfig } from "../lib/config.ts";
import { Exporter } from "../lib/exporter.ts";
import { Logger } from "../lib/log.ts";
import { START_FLAGS } from "./support/exporter_process.ts";

const quiet = new Logger("ERROR", { sink: () => {} });
const dead = "http://127.0.0.1:9";

/** The message the Exporter constructor throws, or `null` when it starts. */
async function startError(
  env: Record<string, string>,
  apiKeysFileText?: string,
): Promise<string | null> {
  const config = loadConfig({ OLLAMA_HOST: dead, ...env });
  try {
    const exporter = new Exporter(config, {
      logger: quiet,
      ...(apiKeysFileText !== undefined ? { apiKeysFileText } : {}),
    });
    await exporter.close();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

Deno.test("API_KEYS set to anything but the empty string must hold a key", async () => {
  const none = "Cannot parse API_KEYS: it holds no keys";
  assert.equal(await startError({ API_KEYS: " " }), none);
  assert.equal(await startError({ API_KEYS: "\n\t" }), none);
  assert.equal(await startError({ API_KEYS: "," }), none);
  assert.equal(await startError({ API_KEYS: "# alice:sk-alice-0123456789" }), none);
  assert.equal(await startError({ API_KEYS: "" }), null, "exactly empty: access is open");
  assert.equal(await startError({ API_KEYS: "alice:sk-alice-0123456789" }), null);
});

Deno.test("API_KEYS_FILE must hold a key: an empty secret stops start-up naming the file", async () => {
  const env = { API_KEYS_FILE: "/run/secrets/keys" };
  const none = 'Cannot parse API_KEYS_FILE "/run/secrets/keys": it holds no keys';
  assert.equal(await startError(env, ""), none, "a 0-byte file");
  assert.equal(await startError(env, "\n\n"), none);
  assert.equal(await startError(env, "# webui:sk-webui-0123456789\n"), none, "comments only");
  assert.equal(await startError(env, "webui:sk-webui-0123456789\n"), null);
  assert.equal(
    await startError(env),
    'Cannot use API_KEYS_FILE "/run/secrets/keys": its contents were not read',
  );
});

Deno.test("API_KEYS and API_KEYS_FILE together: each must hold a key, names unique across both", async () => {
  const env = { API_KEYS: " ", API_KEYS_FILE: "/k" };
  assert.equal(
    await startError(env, "webui:sk-webui-0123456789"),
    "Cannot parse API_KEYS: it holds no keys",
    "a file with keys does not excuse an empty API_KEYS",
  );
  assert.equal(
    await startError({ API_KEYS: "alice:sk-alice-0123456789", API_KEYS_FILE: "/k" }, ""),
    'Cannot parse API_KEYS_FILE "/k": it holds no keys',
  );
  assert.equal(
    await startError(
      { API_KEYS: "alice:sk-alice-0123456789", API_KEYS_FILE: "/k" },
      "alice:sk-other-0123456789",
    ),
    'Cannot parse API_KEYS_FILE "/k": entry 1 repeats the name "alice" already named in API_KEYS',
  );
  const keys = ApiKeys.fromSources([
    { text: "alice:sk-alice-0123456789", source: "API_KEYS" },
    { text: "bob:sk-bob-0123456789\n", source: "API_KEYS_FILE" },
  ]);
  assert.equal(keys.size, 2);
  assert.equal(keys.identify("Bearer sk-bob-0123456789"), "bob");
});

Deno.test("API_KEYS_FILE of blanks is refused by the configuration", () => {
  assert.throws(() => loadConfig({ API_KEYS_FILE: "  " }), {
    message: 'Cannot parse API_KEYS_FILE "  ": expected a file path, not blanks',
  });
});

async function runMain(env: Record<string, string>, readable: string) {
  const args = START_FLAGS.map((flag) =>
    flag.startsWith("--allow-read=") ? `${flag},${readable}` : flag
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args, "main.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { PORT: "0", LISTEN_HOST: "127.0.0.1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("main.ts: an empty API_KEYS_FILE or a blank API_KEYS stops start-up with one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/keys`;
    await Deno.writeTextFile(file, "");
    assert.deepEqual(await runMain({ API_KEYS_FILE: file }, dir), {
      code: 2,
      stderr: `ollama-exporter: Cannot parse API_KEYS_FILE "${file}": it holds no keys\n`,
    });
    assert.deepEqual(await runMain({ API_KEYS: " " }, dir), {
      code: 2,
      stderr: "ollama-exporter: Cannot parse API_KEYS: it holds no keys\n",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
