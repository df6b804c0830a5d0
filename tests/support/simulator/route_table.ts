/**
 * The simulated server's routes, matched like Gin matches them (404 and 405 included).
 *
 * @module
 */

import type { RouteHandler } from "./route_types.ts";
import { chatCompletionsRoute } from "./routes/chat_completions_route.ts";
import { chatRoute } from "./routes/chat_route.ts";
import { completionsRoute } from "./routes/completions_route.ts";
import { copyRoute } from "./routes/copy_route.ts";
import { createBlobRoute } from "./routes/create_blob_route.ts";
import { createRoute } from "./routes/create_route.ts";
import { deleteRoute } from "./routes/delete_route.ts";
import { embedRoute } from "./routes/embed_route.ts";
import { embeddingsRoute } from "./routes/embeddings_route.ts";
import { generateRoute } from "./routes/generate_route.ts";
import { headBlobRoute } from "./routes/head_blob_route.ts";
import { messagesRoute } from "./routes/messages_route.ts";
import { openAiEmbeddingsRoute } from "./routes/openai_embeddings_route.ts";
import { openAiModelRoute } from "./routes/openai_model_route.ts";
import { openAiModelsRoute } from "./routes/openai_models_route.ts";
import { psRoute } from "./routes/ps_route.ts";
import { pullRoute } from "./routes/pull_route.ts";
import { pushRoute } from "./routes/push_route.ts";
import { responsesRoute } from "./routes/responses_route.ts";
import { rootRoute } from "./routes/root_route.ts";
import { showRoute } from "./routes/show_route.ts";
import { tagsRoute } from "./routes/tags_route.ts";
import { versionRoute } from "./routes/version_route.ts";

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly handler: RouteHandler;
}

/** Gin lists allowed methods in the order their trees were first registered by Ollama. */
const METHOD_ORDER = ["HEAD", "GET", "POST", "DELETE"];

const ROUTES: readonly Route[] = [
  { method: "HEAD", pattern: "/", handler: rootRoute },
  { method: "GET", pattern: "/", handler: rootRoute },
  { method: "HEAD", pattern: "/api/version", handler: versionRoute },
  { method: "GET", pattern: "/api/version", handler: versionRoute },
  { method: "POST", pattern: "/api/pull", handler: pullRoute },
  { method: "POST", pattern: "/api/push", handler: pushRoute },
  { method: "HEAD", pattern: "/api/tags", handler: tagsRoute },
  { method: "GET", pattern: "/api/tags", handler: tagsRoute },
  { method: "POST", pattern: "/api/show", handler: showRoute },
  { method: "DELETE", pattern: "/api/delete", handler: deleteRoute },
  { method: "POST", pattern: "/api/create", handler: createRoute },
  { method: "POST", pattern: "/api/blobs/:digest", handler: createBlobRoute },
  { method: "HEAD", pattern: "/api/blobs/:digest", handler: headBlobRoute },
  { method: "POST", pattern: "/api/copy", handler: copyRoute },
  { method: "GET", pattern: "/api/ps", handler: psRoute },
  { method: "POST", pattern: "/api/generate", handler: generateRoute },
  { method: "POST", pattern: "/api/chat", handler: chatRoute },
  { method: "POST", pattern: "/api/embed", handler: embedRoute },
  { method: "POST", pattern: "/api/embeddings", handler: embeddingsRoute },
  { method: "POST", pattern: "/v1/chat/completions", handler: chatCompletionsRoute },
  { method: "POST", pattern: "/v1/completions", handler: completionsRoute },
  { method: "POST", pattern: "/v1/embeddings", handler: openAiEmbeddingsRoute },
  { method: "GET", pattern: "/v1/models", handler: openAiModelsRoute },
  { method: "GET", pattern: "/v1/models/:model", handler: openAiModelRoute },
  { method: "POST", pattern: "/v1/responses", handler: responsesRoute },
  { method: "POST", pattern: "/v1/messages", handler: messagesRoute },
];

/** Result of {@link matchRoute}. */
export type RouteMatch =
  | {
    readonly kind: "found";
    readonly handler: RouteHandler;
    readonly params: Readonly<Record<string, string>>;
  }
  /** The path exists for other methods: 405 with this `Allow` value. */
  | { readonly kind: "wrong-method"; readonly allow: string }
  | { readonly kind: "not-found" };

/** Finds the route for `method` and `path` (the raw, undecoded path of the URL). */
export function matchRoute(method: string, path: string): RouteMatch {
  const allowed = new Set<string>();
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, path);
    if (params === undefined) continue;
    if (route.method === method) return { kind: "found", handler: route.handler, params };
    allowed.add(route.method);
  }
  if (allowed.size === 0) return { kind: "not-found" };
  const allow = METHOD_ORDER.filter((m) => allowed.has(m)).join(", ");
  return { kind: "wrong-method", allow };
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const expected = pattern.split("/");
  const actual = path.split("/");
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] ?? "";
    const got = actual[i] ?? "";
    if (want.startsWith(":")) {
      if (got === "") return undefined;
      params[want.slice(1)] = safeDecode(got);
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
