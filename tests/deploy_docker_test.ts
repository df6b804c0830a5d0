/**
 * The container image and the compose stack, checked without a Docker engine.
 *
 * - The Dockerfile is parsed: the base image is `denoland/deno` at the Deno version `.ci/run`
 *   installs (Debian tag), the dependency manifest is copied before the sources, the process
 *   runs as the non-root `deno` user, the default port is exposed, the health check needs no
 *   curl, and CMD is exec form with exactly the permission flags of deno.json's `start` task.
 * - `.dockerignore` is applied with Docker's rules: the build context is exactly what the
 *   Dockerfile copies, and main.ts's module graph stays inside it.
 * - The image is then imitated: the files the Dockerfile copies go to a temporary /app, its
 *   `RUN deno cache` step runs there against an empty DENO_DIR, and the exporter is started with
 *   exactly the Dockerfile's CMD and ENV. It must answer /healthz, serve `ollama_up 0` with
 *   Ollama unreachable, pass the Dockerfile's own HEALTHCHECK command, and exit 0 on SIGTERM.
 * - compose.yaml parses, pins its images, builds from this Dockerfile, mounts files that exist,
 *   and wires the exporter, Prometheus and Grafana together.
 */

import assert from "node:assert/strict";
import { parse as parseYaml } from "npm:yaml@2.9.1";
import { CONFIG_SETTINGS, loadConfig, parseOllamaHost } from "../lib/config.ts";
import { freePort } from "./support/processes.ts";

const ROOT = new URL("..", import.meta.url);
const rootPath = (relative: string) => new URL(relative, ROOT).pathname;
const DEFAULT_PORT = loadConfig({}).port;
const CONFIG_ENV = new Set(CONFIG_SETTINGS.map((setting) => setting.env));

// ------------------------------------------------------------------------------------------
// Dockerfile parsing

/** One Dockerfile instruction: its keyword (upper case) and the rest of its logical line. */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Parses a Dockerfile into instructions: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line.startsWith("#")) continue;
    if (line === "" && pending === "") continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1).trimEnd() + " ";
      continue;
    }
    const logical = (pending + line).trim();
    pending = "";
    if (logical === "") continue;
    const match = logical.match(/^(\w+)\s+([\s\S]*)$/);
    if (match === null) throw new Error(`Cannot parse the Dockerfile line "${logical}"`);
    instructions.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] as string });
  }
  if (pending !== "") throw new Error("The Dockerfile ends inside a line continuation");
  return instructions;
}

/** The JSON array of an exec-form instruction; fails the test for the shell form. */
function execForm(instruction: Instruction, what: string): string[] {
  assert.ok(
    instruction.args.startsWith("["),
    `${what} must use the exec form (a JSON array) so that signals reach the process, got: ` +
      instruction.args,
  );
  const parsed: unknown = JSON.parse(instruction.args);
  assert.ok(
    Array.isArray(parsed) && parsed.every((item) => typeof item === "string"),
    `${what} must be a JSON array of strings`,
  );
  return parsed as string[];
}

/** Flags that grant or deny permissions: `--allow-*`, `--deny-*`, `-A`. */
function permissionFlags(args: readonly string[]): string[] {
  return args.filter((arg) => /^--(allow|deny)-/.test(arg) || arg === "-A").sort();
}

/** The V8 flags among `args`. */
function v8Flags(args: readonly string[]): string[] {
  return args.filter((arg) => arg.startsWith("--v8-flags="));
}

/** The variables an `--allow-env=` flag lists. */
function allowedEnv(flags: readonly string[]): Set<string> {
  const flag = flags.find((f) => f.startsWith("--allow-env="));
  assert.ok(flag, `no --allow-env=<list> among ${flags.join(" ")}`);
  return new Set(flag.slice("--allow-env=".length).split(","));
}

/** `ENV` instructions as a map (the `KEY=value` forms only). */
function dockerfileEnv(instructions: readonly Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of instructions) {
    if (keyword !== "ENV") continue;
    for (const match of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const value = match[2] as string;
      env[match[1] as string] = value.startsWith('"') ? JSON.parse(value) : value;
    }
  }
  return env;
}

const dockerfile = parseDockerfile(await Deno.readTextFile(rootPath("Dockerfile")));
const only = (keyword: string): Instruction => {
  const found = dockerfile.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `the Dockerfile should have exactly one ${keyword}`);
  return found[0] as Instruction;
};
const startTask: string = JSON.parse(await Deno.readTextFile(rootPath("deno.json"))).tasks.start;
const startArgs = startTask.trim().split(/\s+/);

