/**
 * Turns a thrown value into one line for logs and error bodies, with its cause: `fetch` throws
 * `fetch failed` and keeps the reason (`Connection refused`, a timeout) in `cause`.
 *
 * @module
 */

/** One line describing `error` and its causes, outermost first. */
export function errorDetail(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message !== "" && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ").replaceAll("\n", " ");
}
