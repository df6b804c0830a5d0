/**
 * Reading numbers back from the exporter's `/metrics` text.
 *
 * @module
 */

/** Sums the samples of `name` in a Prometheus text exposition. */
export function sumSamples(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
