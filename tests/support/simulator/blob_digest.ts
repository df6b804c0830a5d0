/**
 * Blob digests in URLs.
 *
 * @module
 */

const DIGEST = /^sha256[:-]([0-9a-fA-F]{64})$/;

/** `sha256:<hex>` (lower case) for `sha256:<hex>` or `sha256-<hex>`, undefined for anything else. */
export function normaliseDigest(digest: string): string | undefined {
  const match = DIGEST.exec(digest);
  return match === null ? undefined : `sha256:${(match[1] ?? "").toLowerCase()}`;
}
