/**
 * API keys for the proxy (Ollama itself has none). Keys are kept only as SHA-256 digests and
 * compared in constant time against every configured key, so neither timing nor logs reveal
 * them; a key's name is what the metrics and logs show.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/** A set of named API keys. */
export class ApiKeys {
  #entries: { name: string; digest: Uint8Array }[];

  private constructor(entries: { name: string; digest: Uint8Array }[]) {
    this.#entries = entries;
  }

  /**
   * Parses `name:key` pairs separated by commas or new lines (`#` starts a comment line). Throws
   * an `Error` that names the entry, never the key, when one cannot be used.
   *
   * @param text the pairs.
   * @param options `source` names where they came from, for errors (`API_KEYS`).
   */
  static parse(text: string, options: { source: string }): ApiKeys {
    return ApiKeys.fromSources([{ text, source: options.source }]);
  }

  /**
   * One bearer token taken whole, so that commas, colons and `#` in it are part of it (the
   * `/metrics` token). Throws an `Error` naming `source`, never the token, when it is shorter
   * than 8 characters.
   *
   * @param token the token.
   * @param options `name` is what {@linkcode identify} returns for it; `source` names the
   *   setting, for errors (`METRICS_TOKEN`).
   */
  static token(token: string, options: { name: string; source: string }): ApiKeys {
    if (token.length < 8) {
      throw new Error(`Cannot use ${options.source}: it is shorter than 8 characters`);
    }
    return new ApiKeys([{ name: options.name, digest: digest(token) }]);
  }

  /**
   * Parses several sources of `name:key` pairs into one set (`API_KEYS` and the file of
   * `API_KEYS_FILE`). Fails closed: every source must hold at least one key, so a source that is
   * set but empty (an empty secret, a value of blanks or comments) stops start-up instead of
   * leaving the proxy open. Throws an `Error` naming the source and the entry, never the key.
   *
   * @param sources each text with the name of where it came from, for errors.
   */
  static fromSources(sources: readonly { text: string; source: string }[]): ApiKeys {
    const entries: { name: string; digest: Uint8Array }[] = [];
    const names = new Map<string, string>();
    for (const { text, source } of sources) {
      const before = entries.length;
      ApiKeys.#parseInto(text, source, entries, names);
      if (entries.length === before) throw new Error(`Cannot parse ${source}: it holds no keys`);
    }
    if (entries.length === 0) throw new Error("Cannot use the API keys: no source holds any");
    return new ApiKeys(entries);
  }

  static #parseInto(
    text: string,
    source: string,
    entries: { name: string; digest: Uint8Array }[],
    names: Map<string, string>,
  ): void {
    const items = text.split(/[\n,]/).map((item) => item.trim())
      .filter((item) => item !== "" && !item.startsWith("#"));
    items.forEach((item, index) => {
      const colon = item.indexOf(":");
      const where = `Cannot parse ${source}: entry ${index + 1}`;
      if (colon <= 0) throw new Error(`${where} is not of the form name:key`);
      const name = item.slice(0, colon).trim();
      const key = item.slice(colon + 1).trim();
      if (!/^[\w.@-]+$/.test(name)) {
        throw new Error(`${where} has a name with characters other than letters, digits, _ . @ -`);
      }
      if (key.length < 8) {
        throw new Error(`${where} ("${name}") has a key shorter than 8 characters`);
      }
      const earlier = names.get(name);
      if (earlier !== undefined) {
        const also = earlier === source ? "" : ` already named in ${earlier}`;
        throw new Error(`${where} repeats the name "${name}"${also}`);
      }
      names.set(name, source);
      entries.push({ name, digest: digest(key) });
    });
  }

  /** How many keys there are. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Returns the name of the key an `Authorization: Bearer <key>` header carries, or `null`.
   * Every configured key is compared, in constant time, whatever matches.
   */
  identify(authorization: string | null): string | null {
    const match = authorization === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const presented = digest(match ? match[1]! : "");
    let found: string | null = null;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, presented) && match) found = entry.name;
    }
    return found;
  }
}
