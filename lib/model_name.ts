/**
 * Model names as Ollama resolves them, so that `llama3.2`, `llama3.2:latest`, `LLAMA3.2:Latest`
 * and `registry.ollama.ai/library/llama3.2:latest` are one series. Ollama compares names without
 * regard to case (`model.Name.EqualFold`), so the label is lower-cased: a client cannot spend
 * `MAX_MODELS` on spellings of one model.
 *
 * @module
 */

const DEFAULT_PREFIXES = ["registry.ollama.ai/library/", "registry.ollama.ai/", "library/"];

/**
 * Normalises a model name: trims and lower-cases it, drops Ollama's default registry and
 * namespace, and adds the `latest` tag when none is given. Returns `""` for an empty or
 * non-string name.
 */
export function normalizeModelName(name: unknown): string {
  if (typeof name !== "string") return "";
  let model = name.trim().toLowerCase();
  if (model === "") return "";
  for (const prefix of DEFAULT_PREFIXES) {
    if (model.startsWith(prefix)) {
      model = model.slice(prefix.length);
      break;
    }
  }
  // A tag follows the last ':' after the last '/' (a registry host may carry a port).
  const lastSlash = model.lastIndexOf("/");
  if (!model.slice(lastSlash + 1).includes(":")) model += ":latest";
  return model;
}