// ------------------------------------------------------------------------------------------
// .dockerignore, with Docker's matching rules

interface IgnoreRule {
  readonly negated: boolean;
  readonly regex: RegExp;
}

function globToRegex(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else if (char === "[" || char === "\\") {
      throw new Error(`The test does not support "${char}" in .dockerignore patterns`);
    } else {
      source += char.replace(/[.+^${}()|]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

/** Reads .dockerignore: a path is excluded by the last rule matching it or one of its parents. */
function parseDockerignore(text: string): (path: string) => boolean {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    const pattern = (negated ? line.slice(1) : line).trim().replace(/^\/+|\/+$/g, "");
    rules.push({ negated, regex: globToRegex(pattern) });
  }
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.negated;
    }
    return excluded;
  };
}

async function* walk(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const relative = prefix + entry.name;
    if (entry.isDirectory) {
      if (relative === ".git") continue;
      yield* walk(`${dir}/${entry.name}`, relative + "/");
    } else {
      yield relative;
    }
  }
}

/** The `COPY` instructions: sources (relative to the context) and destination. */
function copies(): { sources: string[]; destination: string }[] {
  return dockerfile.filter((i) => i.keyword === "COPY").map((instruction) => {
    const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"));
    assert.ok(words.length >= 2, `COPY needs a source and a destination: ${instruction.args}`);
    return { sources: words.slice(0, -1), destination: words.at(-1) as string };
  });
}

/** Every file of the repository the build context holds, after .dockerignore. */
async function buildContext(): Promise<string[]> {
  const excluded = parseDockerignore(await Deno.readTextFile(rootPath(".dockerignore")));
  const files: string[] = [];
  for await (const file of walk(rootPath("."))) {
    if (!excluded(file)) files.push(file);
  }
  return files.sort();
}

