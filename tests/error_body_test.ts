/**
 * The exporter's own error answers take the shape of the API called, and their `type` follows
 * from the status: OpenAI's `invalid_request_error` for a client error and `api_error` else,
 * Anthropic's per-status types (`authentication_error` for a bad key, `permission_error` for a
 * refused Host, `request_too_large`, `api_error` for 502/504), Ollama's bare `{"error"}`.
 */
import assert from "node:assert/strict";
import { errorBody, errorResponse } from "../lib/proxy/upstream_failure.ts";

Deno.test("errorBody: every shape at every status the exporter answers with", () => {
  const cases: Array<[number, string | undefined, string, string]> = [
    [401, "invalid_api_key", "invalid_request_error", "authentication_error"],
    [403, "host_not_allowed", "invalid_request_error", "permission_error"],
    [413, "request_too_large", "invalid_request_error", "request_too_large"],
    [502, undefined, "api_error", "api_error"],
    [504, undefined, "api_error", "api_error"],
  ];
  for (const [status, code, openai, anthropic] of cases) {
    const options = code === undefined ? {} : { code };
    assert.equal(
      errorBody("m", { shape: "openai", status, ...options }),
      `{"error":{"message":"m","type":"${openai}","param":null,"code":${
        code === undefined ? "null" : `"${code}"`
      }}}`,
      `openai ${status}`,
    );
    assert.equal(
      errorBody("m", { shape: "anthropic", status, ...options }),
      `{"type":"error","error":{"type":"${anthropic}","message":"m"}}`,
      `anthropic ${status}`,
    );
    assert.equal(errorBody("m", { shape: "ollama", status, ...options }), '{"error":"m"}');
  }
});

Deno.test("errorResponse: 502 by default, the body typed by the status it is sent with", async () => {
  const response = errorResponse("gone", { shape: "anthropic" });
  assert.equal(response.status, 502);
  assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(
    await response.text(),
    '{"type":"error","error":{"type":"api_error","message":"gone"}}',
  );
  const timeout = errorResponse("late", { shape: "openai", status: 504 });
  assert.equal(timeout.status, 504);
  assert.equal(JSON.parse(await timeout.text()).error.type, "api_error");
});
