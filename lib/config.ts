/**
 * Configuration from the environment, with command-line flags of the same meaning taking
 * precedence. Every bad value stops start-up with one line naming the variable and the value.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type LevelName, type LogFormat, parseLevelName, parseLogFormat } from "./log.ts";

/** The exporter's settings, after parsing and validation. */
export interface Config {
  /** Ollama's base URL, without a trailing slash: `http://localhost:11434`. */
  readonly ollamaUrl: URL;
  /** Port the exporter listens on. */
  readonly port: number;
  /** Address the exporter listens on. */
  readonly listenHost: string;
  /** Lowest level logged. */
  readonly logLevel: LevelName;
  /** How log lines are written: `text` or `json` (one object per line). */
  readonly logFormat: LogFormat;
  /**
   * Seconds the exporter keeps serving after SIGTERM/SIGINT, `/readyz` answering 503, before it
   * stops accepting connections (so load balancers take it out of rotation first).
   */
  readonly shutdownDelaySeconds: number;
  /** Seconds in-flight requests get to finish after SIGTERM/SIGINT. */
  readonly shutdownGraceSeconds: number;
  /** Seconds between checks of Ollama (`/api/version`, `/api/tags`). */
  readonly healthIntervalSeconds: number;
  /** At most this many distinct model label values; the rest collapse into `other`. */
  readonly maxModels: number;
  /** Request header naming the client (`client` label), or `""` for none. */
  readonly clientHeader: string;
  /** At most this many distinct client label values; the rest collapse into `other`. */
  readonly maxClients: number;
  /** API keys as `name:key` pairs (comma or newline separated), or `""` when access is open. */
  readonly apiKeys: string;
  /** A file of `name:key` lines, read at start-up, or `""`. */
  readonly apiKeysFile: string;
  /** Bearer token `/metrics` requires, or `""` when scrapes are open. */
  readonly metricsToken: string;
  /** Extra `Host` names accepted when listening on loopback (DNS-rebinding protection). */
  readonly allowedHosts: readonly string[];
  /** Largest request body accepted on routes whose body the exporter reads (bytes). */
  readonly maxRequestBytes: number;
  /** Whether streaming OpenAI requests get `stream_options.include_usage` added. */
  readonly injectStreamUsage: boolean;
  /** Seconds to open a connection to Ollama (0: no limit). */
  readonly upstreamConnectTimeoutSeconds: number;
  /** Seconds from sending a request to Ollama's response head (0: no limit). */
  readonly upstreamHeadTimeoutSeconds: number;
  /** Longest gap, in seconds, between two reads of Ollama's response body (0: no limit). */
  readonly upstreamIdleTimeoutSeconds: number;
  /** Ollama's parallel requests per model, when the operator tells it (0: not known). */
  readonly ollamaNumParallel: number;
}

/** One setting: its environment variable, its flag, its default, and how it is parsed. */
export interface Setting<T> {
  /** The environment variable, e.g. `OLLAMA_HOST`. */
  readonly env: string;
  /** The command-line flag without its leading `--`, e.g. `ollama-host`. */
  readonly flag: string;
  /** The text used when neither flag nor variable is set; `""` when there is no default. */
  readonly fallback: string;
  /** Turns the text into the value; throws an `Error` whose message says what is wrong. */
  readonly parse: (text: string) => T;
  /** One line for `--help` and the README. */
  readonly doc: string;
}

function integer(min: number, max: number): (text: string) => number {
  const expected = max === Number.MAX_SAFE_INTEGER
    ? `expected a whole number of ${min} or more`
    : `expected a whole number from ${min} to ${max}`;
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new Error(expected);
    return value;
  };
}

function seconds(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new Error("expected a number of seconds, 0 or more");
  }
  return value;
}

/**
 * Parses an Ollama address the way Ollama's own CLI reads `OLLAMA_HOST`: without a scheme,
 * `http` and port 11434 are assumed; with one, the scheme's default port (80, 443); `0.0.0.0`
 * means this machine.
 */
