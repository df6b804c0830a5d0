/**
 * The Kubernetes manifests in deploy/kubernetes, checked against the exporter itself:
 *
 * - every file parses (multi-document aware) and kustomization.yaml lists every manifest;
 * - the container port is the default PORT of lib/config.ts, the probes use `/healthz` and
 *   `/readyz`, and those paths (and the scrape path) answer as the probes expect when the real
 *   exporter handler is served on 127.0.0.1;
 * - every environment variable set is a setting of lib/config.ts and its value parses;
 * - shutdown: the pod keeps serving a few seconds after SIGTERM (SHUTDOWN_DELAY_SECONDS, or a
 *   preStop sleep) and terminationGracePeriodSeconds covers that delay plus the drain period;
 * - hardening: non-root, read-only root file system, no privilege escalation, no capabilities,
 *   RuntimeDefault seccomp, resource requests and a memory limit;
 * - names line up: selectors match the pod labels, the Service targets the container's named
 *   port, the ServiceMonitor scrapes the Service's port, the scrape annotations name the port;
 * - the ServiceMonitor gives every replica the `ollama` target label of the Ollama they share;
 * - with kubectl on the PATH, `kubectl kustomize` builds the directory.
 */

import assert from "node:assert/strict";
import { CONFIG_SETTINGS, loadConfig, parseOllamaHost } from "../lib/config.ts";
import {
  hasKubectl,
  kustomize,
  type Manifest,
  matches,
  preStopSeconds,
  readManifests,
  withServedExporter,
} from "./support/kubernetes.ts";

const DIRECTORY = new URL("../deploy/kubernetes/", import.meta.url);
const CONFIG_ENV = new Set(CONFIG_SETTINGS.map((setting) => setting.env));

const files = await readManifests(DIRECTORY);
const all = [...files.entries()].filter(([name]) => name !== "kustomization.yaml")
  .flatMap(([, manifests]) => manifests);
