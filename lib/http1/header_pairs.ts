/**
 * Header fields as the HTTP/1.1 client passes them: name–value pairs.
 *
 * @module
 */

/** Header fields as name–value pairs, the cheapest `HeadersInit` for Deno to copy. */
export type HeaderPairs = [string, string][];
