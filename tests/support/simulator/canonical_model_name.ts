/**
 * Ollama's short model names.
 *
 * @module
 */

const DEFAULT_HOST = "registry.ollama.ai/";
const DEFAULT_NAMESPACE = "library/";

/**
 * Canonical display name: drops `registry.ollama.ai/` and `library/`, adds `:latest` when the
 * name has no tag. `llama3.2` → `llama3.2:latest`; `user/m:1b` stays as is. Lower-case it to
 * compare names (Ollama matches them case-insensitively).
 */
export function canonicalModelName(name: string): string {
  let result = name.trim();
  if (result.toLowerCase().startsWith(DEFAULT_HOST)) result = result.slice(DEFAULT_HOST.length);
  if (result.toLowerCase().startsWith(DEFAULT_NAMESPACE)) {
    result = result.slice(DEFAULT_NAMESPACE.length);
  }
  const lastSegment = result.slice(result.lastIndexOf("/") + 1);
  return lastSegment.includes(":") ? result : `${result}:latest`;
}
