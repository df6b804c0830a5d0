/**
 * The namespace of a model name, which the OpenAI-compatible endpoints report as `owned_by`.
 *
 * @module
 */

/** `library` for plain names, `user` for `user/model`, `org` for `hf.co/org/model`. */
export function modelNamespace(name: string): string {
  const withoutHost = name.trim().replace(/^[^/]+\.[^/]+\//, "");
  const parts = withoutHost.split("/");
  return parts.length >= 2 ? parts[parts.length - 2] ?? "library" : "library";
}
