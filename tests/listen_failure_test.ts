/**
 * Start-up failures to listen are one line naming the address and port, exit code 2, no stack:
 * a port in use, a LISTEN_HOST that does not resolve, an address of another machine. The demo
 * names the port too.
 */
import assert from "node:assert/strict";
import { listenFailure } from "../lib/listen_failure.ts";
import { START_FLAGS } from "./support/exporter_process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `deno <args>` in the repository with `env` added; returns the exit code and output. */
async function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("listenFailure: one line naming the address, the reason and the fix", () => {
  const at = { hostname: "127.0.0.1", port: 8000 };
  assert.equal(
    listenFailure(new Deno.errors.AddrInUse("Address already in use (os error 98)"), at),
    "Cannot listen on 127.0.0.1:8000: the port is already in use by another program " +
      "(set PORT to a free port)",
  );
  assert.equal(
    listenFailure(new Deno.errors.AddrNotAvailable("Cannot assign requested address"), {
      hostname: "198.51.100.1",
      port: 8000,
    }),
    "Cannot listen on 198.51.100.1:8000: 198.51.100.1 is not an address of this machine " +
      "(set LISTEN_HOST to one of its addresses, or 0.0.0.0 for all of them)",
  );
  assert.equal(
    listenFailure(
      new Error("failed to lookup address information: Name or service not known"),
      { hostname: "exporter.invalid", port: 9000 },
    ),
    "Cannot listen on exporter.invalid:9000: the host name exporter.invalid cannot be resolved " +
      "(failed to lookup address information: Name or service not known; set LISTEN_HOST to an " +
      "IP address or a name of this machine)",
  );
  assert.equal(
    listenFailure(new Deno.errors.PermissionDenied("Permission denied (os error 13)"), {
      hostname: "::1",
      port: 80,
    }),
    "Cannot listen on [::1]:80: the system does not allow it (Permission denied (os error 13); " +
      "ports below 1024 need privileges: set PORT to 1024 or more)",
  );
  assert.equal(
    listenFailure(new Deno.errors.NotCapable("Requires net access"), at),
    "Cannot listen on 127.0.0.1:8000: no network permission (run with --allow-net)",
  );
  assert.equal(
    listenFailure(new Error("something\nelse"), at),
    "Cannot listen on 127.0.0.1:8000: something else",
  );
});

Deno.test("main: a failure to listen is one line on stderr and exit code 2", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    const cases: [Record<string, string>, RegExp][] = [
      [
        { LISTEN_HOST: "127.0.0.1", PORT: String(port) },
        new RegExp(
          `^ollama-exporter: Cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in ` +
            `use by another program \\(set PORT to a free port\\)\\n$`,
        ),
      ],
      [
        { LISTEN_HOST: "exporter.invalid", PORT: "0" },
        /^ollama-exporter: Cannot listen on exporter\.invalid:0: the host name exporter\.invalid cannot be resolved \(failed to lookup address information: [^\n]+; set LISTEN_HOST to an IP address or a name of this machine\)\n$/,
      ],
      [
        // TEST-NET-2 (RFC 5737): never an address of this machine.
        { LISTEN_HOST: "198.51.100.1", PORT: "0" },
        /^ollama-exporter: Cannot listen on 198\.51\.100\.1:0: 198\.51\.100\.1 is not an address of this machine \(set LISTEN_HOST to one of its addresses, or 0\.0\.0\.0 for all of them\)\n$/,
      ],
    ];
    for (const [env, expected] of cases) {
      const { code, stdout, stderr } = await run(["run", ...START_FLAGS, "main.ts"], env);
      assert.equal(code, 2, stderr);
      assert.match(stderr, expected);
      assert.equal(stdout, "");
    }
  } finally {
    taken.close();
  }
});

Deno.test("demo: a port in use is one line naming it", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    const { code, stderr } = await run(
      ["run", "--allow-net", "--allow-env", "--allow-read", "deploy/demo.ts", "--quiet"],
      { PORT: String(port), LISTEN_HOST: "127.0.0.1" },
    );
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `demo: Cannot listen on 127.0.0.1:${port}: the port is already in use by another program ` +
        "(set PORT to a free port)\n",
    );
  } finally {
    taken.close();
  }
});
