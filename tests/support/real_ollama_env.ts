/**
 * Test helper: a REAL Ollama of our own, started with `../shared/real-ollama/start.sh` as
 * `startRealOllama` (`real_ollama.ts`) starts it, but with extra environment variables, which
 * `start.sh` passes on to the server: `OLLAMA_NUM_PARALLEL`, `OLLAMA_MAX_QUEUE`,
 * `OLLAMA_KEEP_ALIVE`, ... Always a server of our own on a free port of 127.0.0.1, even when
 * `OLLAMA_TEST_URL` names another: the settings under test are the server's own.
 *
 * When the folder is absent, `REAL_OLLAMA_START_ABSENT` (from `real_ollama.ts`) says why, in one
 * line, for the tests' `ignore` condition.
 *
 * @module
 */

import { REAL_OLLAMA_START_ABSENT, type RealOllama, startRealOllama } from "./real_ollama.ts";

export { REAL_OLLAMA_START_ABSENT };
export type { RealOllama };

/**
 * Starts the real Ollama with `env` added to its environment (the rest is inherited), on a free
 * port of 127.0.0.1, and waits until `/api/version` answers. `close()` stops the server and any
 * model runner it left behind.
 */
export function startRealOllamaWith(env: Record<string, string>): Promise<RealOllama> {
  if (REAL_OLLAMA_START_ABSENT !== null) throw new Error(REAL_OLLAMA_START_ABSENT);
  return startRealOllama({ own: true, env });
}

/**
 * Runs `body` with a real Ollama of our own started with `env`, and stops it afterwards, whatever
 * happens.
 */
export async function withRealOllama(
  env: Record<string, string>,
  body: (ollama: RealOllama) => Promise<void>,
): Promise<void> {
  const ollama = await startRealOllamaWith(env);
  try {
    await body(ollama);
  } finally {
    await ollama.close();
  }
}