/** The context files one COPY source takes (a file, or everything under a directory). */
function filesOf(source: string, context: readonly string[]): string[] {
  const clean = source.replace(/^\.\//, "").replace(/\/+$/, "");
  if (clean === ".") return [...context];
  return context.filter((file) => file === clean || file.startsWith(clean + "/"));
}

// ------------------------------------------------------------------------------------------
// Running things

async function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; output: string }> {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    output: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

/** Replaces a leading `deno` with this Deno's executable. */
function denoCommand(argv: readonly string[]): [string, string[]] {
  assert.equal(argv[0], "deno", `expected a deno command, got ${argv.join(" ")}`);
  return [Deno.execPath(), argv.slice(1)];
}

// ------------------------------------------------------------------------------------------
// Dockerfile tests

Deno.test("Dockerfile: the base image is denoland/deno at the Deno version CI installs, Debian tag", async () => {
  const ci = await Deno.readTextFile(rootPath(".ci/run"));
  const ciVersion = ci.match(/deno@(\d+\.\d+\.\d+)/)?.[1];
  assert.ok(ciVersion, ".ci/run should install a pinned deno@X.Y.Z");
  const from = dockerfile.filter((i) => i.keyword === "FROM");
  assert.equal(from.length, 1, "a single stage is expected");
  assert.equal(
    (from[0] as Instruction).args,
    `denoland/deno:${ciVersion}`,
    "the image must use the Deno version CI tests with; the plain version tag is the Debian one",
  );
});

Deno.test("Dockerfile: CMD is exec form with exactly the start task's permission and V8 flags", () => {
  assert.equal(
    dockerfile.filter((i) => i.keyword === "ENTRYPOINT").length,
    0,
    "keep the base image's ENTRYPOINT (tini + its entry script) so that PID 1 forwards SIGTERM",
  );
  const cmd = execForm(only("CMD"), "CMD");
  assert.equal(cmd[0], "run", 'CMD starts with "run" (the entry script execs `deno run ...`)');
  assert.equal(cmd.at(-1), "main.ts");
  assert.equal(startArgs.slice(0, 2).join(" "), "deno run");
  assert.equal(startArgs.at(-1), "main.ts");
  assert.deepEqual(
    permissionFlags(cmd),
    permissionFlags(startArgs),
    "the permission flags must equal those of the start task in deno.json",
  );
  assert.deepEqual(v8Flags(cmd), v8Flags(startArgs), "the V8 flags must equal the start task's");
  assert.ok(!cmd.includes("-A") && !cmd.includes("--allow-all"), "no blanket permissions");
  const env = allowedEnv(permissionFlags(cmd));
  const missing = [...CONFIG_ENV].filter((name) => !env.has(name));
  assert.deepEqual(
    missing,
    [],
    `--allow-env must list every configuration variable (lib/config.ts), or the exporter ` +
      `cannot read it: missing ${missing.join(", ")}`,
  );
});

Deno.test("Dockerfile: runs as the non-root deno user, exposes the default port", () => {
  const users = dockerfile.filter((i) => i.keyword === "USER").map((i) => i.args.trim());
  assert.ok(users.length > 0, "the Dockerfile must set USER");
  const last = users.at(-1) as string;
  assert.equal(last, "deno");
  assert.ok(!/^(root|0)(:|$)/.test(last));
  const userIndex = dockerfile.findLastIndex((i) => i.keyword === "USER");
  const cmdIndex = dockerfile.findIndex((i) => i.keyword === "CMD");
  assert.ok(userIndex < cmdIndex, "USER must come before CMD");
  const exposed = dockerfile.filter((i) => i.keyword === "EXPOSE")
    .flatMap((i) => i.args.split(/\s+/)).map((port) => port.replace(/\/tcp$/, ""));
  assert.deepEqual(exposed, [String(DEFAULT_PORT)], "EXPOSE the default PORT of lib/config.ts");
});

Deno.test("Dockerfile: manifest first, then sources, then `deno cache --frozen main.ts` (runtime lock) as deno", () => {
  assert.equal(dockerfile.filter((i) => i.keyword === "ADD").length, 0, "use COPY, not ADD");
  const steps = copies();
  const first = steps[0];
  assert.ok(first, "the Dockerfile copies nothing");
  assert.deepEqual(
    [...first.sources].sort(),
    ["deno.json", "deno.runtime.lock"],
    "the first COPY takes the dependency manifest and its lock, and nothing else",
  );
  for (const step of steps.slice(1)) {
    assert.ok(
      !step.sources.some((source) => source === "." || source === "./"),
      "copy the sources by name: `COPY . .` would defeat .dockerignore's allowlist review",
    );
  }
  const runs = dockerfile.map((instruction, index) => ({ instruction, index }))
    .filter(({ instruction }) => instruction.keyword === "RUN");
  assert.equal(runs.length, 1, "one RUN step is expected: the cache step");
  const cache = runs[0] as { instruction: Instruction; index: number };
  assert.equal(cache.instruction.args, "deno cache --lock=deno.runtime.lock --frozen main.ts");
  const lastCopy = dockerfile.findLastIndex((i) => i.keyword === "COPY");
  const user = dockerfile.findIndex((i) => i.keyword === "USER");
  assert.ok(cache.index > lastCopy, "cache after every source is copied");
  assert.ok(user !== -1 && user < cache.index, "cache as the runtime user, so DENO_DIR is its own");
});

Deno.test("Dockerfile: the health check fetches /healthz with Deno, in exec form", () => {
  const healthcheck = only("HEALTHCHECK");
  const match = healthcheck.args.match(/^((?:--[\w-]+=\S+\s+)*)CMD\s+(\[.*\])$/s);
  assert.ok(match, `HEALTHCHECK [options] CMD [exec form] expected, got: ${healthcheck.args}`);
  for (const option of ["interval", "timeout", "retries"]) {
    assert.match(match[1] as string, new RegExp(`--${option}=`), `HEALTHCHECK --${option}`);
  }
  const argv = execForm({ keyword: "HEALTHCHECK", args: match[2] as string }, "HEALTHCHECK CMD");
  assert.deepEqual(argv.slice(0, 2), ["deno", "eval"], "the image has no curl: use deno eval");
  const script = argv.at(-1) as string;
  assert.match(script, /\/healthz/);
  assert.match(script, /Deno\.env\.get\('PORT'\)/, "the health check follows PORT");
  assert.ok(
    script.includes(`'${DEFAULT_PORT}'`),
    `the health check's fallback port is the default PORT ${DEFAULT_PORT}`,
  );
});

// ------------------------------------------------------------------------------------------
// Build context

Deno.test(".dockerignore: the build context is exactly what the Dockerfile copies", async () => {
  const context = await buildContext();
  const copied = new Set<string>();
  for (const { sources } of copies()) {
    for (const source of sources) {
      const files = filesOf(source, context);
      assert.ok(files.length > 0, `COPY ${source}: .dockerignore leaves nothing of it`);
      for (const file of files) copied.add(file);
    }
  }
  const unused = context.filter((file) => !copied.has(file));
  assert.deepEqual(unused, [], "files sent to the Docker daemon that no COPY uses");
  for (const file of context) {
    assert.ok(!/(^|\/)\.env|_test\.ts$|(^|\/)tests\//.test(file), `${file} in the context`);
  }
});

Deno.test(".dockerignore: main.ts's module graph stays inside what the image copies", async () => {
  const context = new Set(await buildContext());
  const { code, output } = await run(Deno.execPath(), ["info", "--json", "main.ts"], {
    cwd: rootPath("."),
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/tmp" },
  });
  assert.equal(code, 0, output);
  const info = JSON.parse(output) as { modules: { specifier: string }[] };
  const root = new URL(".", ROOT).href;
  const local = info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"));
  assert.ok(local.length > 1, "deno info found no modules");
  for (const specifier of local) {
    assert.ok(specifier.startsWith(root), `${specifier} is outside the repository`);
    const relative = decodeURIComponent(specifier.slice(root.length));
    assert.ok(context.has(relative), `main.ts imports ${relative}, which the image does not copy`);
  }
});

// ------------------------------------------------------------------------------------------
// The image, imitated

Deno.test({
  name:
    "the image's CMD, run like the container: /healthz 200, ollama_up 0, HEALTHCHECK, SIGTERM → 0",
  sanitizeResources: true,
  sanitizeOps: true,
  async fn() {
    const context = await buildContext();
    const work = await Deno.makeTempDir({ prefix: "deploy_docker_" });
    try {
      // COPY: the files the Dockerfile copies, where it copies them (WORKDIR is /app).
      const app = `${work}/app`;
      const denoDir = `${work}/deno-dir`;
      await Deno.mkdir(app);
      await Deno.mkdir(denoDir);
      assert.equal(only("WORKDIR").args, "/app");
      for (const { sources, destination } of copies()) {
        for (const source of sources) {
          const clean = source.replace(/^\.\//, "").replace(/\/+$/, "");
          for (const file of filesOf(source, context)) {
            const inDestination = destination.endsWith("/") && destination !== "./"
              ? destination.replace(/^\.\//, "") + file.slice(clean.length + 1)
              : file;
            const target = `${app}/${inDestination}`;
            await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
            await Deno.copyFile(rootPath(file), target);
          }
        }
      }
      // The container's environment: the Dockerfile's ENV, DENO_DIR fresh and empty.
      const imageEnv = {
        ...dockerfileEnv(dockerfile),
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: work,
        DENO_DIR: denoDir,
        // This machine's way to the npm registry (its certificates and proxy), as a build host
        // would have its own.
        ...networkEnv(),
      };
      // RUN: the cache step.
      const [denoPath, cacheArgs] = denoCommand(
        (dockerfile.find((i) => i.keyword === "RUN") as Instruction).args.split(/\s+/),
      );
      const cached = await run(denoPath, cacheArgs, { cwd: app, env: imageEnv });
      assert.equal(cached.code, 0, `RUN ${cacheArgs.join(" ")} failed:\n${cached.output}`);
      // The image holds the one runtime dependency and nothing the tests use (their npm packages
      // are imported by full specifier, outside deno.json's import map, which Deno would install
      // whole).
      const npmDir = `${denoDir}/npm/registry.npmjs.org`;
      const packages: string[] = [];
      for await (const scope of Deno.readDir(npmDir)) {
        if (!scope.name.startsWith("@")) packages.push(scope.name);
        else {
          for await (const name of Deno.readDir(`${npmDir}/${scope.name}`)) {
            packages.push(`${scope.name}/${name.name}`);
          }
        }
      }
      assert.deepEqual(packages.sort(), ["@opentelemetry/api"]);

      // CMD, through the base image's entry script: `deno run ...`.
      const port = freePort();
      const closedPort = freePort();
      const [exe, args] = denoCommand(["deno", ...execForm(only("CMD"), "CMD")]);
      const child = new Deno.Command(exe, {
        args,
        cwd: app,
        clearEnv: true,
        env: {
          ...imageEnv,
          PORT: String(port),
          LISTEN_HOST: "127.0.0.1",
          OLLAMA_HOST: `127.0.0.1:${closedPort}`,
        },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const stdout = new Response(child.stdout).text();
      const base = `http://127.0.0.1:${port}`;
      try {
        let health: Response | undefined;
        for (let i = 0; i < 400 && health === undefined; i++) {
          try {
            health = await fetch(`${base}/healthz`);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        assert.ok(health, "the exporter did not listen within 20 s");
        assert.equal(health.status, 200);
        await health.body?.cancel();
        const metrics = await (await fetch(`${base}/metrics`)).text();
        assert.match(metrics, /^ollama_up 0$/m);

        // The Dockerfile's HEALTHCHECK, as Docker runs it inside the container.
        const healthcheck = only("HEALTHCHECK").args.match(/CMD\s+(\[.*\])$/s)?.[1] as string;
        const [healthExe, healthArgs] = denoCommand(
          execForm({ keyword: "HEALTHCHECK", args: healthcheck }, "HEALTHCHECK CMD"),
        );
        const healthEnv = { ...imageEnv, PORT: String(port) };
        const healthy = await run(healthExe, healthArgs, { cwd: app, env: healthEnv });
        assert.equal(
          healthy.code,
          0,
          `HEALTHCHECK failed against a running exporter:\n${healthy.output}`,
        );

        child.kill("SIGTERM");
        const status = await child.status;
        assert.equal(status.code, 0, `exit code after SIGTERM; stderr:\n${await stderr}`);
        assert.match(await stderr, /shutting down: draining in-flight requests signal=SIGTERM/);

        const unhealthy = await run(healthExe, healthArgs, { cwd: app, env: healthEnv });
        assert.equal(unhealthy.code, 1, "HEALTHCHECK must fail when nothing listens");
      } finally {
        try {
          child.kill("SIGKILL");
        } catch {
          // already exited
        }
        await child.status;
        await stderr;
        await stdout;
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

// ------------------------------------------------------------------------------------------
// compose.yaml

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string> | string[];
  ports?: string[];
  volumes?: string[];
  command?: string[];
  depends_on?: string[] | Record<string, unknown>;
  stop_grace_period?: string;
}

const compose = parseYaml(await Deno.readTextFile(rootPath("compose.yaml"))) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return { ...env };
  return Object.fromEntries(env.map((entry) => {
    const at = entry.indexOf("=");
    return [entry.slice(0, at), entry.slice(at + 1)];
  }));
}

/** Bind mounts (`./host:container[:ro]`) of a service, host side resolved against the root. */
function bindMounts(service: ComposeService): { host: string; container: string }[] {
  return (service.volumes ?? []).filter((volume) => volume.startsWith(".")).map((volume) => {
    const [host, container] = volume.split(":") as [string, string];
    return { host: host.replace(/^\.\//, ""), container };
  });
}

function seconds(duration: string): number {
  const match = duration.match(/^(\d+(?:\.\d+)?)(ms|s|m)$/);
  assert.ok(match, `cannot read the duration "${duration}"`);
  const value = Number(match[1]);
  return match[2] === "ms" ? value / 1000 : match[2] === "m" ? value * 60 : value;
}

Deno.test("compose.yaml: four services, images pinned, named volumes declared", () => {
  assert.deepEqual(
    Object.keys(compose.services).sort(),
    ["exporter", "grafana", "ollama", "prometheus"],
  );
  const expected: Record<string, string> = {
    ollama: "ollama/ollama",
    prometheus: "prom/prometheus",
    grafana: "grafana/grafana",
  };
  for (const [name, repository] of Object.entries(expected)) {
    const image = compose.services[name]?.image ?? "";
    const [repo, tag] = image.split(":");
    assert.equal(repo, repository, `${name} image`);
    assert.ok(tag && tag !== "latest" && /\d/.test(tag), `${name}: pin a version, not "${tag}"`);
  }
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      if (volume.startsWith(".") || volume.startsWith("/")) continue;
      const named = volume.split(":")[0] as string;
      assert.ok(named in (compose.volumes ?? {}), `${name}: volume ${named} is not declared`);
    }
  }
});

Deno.test("compose.yaml: the exporter builds this Dockerfile and fronts the ollama service", async () => {
  const exporter = compose.services.exporter as ComposeService;
  const build = typeof exporter.build === "string" ? { context: exporter.build } : exporter.build;
  assert.equal(build?.context, ".");
  await Deno.stat(rootPath(build?.dockerfile ?? "Dockerfile"));
  const env = environment(exporter);
  for (const name of Object.keys(env)) {
    assert.ok(CONFIG_ENV.has(name), `exporter: ${name} is not a setting of lib/config.ts`);
  }
  const config = loadConfig(env);
  const upstream = parseOllamaHost(env.OLLAMA_HOST ?? "");
  assert.equal(upstream.hostname, "ollama", "OLLAMA_HOST names the ollama service");
  assert.equal(upstream.port, "11434");
  assert.ok(
    (exporter.ports ?? []).some((p) => p.endsWith(`:${config.port}`)),
    `exporter publishes its port ${config.port}`,
  );
  assert.ok(
    exporter.stop_grace_period,
    "exporter: set stop_grace_period (Docker's default is 10 s)",
  );
  assert.ok(
    seconds(exporter.stop_grace_period) > config.shutdownDelaySeconds + config.shutdownGraceSeconds,
    `stop_grace_period ${exporter.stop_grace_period} must exceed SHUTDOWN_DELAY_SECONDS + ` +
      `SHUTDOWN_GRACE_SECONDS (${config.shutdownDelaySeconds} + ${config.shutdownGraceSeconds} s)`,
  );
});

Deno.test("compose.yaml: Prometheus gets the rules and scrapes the exporter; every mount exists", async () => {
  for (const [name, service] of Object.entries(compose.services)) {
    for (const { host } of bindMounts(service)) {
      await Deno.stat(rootPath(host)).catch(() => {
        throw new Error(`compose.yaml: ${name} mounts ./${host}, which does not exist`);
      });
    }
  }
  const prometheus = compose.services.prometheus as ComposeService;
  const configFlag = (prometheus.command ?? []).find((a) => a.startsWith("--config.file="));
  assert.ok(configFlag, "prometheus: --config.file");
  const configPath = configFlag.slice("--config.file=".length);
  const mount = bindMounts(prometheus).find(({ container }) =>
    configPath.startsWith(container + "/")
  );
  assert.ok(mount, `prometheus: ${configPath} is not in a mounted directory`);
  const hostConfig = `${mount.host}/${configPath.slice(mount.container.length + 1)}`;
  const config = parseYaml(await Deno.readTextFile(rootPath(hostConfig))) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  assert.deepEqual(config.rule_files, ["alerts.yml"]);
  await Deno.stat(rootPath(`${mount.host}/alerts.yml`));
  const targets = config.scrape_configs.flatMap((job) =>
    job.static_configs.flatMap((s) => s.targets)
  );
  assert.ok(
    targets.includes(`exporter:${loadConfig(environment(compose.services.exporter!)).port}`),
    `Prometheus scrapes the exporter service on its port, got ${targets.join(", ")}`,
  );
});

Deno.test("compose.yaml: Grafana is provisioned with the data source and the dashboard", async () => {
  const grafana = compose.services.grafana as ComposeService;
  const mounts = bindMounts(grafana);
  const provisioning = mounts.find((m) => m.container === "/etc/grafana/provisioning");
  assert.ok(provisioning, "grafana: mount the provisioning directory");
  const providers = parseYaml(
    await Deno.readTextFile(rootPath(`${provisioning.host}/dashboards/ollama_exporter.yaml`)),
  ) as { providers: { type: string; options: { path: string } }[] };
  const path = providers.providers[0]?.options.path as string;
  const dashboard = mounts.find((m) => m.container.startsWith(path + "/"));
  assert.ok(dashboard, `grafana: nothing is mounted under the provider's path ${path}`);
  assert.equal(dashboard.host, "deploy/grafana/ollama_exporter_dashboard.json");
  assert.equal(
    environment(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH,
    dashboard.container,
  );
  const datasources = parseYaml(
    await Deno.readTextFile(rootPath(`${provisioning.host}/datasources/prometheus.yaml`)),
  ) as { datasources: { type: string; url: string }[] };
  const datasource = datasources.datasources[0];
  assert.equal(datasource?.type, "prometheus");
  const url = new URL(datasource.url);
  assert.ok(url.hostname in compose.services, `the data source points at ${url.hostname}`);
  assert.equal(url.port, "9090");
});

/** The variables that tell Deno how to reach the npm registry from this machine. */
function networkEnv(): Record<string, string> {
  const names = [
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "NPM_CONFIG_REGISTRY",
  ];
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
