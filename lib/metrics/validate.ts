/**
 * Validation of metric and label names, modelled on the rules of the Prometheus data model.
 *
 * @module
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks a metric family's name and label names, throwing a `TypeError` that says which name is
 * wrong and why.
 *
 * @param name The metric family name, for example `ollama_requests_total`.
 * @param labelNames The label names the family's children carry.
 * @param options `reserved` lists label names the exposition formats claim for themselves (`le`
 *   for histogram buckets, `quantile` for summary quantiles).
 */
export function validateMetricNames(
  name: string,
  labelNames: readonly string[],
  options: { reserved?: readonly string[] } = {},
): void {
  if (!METRIC_NAME.test(name)) {
    throw new TypeError(
      `Cannot register metric "${name}": the name must match ${METRIC_NAME.source}`,
    );
  }
  const seen = new Set<string>();
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label)) {
      throw new TypeError(
        `Cannot register metric "${name}": label name "${label}" must match ${LABEL_NAME.source}`,
      );
    }
    if (label.startsWith("__")) {
      throw new TypeError(
        `Cannot register metric "${name}": label name "${label}" is reserved (starts with "__")`,
      );
    }
    if (options.reserved?.includes(label)) {
      throw new TypeError(
        `Cannot register metric "${name}": label name "${label}" is reserved by the exposition formats`,
      );
    }
    if (seen.has(label)) {
      throw new TypeError(`Cannot register metric "${name}": label name "${label}" is repeated`);
    }
    seen.add(label);
  }
}
