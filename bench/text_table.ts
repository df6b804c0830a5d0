/**
 * Plain-text tables and numbers for the benchmark reports (`report.ts`, `otel_report.ts`,
 * `sizing_report.ts`).
 *
 * @module
 */

/** Formats rows as a left-aligned first column and right-aligned others. */
export function table(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = rows.map((row) => row.map(String));
  const widths = header.map((title, i) =>
    Math.max(title.length, ...cells.map((row) => (row[i] ?? "").length))
  );
  const line = (row: readonly string[]) =>
    row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** `value` with `digits` decimals, or `-` when it is missing or not finite. */
export function fixed(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}