export function parseOllamaHost(text: string): URL {
  let raw = text.trim();
  if (raw === "") throw new Error("the address is empty");
  const schemeGiven = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);
  if (!schemeGiven) raw = `http://${raw}`;
  const port = /^[^/?#]*?(?:\[[^\]]*\]|[^:/?#\[\]]*):(\d+)(?:[/?#]|$)/
    .exec(raw.slice(raw.indexOf("://") + 3))?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new Error(`port ${port} is out of range (1–65535)`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("not a host, host:port or URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`scheme "${url.protocol.slice(0, -1)}" is not http or https`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new Error("query strings, fragments and credentials are not supported");
  }
  if (!schemeGiven && !/^(\[[^\]]*\]|[^:/]*):\d+/.test(raw.slice("http://".length))) {
    url.port = "11434";
  }
  if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
  if (url.hostname === "[::]") url.hostname = "[::1]";
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

const SETTINGS = {
  ollamaUrl: {
    env: "OLLAMA_HOST",
    flag: "ollama-host",
    fallback: "http://localhost:11434",
    parse: parseOllamaHost,
    doc: "Ollama's address: URL, host:port or host",
  },
  port: {
    env: "PORT",
    flag: "port",
    fallback: "8000",
    parse: integer(0, 65535),
    doc: "port to listen on",
  },
  listenHost: {
    env: "LISTEN_HOST",
    flag: "listen-host",
    fallback: "0.0.0.0",
    parse: (text: string) => {
      const host = text.trim();
      if (host === "" || /[\s/]/.test(host)) throw new Error("expected an IP address or host name");
      return host;
    },
    doc: "address to listen on",
  },
  logLevel: {
    env: "LOG_LEVEL",
    flag: "log-level",
    fallback: "INFO",
    parse: (text: string) => {
      const level = parseLevelName(text);
      if (level === null) throw new Error("expected DEBUG, INFO, WARNING or ERROR");
      return level;
    },
    doc: "DEBUG, INFO, WARNING or ERROR",
  },
  logFormat: {
    env: "LOG_FORMAT",
    flag: "log-format",
    fallback: "text",
    parse: (text: string) => {
      const format = parseLogFormat(text);
      if (format === null) throw new Error("expected text or json");
      return format;
    },
    doc: "text (time LEVEL message key=value) or json (one object per line)",
  },
  shutdownDelaySeconds: {
    env: "SHUTDOWN_DELAY_SECONDS",
    flag: "shutdown-delay-seconds",
    fallback: "0",
    parse: seconds,
    doc: "how long to keep serving after SIGTERM, /readyz answering 503, before draining",
  },
  shutdownGraceSeconds: {
    env: "SHUTDOWN_GRACE_SECONDS",
    flag: "shutdown-grace-seconds",
    fallback: "25",
    parse: seconds,
    doc: "how long in-flight requests may finish after SIGTERM",
  },
  healthIntervalSeconds: {
    env: "HEALTH_INTERVAL_SECONDS",
    flag: "health-interval-seconds",
    fallback: "15",
    parse: (text: string) => {
      const value = seconds(text);
      if (value < 1) throw new Error("expected at least 1 second");
      return value;
    },
    doc: "seconds between checks of Ollama",
  },
  maxModels: {
    env: "MAX_MODELS",
    flag: "max-models",
    fallback: "100",
    parse: integer(1, 100000),
    doc: "most distinct model label values before the rest collapse into `other`",
  },
  clientHeader: {
    env: "CLIENT_HEADER",
    flag: "client-header",
    fallback: "",
    parse: (text: string) => {
      const name = text.trim().toLowerCase();
      if (name !== "" && !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
        throw new Error("expected an HTTP header name such as X-Client-Name");
      }
      return name;
    },
    doc: "request header whose value becomes the `client` label (e.g. X-Client-Name)",
  },
  maxClients: {
    env: "MAX_CLIENTS",
    flag: "max-clients",
    fallback: "50",
    parse: integer(1, 100000),
    doc: "most distinct `client` label values before the rest collapse into `other`",
  },
  apiKeys: {
    env: "API_KEYS",
    flag: "api-keys",
    fallback: "",
    parse: (text: string) => text,
    doc: "`name:key` pairs; when set, proxied requests need `Authorization: Bearer <key>`",
  },
  apiKeysFile: {
    env: "API_KEYS_FILE",
    flag: "api-keys-file",
    fallback: "",
    parse: (text: string) => {
      const path = text.trim();
      if (text !== "" && path === "") throw new Error("expected a file path, not blanks");
      return path;
    },
    doc: "file of `name:key` lines (read at start-up; needs --allow-read for its path)",
  },
  metricsToken: {
    env: "METRICS_TOKEN",
    flag: "metrics-token",
    fallback: "",
    parse: (text: string) => {
      if (/\s/.test(text)) throw new Error("the token may not contain white space");
      if (text !== "" && text.length < 8) throw new Error("it is shorter than 8 characters");
      return text;
    },
    doc: "bearer token /metrics requires (Prometheus `authorization` scrape setting)",
  },
  allowedHosts: {
    env: "ALLOWED_HOSTS",
    flag: "allowed-hosts",
    fallback: "",
    parse: (text: string) => {
      const names = text.split(",").map((name) => name.trim().toLowerCase()).filter((n) => n);
      for (const name of names) {
        if (!/^[a-z0-9.*:[\]_-]+$/.test(name)) throw new Error(`"${name}" is not a host name`);
      }
      return names;
    },
    doc: "extra Host names accepted when listening on loopback (comma separated)",
  },
  maxRequestBytes: {
    env: "MAX_REQUEST_BYTES",
    flag: "max-request-bytes",
    fallback: String(128 * 1024 * 1024),
    parse: integer(1024, Number.MAX_SAFE_INTEGER),
    doc: "largest request body on observed routes; larger ones get 413",
  },
  injectStreamUsage: {
    env: "INJECT_STREAM_USAGE",
    flag: "inject-stream-usage",
    fallback: "true",
    parse: (text: string) => {
      const value = text.trim().toLowerCase();
      if (value === "true" || value === "1") return true;
      if (value === "false" || value === "0") return false;
      throw new Error("expected true or false");
    },
    doc: "ask Ollama for usage in OpenAI streams that lack it (and strip it again)",
  },
  upstreamConnectTimeoutSeconds: {
    env: "UPSTREAM_CONNECT_TIMEOUT_SECONDS",
    flag: "upstream-connect-timeout-seconds",
    fallback: "10",
    parse: seconds,
    doc: "seconds to open a connection to Ollama (0: no limit)",
  },
  upstreamHeadTimeoutSeconds: {
    env: "UPSTREAM_HEAD_TIMEOUT_SECONDS",
    flag: "upstream-head-timeout-seconds",
    fallback: "600",
    parse: seconds,
    doc: "seconds Ollama may take to start answering, model load included (0: no limit)",
  },
  upstreamIdleTimeoutSeconds: {
    env: "UPSTREAM_IDLE_TIMEOUT_SECONDS",
    flag: "upstream-idle-timeout-seconds",
    fallback: "300",
    parse: seconds,
    doc: "longest pause inside Ollama's answer before it is cut off (0: no limit)",
  },
  ollamaNumParallel: {
    env: "OLLAMA_NUM_PARALLEL",
    flag: "ollama-num-parallel",
    fallback: "0",
    parse: integer(0, 100000),
    doc:
      "Ollama's `OLLAMA_NUM_PARALLEL`, when set there: enables `ollama_requests_waiting` (0: unknown)",
  },
} satisfies { [K in keyof Config]: Setting<Config[K]> };

/** Settings whose values are secrets: never echoed in errors or logs. */
const SECRET_SETTINGS = new Set(["API_KEYS", "METRICS_TOKEN"]);

/** The documented settings, for `--help` and the README. */
export const CONFIG_SETTINGS: readonly Setting<unknown>[] = Object.values(SETTINGS);

/** The text `--help` prints. */
export function usage(): string {
  const rows = CONFIG_SETTINGS.map((s) =>
    `  --${s.flag.padEnd(24)} ${s.env.padEnd(24)} ${s.doc}` +
    (s.fallback === "" ? "" : ` (default ${s.fallback})`)
  );
  return `ollama-exporter: a Prometheus exporter that proxies Ollama\n\n` +
    `Options (flag, environment variable, meaning):\n${rows.join("\n")}\n\n` +
    `  --help, -h                 print this and exit\n` +
    `  --version                  print the exporter's and Deno's versions and exit\n`;
}

/**
 * Reads the configuration from `env` and `args`. Throws an `Error` whose message names the
 * variable or flag and the value that could not be used.
 *
 * @param env the environment, e.g. `Deno.env.toObject()`.
 * @param args command-line arguments; flags win over the environment.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[] = [],
): Config {
  const flagNames = CONFIG_SETTINGS.map((s) => s.flag);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: Object.fromEntries(flagNames.map((f) => [f, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new Error(`Cannot parse the command line: ${(error as Error).message}`);
  }
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const flagValue = values[setting.flag];
    const fromFlag = typeof flagValue === "string";
    const text = fromFlag ? flagValue : env[setting.env] ?? setting.fallback;
    try {
      config[key] = (setting.parse as (text: string) => unknown)(text);
    } catch (error) {
      const source = fromFlag ? `--${setting.flag}` : setting.env;
      const shown = SECRET_SETTINGS.has(setting.env) ? "(value hidden)" : `"${text}"`;
      throw new Error(`Cannot parse ${source} ${shown}: ${(error as Error).message}`);
    }
  }
  return config as unknown as Config;
}