const one = (kind: string): Manifest => {
  const found = all.filter((manifest) => manifest.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} expected`);
  return found[0] as Manifest;
};
const deployment = one("Deployment");
const service = one("Service");
const serviceMonitor = one("ServiceMonitor");
const budget = one("PodDisruptionBudget");
const pod = deployment.spec.template.spec as Manifest;
const container = (pod.containers as Manifest[])[0] as Manifest;
const env: Record<string, string> = Object.fromEntries(
  ((container.env ?? []) as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? ""]),
);

Deno.test("kustomization.yaml lists every manifest and sets no namespace", () => {
  const kustomization = (files.get("kustomization.yaml") ?? [])[0];
  assert.ok(kustomization, "kustomization.yaml");
  assert.equal(kustomization.kind, "Kustomization");
  const manifests = [...files.keys()].filter((name) => name !== "kustomization.yaml").sort();
  assert.deepEqual([...kustomization.resources].sort(), manifests);
  assert.equal(kustomization.namespace, undefined, "the namespace is the user's choice");
  for (const manifest of all) {
    assert.equal(manifest.metadata?.namespace, undefined, `${manifest.kind} sets a namespace`);
  }
});

Deno.test("Deployment: 2 replicas, the default port named http, probes on /healthz and /readyz", () => {
  assert.equal(deployment.spec.replicas, 2);
  const port = loadConfig(env).port;
  assert.equal(port, loadConfig({}).port, "PORT is left at its default");
  const ports = container.ports as { name: string; containerPort: number }[];
  assert.deepEqual(ports.map((p) => [p.name, p.containerPort]), [["http", port]]);
  assert.equal(container.livenessProbe?.httpGet?.path, "/healthz");
  assert.equal(container.readinessProbe?.httpGet?.path, "/readyz");
  for (const probe of [container.livenessProbe, container.readinessProbe]) {
    assert.ok(
      ports.some((p) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port),
      `probe port ${probe.httpGet.port} is not a container port`,
    );
  }
});

Deno.test("Deployment: the environment holds only settings of lib/config.ts, with valid values", () => {
  assert.ok("OLLAMA_HOST" in env && "SHUTDOWN_GRACE_SECONDS" in env);
  for (const name of Object.keys(env)) {
    assert.ok(CONFIG_ENV.has(name), `${name} is not a setting of lib/config.ts`);
  }
  loadConfig(env); // throws, naming the variable, on a bad value
  parseOllamaHost(env.OLLAMA_HOST as string);
});

Deno.test("Deployment: the termination grace period covers the shutdown delay and the drain", () => {
  const config = loadConfig(env);
  const drain = config.shutdownGraceSeconds;
  // Serving on after SIGTERM (or a preStop sleep before it) lets the endpoint removal reach
  // kube-proxy and ingresses before the listener closes.
  const sleep = preStopSeconds(container) + config.shutdownDelaySeconds;
  assert.equal(config.shutdownDelaySeconds, 5, "SHUTDOWN_DELAY_SECONDS replaces the preStop sleep");
  assert.equal(preStopSeconds(container), 0, "no preStop hook: the image needs no sleep binary");
  assert.ok(sleep >= 1 && sleep < 30, `shutdown delay of ${sleep} s`);
  const grace = pod.terminationGracePeriodSeconds as number;
  assert.ok(grace > drain, `terminationGracePeriodSeconds ${grace} <= SHUTDOWN_GRACE_SECONDS`);
  assert.ok(
    grace > sleep + drain,
    `terminationGracePeriodSeconds ${grace} must exceed the delay ${sleep} s + drain ${drain} s, ` +
      "or Kubernetes kills requests still draining",
  );
});

Deno.test("Deployment: hardened pod and container, resources set", () => {
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.seccompProfile?.type, "RuntimeDefault");
  const uid = pod.securityContext?.runAsUser;
  assert.ok(
    Number.isInteger(uid) && uid > 0,
    "runAsUser: the Dockerfile's USER is a name, which runAsNonRoot cannot verify without it",
  );
  assert.equal(pod.automountServiceAccountToken, false, "the exporter does not use the API");
  const security = container.securityContext as Manifest;
  assert.equal(security.allowPrivilegeEscalation, false);
  assert.equal(security.readOnlyRootFilesystem, true);
  assert.deepEqual(security.capabilities?.drop, ["ALL"]);
  assert.equal(security.privileged ?? false, false);
  const resources = container.resources as Manifest;
  assert.ok(resources.requests?.cpu && resources.requests?.memory, "cpu and memory requests");
  assert.ok(resources.limits?.memory, "a memory limit");
});

Deno.test("selectors, ports and names line up across Deployment, Service, ServiceMonitor, PDB", () => {
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  assert.ok(matches(deployment.spec.selector.matchLabels, podLabels), "Deployment selector");
  assert.ok(matches(service.spec.selector, podLabels), "Service selector");
  assert.ok(matches(budget.spec.selector.matchLabels, podLabels), "PodDisruptionBudget selector");
  assert.ok(
    budget.spec.minAvailable < deployment.spec.replicas ||
      budget.spec.maxUnavailable !== undefined,
    "the budget must allow one pod to be evicted, or node drains block",
  );
  const servicePorts = service.spec.ports as { name: string; port: number; targetPort: unknown }[];
  const containerPorts = container.ports as { name: string; containerPort: number }[];
  for (const port of servicePorts) {
    assert.ok(
      containerPorts.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort),
      `Service port ${port.name} targets ${port.targetPort}, which the container does not have`,
    );
  }
  assert.ok(
    matches(serviceMonitor.spec.selector.matchLabels, service.metadata.labels ?? {}),
    "the ServiceMonitor selects the Service by labels the Service itself carries",
  );
  for (const endpoint of serviceMonitor.spec.endpoints as { port: string; path: string }[]) {
    assert.ok(
      servicePorts.some((p) => p.name === endpoint.port),
      `ServiceMonitor port ${endpoint.port} is not a Service port name`,
    );
    assert.equal(endpoint.path, "/metrics");
  }
  const annotations = service.metadata.annotations as Record<string, string>;
  assert.equal(annotations["prometheus.io/scrape"], "true");
  assert.equal(annotations["prometheus.io/path"], "/metrics");
  assert.equal(Number(annotations["prometheus.io/port"]), loadConfig(env).port);
});

Deno.test("the alerts' job is the Service name (the ServiceMonitor's default job label)", async () => {
  const alerts = await Deno.readTextFile(new URL("../prometheus/alerts.yml", DIRECTORY));
  const jobs = new Set([...alerts.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1]));
  assert.deepEqual([...jobs], [service.metadata.name]);
  assert.equal(serviceMonitor.spec.jobLabel, undefined, "jobLabel would change the job label");
});

Deno.test("the ServiceMonitor names the one Ollama its replicas share (the ollama label)", async () => {
  // The dashboard's fleet totals and OllamaDown count the targets that share an `ollama` label
  // once: without it, two replicas in front of one Ollama would count it twice.
  const alerts = await Deno.readTextFile(new URL("../prometheus/alerts.yml", DIRECTORY));
  assert.match(alerts, /ollama!=""/, "the alerts read the ollama target label");
  const host = parseOllamaHost(env.OLLAMA_HOST as string).hostname;
  for (const endpoint of serviceMonitor.spec.endpoints as Manifest[]) {
    const label = ((endpoint.relabelings ?? []) as Manifest[])
      .filter((r) => r.targetLabel === "ollama");
    assert.equal(label.length, 1, "one relabeling sets the ollama target label");
    assert.equal(label[0]!.action ?? "replace", "replace");
    assert.equal(label[0]!.sourceLabels, undefined, "the same value on every replica");
    assert.equal(label[0]!.replacement, host.split(".")[0], "the Service OLLAMA_HOST names");
  }
});

Deno.test("the probe and scrape paths answer on the real exporter as the probes expect", async () => {
  await withServedExporter(loadConfig(env), async (exporter, get) => {
    const status = async (path: string) => (await get(path)).status;
    const liveness = container.livenessProbe.httpGet.path as string;
    const readiness = container.readinessProbe.httpGet.path as string;
    const scrape = service.metadata.annotations["prometheus.io/path"] as string;
    // Before the first check of Ollama: alive, not ready.
    assert.equal(await status(liveness), 200);
    assert.equal(await status(readiness), 503);
    await exporter.monitor.check();
    assert.equal(await status(liveness), 200);
    assert.equal(await status(readiness), 200);
    assert.equal(await status(scrape), 200);
    // After SIGTERM the exporter drains: readiness fails so endpoints go, liveness holds.
    exporter.drain();
    assert.equal(await status(readiness), 503);
    assert.equal(await status(liveness), 200);
  });
});

const kubectl = await hasKubectl();

Deno.test({
  name: "kubectl kustomize builds the directory (skipped without kubectl)",
  ignore: !kubectl,
  async fn() {
    const kinds = (await kustomize(DIRECTORY)).map((manifest) => manifest.kind).sort();
    assert.deepEqual(kinds, ["Deployment", "PodDisruptionBudget", "Service", "ServiceMonitor"]);
  },
});
