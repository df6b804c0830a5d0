/**
 * Ollama's CORS policy (gin-contrib/cors with Ollama's defaults): which browser origins may call
 * the API and which headers an allowed cross-origin request gets.
 *
 * @module
 */

/** Origins Ollama allows by default (before `OLLAMA_ORIGINS`). */
export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = Object.freeze([
  ...["localhost", "127.0.0.1", "0.0.0.0"].flatMap((host) => [
    `http://${host}`,
    `https://${host}`,
    `http://${host}:*`,
    `https://${host}:*`,
  ]),
  "app://*",
  "file://*",
  "tauri://*",
  "vscode-webview://*",
  "vscode-file://*",
]);

const BROWSER_EXTENSIONS = [
  "chrome-extension://",
  "safari-extension://",
  "moz-extension://",
  "ms-browser-extension://",
];

const ALLOW_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS";
const ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "User-Agent",
  "Accept",
  "X-Requested-With",
  "Openai-Beta",
  "X-Stainless-Arch",
  "X-Stainless-Async",
  "X-Stainless-Custom-Poll-Interval",
  "X-Stainless-Helper-Method",
  "X-Stainless-Lang",
  "X-Stainless-Os",
  "X-Stainless-Package-Version",
  "X-Stainless-Poll-Helper",
  "X-Stainless-Retry-Count",
  "X-Stainless-Runtime",
  "X-Stainless-Runtime-Version",
  "X-Stainless-Timeout",
].join(",");

/** What the CORS layer does with a request. */
export type CorsDecision =
  /** Not a cross-origin request (no Origin, or same origin): no CORS headers. */
  | { readonly kind: "none" }
  /** Disallowed origin: 403, empty body. */
  | { readonly kind: "reject" }
  /** Allowed preflight: 204 with these headers, the route is not run. */
  | { readonly kind: "preflight"; readonly headers: Readonly<Record<string, string>> }
  /** Allowed request: run the route and add these headers. */
  | { readonly kind: "allow"; readonly headers: Readonly<Record<string, string>> };

/**
 * Decides what Ollama's CORS layer does with a request from its method and headers: allowed are
 * Ollama's default origins (localhost, 127.0.0.1, 0.0.0.0 on any port, app://, file://,
 * tauri://, vscode-webview://, vscode-file://, browser extensions) and `allowedOrigins`
 * (like `OLLAMA_ORIGINS`, `*` wildcards allowed).
 */
export function corsDecision(
  method: string,
  headers: Headers,
  options: { readonly allowedOrigins: readonly string[] },
): CorsDecision {
  const extraOrigins = options.allowedOrigins;
  const origin = headers.get("origin");
  if (origin === null || origin === "") return { kind: "none" };
  const host = headers.get("host") ?? "";
  if (origin === `http://${host}` || origin === `https://${host}`) return { kind: "none" };
  if (!isAllowedOrigin(origin, extraOrigins)) return { kind: "reject" };
  if (method === "OPTIONS") {
    return {
      kind: "preflight",
      headers: {
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-allow-methods": ALLOW_METHODS,
        "access-control-allow-origin": origin,
        "access-control-max-age": "43200",
        "vary": "Origin",
      },
    };
  }
  return { kind: "allow", headers: { "access-control-allow-origin": origin, "vary": "Origin" } };
}

function isAllowedOrigin(origin: string, extraOrigins: readonly string[]): boolean {
  if (BROWSER_EXTENSIONS.some((prefix) => origin.startsWith(prefix))) return true;
  return [...DEFAULT_ALLOWED_ORIGINS, ...extraOrigins].some((pattern) =>
    matchesPattern(origin, pattern.trim())
  );
}

function matchesPattern(origin: string, pattern: string): boolean {
  if (pattern === "*") return true;
  const star = pattern.indexOf("*");
  if (star === -1) return origin === pattern;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return origin.length >= prefix.length + suffix.length && origin.startsWith(prefix) &&
    origin.endsWith(suffix);
}
