/**
 * Test helper: reads Prometheus text exposition into a map from series (`name{labels}` exactly as
 * rendered) to value, so tests can assert exact numbers.
 *
 * @module
 */

/** Parses exposition text; comment lines are skipped. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), sampleValue(line.slice(space + 1)));
  }
  return samples;
}

/** The value of one series, or `undefined` when it is absent. */
export function sample(
  samples: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const pairs = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return samples.get(pairs.length ? `${name}{${pairs.join(",")}}` : name);
}

/** A sample value as Prometheus writes it: `+Inf`, `-Inf`, or a number. */
export function sampleValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * A rendered series key (`name{a="b",c="d"}`) split into its name and its labels, the values as
 * rendered (still escaped: see {@linkcode unescapeLabel}).
 */
export function splitSeries(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf("{");
  if (brace < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  for (const [, label, value] of key.slice(brace).matchAll(LABEL)) labels[label!] = value!;
  return { name: key.slice(0, brace), labels };
}

/** A label value as rendered, unescaped (`\\`, `\"`, `\n`). */
export function unescapeLabel(value: string): string {
  return value.replaceAll(/\\(.)/g, (_, c: string) => c === "n" ? "\n" : c);
}

/** The sum of every series of family `name` whose labels (as rendered) pass `keep`. */
export function sumOf(
  samples: Map<string, number>,
  name: string,
  keep: (labels: Record<string, string>) => boolean = () => true,
): number {
  let total = 0;
  for (const [key, value] of samples) {
    const series = splitSeries(key);
    if (series.name === name && keep(series.labels)) total += value;
  }
  return total;
}
