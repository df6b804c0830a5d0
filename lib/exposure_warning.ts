/**
 * The start-up warning for an exporter open to the network: listening on an address other than
 * loopback (`0.0.0.0`, the default, which containers need) with no API keys, or no metrics
 * token, means anyone who reaches the port can use Ollama through it or read `/metrics`.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { isLoopbackListenHost } from "./routes/host_guard.ts";

/**
 * The one warning line for what is open to the network, or `null` when nothing is (loopback, or
 * both API keys and `METRICS_TOKEN` set).
 *
 * @param config where the exporter listens and which credentials it requires.
 */
export function exposureWarning(
  config: Pick<Config, "listenHost" | "apiKeys" | "apiKeysFile" | "metricsToken">,
): string | null {
  if (isLoopbackListenHost(config.listenHost)) return null;
  const proxyOpen = config.apiKeys === "" && config.apiKeysFile === "";
  const metricsOpen = config.metricsToken === "";
  const local = "or LISTEN_HOST=127.0.0.1 to serve this machine only";
  if (proxyOpen && metricsOpen) {
    return "the proxy and /metrics are open to the network: anyone who can reach this port can " +
      "use Ollama through it and read the metrics; set API_KEYS (or API_KEYS_FILE) and " +
      `METRICS_TOKEN, ${local}`;
  }
  if (proxyOpen) {
    return "the proxy is open to the network: anyone who can reach this port can use Ollama " +
      `through it; set API_KEYS (or API_KEYS_FILE), ${local}`;
  }
  if (metricsOpen) {
    return "/metrics is open to the network: anyone who can reach this port can read the " +
      `metrics (model names, key names, traffic); set METRICS_TOKEN, ${local}`;
  }
  return null;
}
