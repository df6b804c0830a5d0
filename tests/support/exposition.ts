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
    const raw = line.slice(space + 1);
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    samples.set(line.slice(0, space), value);
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
