/**
 * Ollama model-name handling: the short form shown by /api/tags, and the namespace that the
 * OpenAI-compatible endpoints report as `owned_by`.
 *
 * @module
 */

const DEFAULT_HOST = "registry.ollama.ai/";
const DEFAULT_NAMESPACE = "library";

/**
 * Canonical display name: drops `registry.ollama.ai/` and `library/`, adds `:latest` when the
 * name has no tag. `llama3.2` → `llama3.2:latest`; `user/m:1b` stays as is.
 */
export function canonicalModelName(name: string): string {
  let result = name.trim();
  if (result.toLowerCase().startsWith(DEFAULT_HOST)) result = result.slice(DEFAULT_HOST.length);
  if (result.toLowerCase().startsWith(`${DEFAULT_NAMESPACE}/`)) {
    result = result.slice(DEFAULT_NAMESPACE.length + 1);
  }
  const lastSegment = result.slice(result.lastIndexOf("/") + 1);
  return lastSegment.includes(":") ? result : `${result}:latest`;
}

/** Case-insensitive identity of a model name, for lookups. */
export function modelKey(name: string): string {
  return canonicalModelName(name).toLowerCase();
}

/** The namespace part of a name (`library` for plain names), as `owned_by` reports it. */
export function modelNamespace(name: string): string {
  const withoutHost = name.trim().replace(/^[^/]+\.[^/]+\//, "");
  const parts = withoutHost.split("/");
  return parts.length >= 2 ? parts[parts.length - 2] ?? DEFAULT_NAMESPACE : DEFAULT_NAMESPACE;
}
