/**
 * A small leveled logger with the shape of `@std/log` (`setup`, `getLogger`, and the `debug`,
 * `info`, `warn`, `error` functions), so that swapping in the standard module later is a one-line
 * change. Lines go to stderr, in one of two formats ({@linkcode LogFormat}): `text`,
 * `time LEVEL message key=value ...`, or `json`, one object per line with `time`, `level`,
 * `message` and each field as a member (for Loki, Elasticsearch, cloud logging).
 *
 * The exporter never passes prompt or completion text to it. Field values longer than
 * {@linkcode MAX_FIELD_LENGTH} characters are cut, so what a client sends cannot blow up the log.
 *
 * @module
 */

import { cutText } from "./cut_text.ts";

/** The level names, lowest first, as `@std/log` spells them. */
export type LevelName = "DEBUG" | "INFO" | "WARN" | "ERROR";

const LEVELS: Record<LevelName, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/** How lines are written: `text` (`time LEVEL message key=value ...`) or `json` (an object). */
export type LogFormat = "text" | "json";

/** Key/value context appended to a log line. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where formatted lines go; stderr unless `setup` says otherwise (the tests capture lines). */
export type LogSink = (line: string, level: LevelName) => void;

const encoder = new TextEncoder();
const stderrSink: LogSink = (line) => {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
};

const PLAIN = /^[\w.:/@+%,-]+$/;

/**
 * Longest field value written whole, in UTF-16 code units. Values come from clients too (a model
 * name, a path): a 5 MB model name must not become 5 MB of log per request.
 */
export const MAX_FIELD_LENGTH = 200;

/**
 * Cuts `text` to {@linkcode MAX_FIELD_LENGTH} characters followed by `…(N more)`, N counting the
 * characters cut; shorter text is returned as is. A surrogate pair is never split.
 */
export function truncateField(text: string): string {
  if (text.length <= MAX_FIELD_LENGTH) return text;
  const kept = cutText(text, MAX_FIELD_LENGTH);
  return `${kept}…(${text.length - kept.length} more)`;
}

/** Quotes a field value unless it is made of plain characters only; long values are cut. */
function formatValue(value: string | number | boolean | null | undefined): string {
  const text = truncateField(String(value));
  return PLAIN.test(text) ? text : JSON.stringify(text);
}

/** Members a field may not replace in a `json` line; such a field is written as `field_<name>`. */
const JSON_CORE = new Set(["time", "level", "message"]);

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Replaces stderr (the tests capture lines). */
  readonly sink?: LogSink;
  /** `text` (the default) or `json`. */
  readonly format?: LogFormat;
}

/** A logger that drops lines below its level. */
export class Logger {
  #level: number;
  #sink: LogSink;
  #json: boolean;

  /**
   * Creates a logger writing `text` lines to stderr unless `options` say otherwise.
   *
   * @param level the lowest level written.
   * @param options the sink and the format.
   */
  constructor(level: LevelName = "INFO", options: LoggerOptions = {}) {
    this.#level = LEVELS[level];
    this.#sink = options.sink ?? stderrSink;
    this.#json = options.format === "json";
  }

  /** Whether a line at `level` would be written (to skip building costly fields). */
  enabled(level: LevelName): boolean {
    return LEVELS[level] >= this.#level;
  }

  /** Writes a DEBUG line. */
  debug(message: string, fields?: LogFields): void {
    this.#write("DEBUG", message, fields);
  }

  /** Writes an INFO line. */
  info(message: string, fields?: LogFields): void {
    this.#write("INFO", message, fields);
  }

  /** Writes a WARN line. */
  warn(message: string, fields?: LogFields): void {
    this.#write("WARN", message, fields);
  }

  /** Writes an ERROR line. */
  error(message: string, fields?: LogFields): void {
    this.#write("ERROR", message, fields);
  }

  #write(level: LevelName, message: string, fields: LogFields | undefined): void {
    if (LEVELS[level] < this.#level) return;
    if (this.#json) {
      this.#sink(jsonLine(level, message, fields), level);
      return;
    }
    let line = `${new Date().toISOString()} ${level.padEnd(5)} ${message}`;
    if (fields) {
      for (const key in fields) {
        const value = fields[key];
        if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
      }
    }
    this.#sink(line, level);
  }
}

/**
 * One `json` line: `{"time":...,"level":...,"message":...,<fields>}`. String values are cut as in
 * `text` lines; numbers, booleans and `null` keep their JSON type; `undefined` fields are left out.
 */
function jsonLine(level: LevelName, message: string, fields: LogFields | undefined): string {
  const record: Record<string, string | number | boolean | null> = {
    time: new Date().toISOString(),
    level,
    message,
  };
  if (fields) {
    for (const key in fields) {
      const value = fields[key];
      if (value === undefined) continue;
      record[JSON_CORE.has(key) ? `field_${key}` : key] = typeof value === "string"
        ? truncateField(value)
        : value;
    }
  }
  return JSON.stringify(record);
}

let defaultLogger = new Logger();

/** Replaces the default logger, as `@std/log`'s `setup` does. */
export function setup(
  options: { level?: LevelName; sink?: LogSink; format?: LogFormat } = {},
): Logger {
  defaultLogger = new Logger(options.level ?? "INFO", {
    ...(options.sink ? { sink: options.sink } : {}),
    ...(options.format ? { format: options.format } : {}),
  });
  return defaultLogger;
}

/** The default logger. */
export function getLogger(): Logger {
  return defaultLogger;
}

/** Parses a log format as users write it (`text` or `json`, any case), or returns `null`. */
export function parseLogFormat(text: string): LogFormat | null {
  const lower = text.trim().toLowerCase();
  return lower === "text" || lower === "json" ? lower : null;
}

/** Parses a level name as users write it (`WARNING` is accepted for `WARN`), or returns `null`. */
export function parseLevelName(text: string): LevelName | null {
  const upper = text.trim().toUpperCase();
  if (upper === "WARNING") return "WARN";
  return upper in LEVELS ? upper as LevelName : null;
}
