/**
 * The sidecar layout in deploy/kubernetes/sidecar (Ollama pods, each with the exporter beside
 * it), checked against the exporter and against itself, without a cluster:
 *
 * - every file parses, kustomization.yaml lists every manifest, no namespace is set;
 * - wiring: Ollama listens on the pod's loopback only (no container port, no Service port of its
 *   own), the exporter's OLLAMA_HOST is that address, and the Services send clients to the
 *   exporter's port; the exporter itself listens beyond loopback;
 * - the exporter container: every variable set is a setting of lib/config.ts with a valid value,
 *   no command or args (the image's CMD, which tests/deploy_docker_test.ts holds to the start
 *   task's flags), probes on `/healthz` and `/readyz` at the default port, and those paths answer
 *   as the probes expect on the real exporter handler started with this environment;
 * - OLLAMA_NUM_PARALLEL reaches both containers from the same ConfigMap key;
 * - Ollama's probes can work against a loopback listener (exec, not httpGet/tcpSocket);
 * - shutdown order: the exporter's delay + drain end before Ollama's preStop sleep does, the
 *   grace period covers that sleep plus Ollama's own stop, and no native sidecar reverses it;
 * - hardening of the pod and of both containers; Ollama's writable paths are volumes;
 * - resources: set for both, no CPU limit on the exporter, and its memory limit covers the most
 *   requests one Ollama can hold open (README "Performance" numbers);
 * - scraping: pod annotations and a PodMonitor that select the pods, name the exporter's port and
 *   give the job the alerts match, and no `ollama` label (each pod is its own Ollama); the
 *   Services carry no scrape annotations (no double scrape);
 * - images pinned, Ollama's the same as in compose.yaml;
 * - with kubectl on the PATH, `kubectl kustomize` builds the directory and wires the generated
 *   ConfigMap into both containers.
 */

import assert from "node:assert/strict";
import { parse as parseYaml } from "npm:yaml@2.9.1";
import { CONFIG_SETTINGS, loadConfig, parseOllamaHost } from "../lib/config.ts";
import {
  hasKubectl,
  kustomize,
  type Manifest,
  matches,
  preStopSeconds,
  readManifests,
  withServedExporter,
  yamlDocuments,
} from "./support/kubernetes.ts";

const DIRECTORY = new URL("../deploy/kubernetes/sidecar/", import.meta.url);
const STANDALONE = new URL("../deploy/kubernetes/", import.meta.url);
const ROOT = new URL("..", import.meta.url);
const CONFIG_ENV = new Set(CONFIG_SETTINGS.map((setting) => setting.env));

const files = await readManifests(DIRECTORY);
const kustomization = (files.get("kustomization.yaml") ?? [])[0] as Manifest;
const all = [...files.entries()].filter(([name]) => name !== "kustomization.yaml")
  .flatMap(([, manifests]) => manifests);
const ofKind = (kind: string): Manifest[] => all.filter((manifest) => manifest.kind === kind);
const one = (kind: string): Manifest => {
  const found = ofKind(kind);
  assert.equal(found.length, 1, `exactly one ${kind} expected`);
  return found[0] as Manifest;
};
const statefulSet = one("StatefulSet");
const podMonitor = one("PodMonitor");
const budget = one("PodDisruptionBudget");
const services = ofKind("Service");
const pod = statefulSet.spec.template.spec as Manifest;
const podLabels = statefulSet.spec.template.metadata.labels as Record<string, string>;
const containerNamed = (name: string): Manifest => {
  const found = (pod.containers as Manifest[]).filter((c) => c.name === name);
  assert.equal(found.length, 1, `exactly one container named ${name} expected`);
  return found[0] as Manifest;
};
const ollama = containerNamed("ollama");
const exporter = containerNamed("exporter");

/** The ConfigMaps kustomization.yaml generates, as name → key → value. */
const generated = new Map<string, Record<string, string>>(
  ((kustomization?.configMapGenerator ?? []) as { name: string; literals?: string[] }[]).map(
    (generator) => [
      generator.name,
      Object.fromEntries((generator.literals ?? []).map((literal) => {
        const at = literal.indexOf("=");
        assert.ok(at > 0, `configMapGenerator ${generator.name}: "${literal}" is not KEY=value`);
        return [literal.slice(0, at), literal.slice(at + 1)];
      })),
    ],
  ),
);

interface ResolvedEnv {
  /** The value of each variable, ConfigMap references resolved. */
  readonly values: Record<string, string>;
  /** Where each variable comes from: `value`, or `configmap:<name>/<key>`. */
  readonly sources: Record<string, string>;
}

/** A container's environment, with `envFrom` and `configMapKeyRef` resolved through the generator. */
function resolveEnv(container: Manifest): ResolvedEnv {
  const values: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as Manifest[]) {
    const name = from.configMapRef?.name as string | undefined;
    assert.ok(name, `${container.name}: only configMapRef is expected in envFrom`);
    const data = generated.get(name);
    assert.ok(data, `${container.name}: envFrom names ConfigMap ${name}, which is not generated`);
    for (const [key, value] of Object.entries(data)) {
      values[key] = value;
      sources[key] = `configmap:${name}/${key}`;
    }
  }
  for (const entry of (container.env ?? []) as Manifest[]) {
    if (entry.valueFrom === undefined) {
      values[entry.name] = String(entry.value ?? "");
      sources[entry.name] = "value";
      continue;
    }
    const ref = entry.valueFrom.configMapKeyRef as { name: string; key: string } | undefined;
    assert.ok(ref, `${container.name}: ${entry.name} comes from something other than a ConfigMap`);
    const value = generated.get(ref.name)?.[ref.key];
    assert.ok(value !== undefined, `${container.name}: ${entry.name}: no ${ref.name}/${ref.key}`);
    values[entry.name] = value;
    sources[entry.name] = `configmap:${ref.name}/${ref.key}`;
  }
  return { values, sources };
}

const ollamaEnv = resolveEnv(ollama);
const exporterEnv = resolveEnv(exporter);
const config = loadConfig(exporterEnv.values);

const exporterPorts = exporter.ports as { name: string; containerPort: number }[];
/** Whether a port reference (name or number) is one of the exporter container's ports. */
const isExporterPort = (port: unknown) =>
  exporterPorts.some((p) => p.name === port || p.containerPort === port);

/** Bytes of a Kubernetes memory quantity (`96Mi`, `8Gi`, `100M`, plain bytes). */
function bytes(quantity: string | number): number {
  const match = String(quantity).match(/^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  assert.ok(match, `cannot read the memory quantity "${quantity}"`);
  const factors: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(match[1]) * (match[2] ? factors[match[2]] as number : 1);
}

const MiB = 2 ** 20;
const KiB = 2 ** 10;

// ------------------------------------------------------------------------------------------

Deno.test("sidecar: kustomization.yaml lists every manifest and sets no namespace", () => {
  assert.ok(kustomization, "kustomization.yaml");
  assert.equal(kustomization.kind, "Kustomization");
  const manifests = [...files.keys()].filter((name) => name !== "kustomization.yaml").sort();
  assert.deepEqual([...kustomization.resources].sort(), manifests);
  assert.equal(kustomization.namespace, undefined, "the namespace is the user's choice");
  for (const manifest of all) {
    assert.equal(manifest.metadata?.namespace, undefined, `${manifest.kind} sets a namespace`);
  }
  assert.equal(
    kustomization.labels,
    undefined,
    "a labels transformer would label the volumeClaimTemplates, which cannot change later",
  );
  assert.equal(statefulSet.spec.serviceName, "ollama-pods");
});

Deno.test("sidecar: Ollama listens on the pod's loopback only; the exporter forwards there", () => {
  // Ollama's listen address, read with Ollama's defaults (parseOllamaHost follows its rules),
  // except that a server takes 0.0.0.0 and :: literally: every interface.
  const raw = ollamaEnv.values.OLLAMA_HOST ?? "";
  const literal = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`).hostname;
  const listen = parseOllamaHost(raw);
  assert.equal(literal, "127.0.0.1", "Ollama must not listen beyond the pod's loopback");
  assert.equal(ollama.ports, undefined, "Ollama declares no container port: nothing reaches it");
  const upstream = config.ollamaUrl;
  assert.equal(upstream.hostname, listen.hostname, "the exporter talks to the Ollama beside it");
  assert.equal(upstream.port, listen.port);
  assert.equal(exporterEnv.sources.OLLAMA_HOST, "value");
  assert.ok(
    !/^(127\.|localhost$|::1$|\[::1\]$)/.test(config.listenHost),
    `the exporter listens on ${config.listenHost}: the Service and the kubelet cannot reach it`,
  );
  assert.equal(config.port, loadConfig({}).port, "PORT is left at its default");
  assert.deepEqual(exporterPorts.map((p) => [p.name, p.containerPort]), [["http", config.port]]);
});

Deno.test("sidecar: the Services send clients to the exporter's port and to nothing else", () => {
  const names = services.map((service) => service.metadata.name).sort();
  assert.deepEqual(names, ["ollama", "ollama-pods"]);
  for (const service of services) {
    assert.ok(matches(service.spec.selector, podLabels), `${service.metadata.name}: selector`);
    for (const port of service.spec.ports as { name: string; targetPort: unknown }[]) {
      assert.ok(
        isExporterPort(port.targetPort),
        `${service.metadata.name} port ${port.name} targets ${port.targetPort}: not the exporter`,
      );
    }
    const annotations = Object.keys(service.metadata.annotations ?? {});
    assert.ok(
      !annotations.some((key) => key.startsWith("prometheus.io/")),
      `${service.metadata.name}: scrape annotations on a Service scrape every pod a second time`,
    );
  }
  const clients = services.find((service) => service.metadata.name === "ollama") as Manifest;
  assert.ok(clients.spec.clusterIP !== "None", "clients get a balanced ClusterIP");
  // Clients keep their setting: OLLAMA_HOST=ollama means http://ollama:11434 to Ollama's tools.
  const usual = parseOllamaHost("ollama");
  assert.deepEqual(
    (clients.spec.ports as { port: number }[]).map((p) => String(p.port)),
    [usual.port],
    "the client Service listens on Ollama's usual port",
  );
  const pods = services.find((service) => service.metadata.name === "ollama-pods") as Manifest;
  assert.equal(pods.spec.clusterIP, "None", "the StatefulSet's governing Service is headless");
});

Deno.test("sidecar: the exporter's environment holds only settings of lib/config.ts", () => {
  for (const name of Object.keys(exporterEnv.values)) {
    assert.ok(CONFIG_ENV.has(name), `${name} is not a setting of lib/config.ts`);
  }
  assert.equal(exporter.envFrom, undefined, "envFrom would hand the exporter variables it ignores");
  // The image's CMD is the start task's command line (tests/deploy_docker_test.ts): keep it.
  assert.equal(exporter.command, undefined, "no command: the image's entry point and CMD run");
  assert.equal(exporter.args, undefined, "no args: the image's CMD has the start task's flags");
  assert.equal(config.healthIntervalSeconds, 5, "readiness follows Ollama within seconds");
});

Deno.test("sidecar: OLLAMA_NUM_PARALLEL reaches both containers from one ConfigMap key", () => {
  const ollamaSource = ollamaEnv.sources.OLLAMA_NUM_PARALLEL;
  const exporterSource = exporterEnv.sources.OLLAMA_NUM_PARALLEL;
  assert.ok(ollamaSource?.startsWith("configmap:"), "Ollama reads it from the ConfigMap");
  assert.equal(exporterSource, ollamaSource, "both read the same ConfigMap key");
  assert.equal(exporterEnv.values.OLLAMA_NUM_PARALLEL, ollamaEnv.values.OLLAMA_NUM_PARALLEL);
  assert.ok(config.ollamaNumParallel >= 1, "set, so that ollama_requests_waiting is exported");
  for (const [name, data] of generated) {
    for (const key of Object.keys(data)) {
      assert.match(key, /^OLLAMA_[A-Z_]+$/, `${name}: ${key} is not an Ollama setting`);
    }
  }
  assert.equal(
    ollama.env?.some((e: Manifest) => e.name === "OLLAMA_NUM_PARALLEL"),
    false,
    "Ollama's value comes from the ConfigMap only",
  );
});

Deno.test("sidecar: probes fit a sidecar and a loopback Ollama", () => {
  assert.equal(exporter.livenessProbe?.httpGet?.path, "/healthz");
  assert.equal(exporter.readinessProbe?.httpGet?.path, "/readyz");
  for (const probe of [exporter.livenessProbe, exporter.readinessProbe]) {
    assert.ok(isExporterPort(probe.httpGet.port), `probe port ${probe.httpGet.port}`);
  }
  assert.ok(ollama.startupProbe && ollama.livenessProbe, "Ollama has startup and liveness probes");
  for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    const probe = ollama[kind] as Manifest | undefined;
    if (!probe) continue;
    // The kubelet probes from the node's network; a loopback listener in the pod never answers.
    assert.ok(
      !probe.httpGet && !probe.tcpSocket && !probe.grpc,
      `ollama ${kind}: Ollama listens on loopback, so only an exec probe can reach it`,
    );
    const command = probe.exec?.command as string[] | undefined;
    assert.deepEqual(command, ["ollama", "list"], `ollama ${kind}: Ollama's own CLI`);
    assert.ok(probe.timeoutSeconds >= 5, `ollama ${kind}: a busy Ollama needs time to answer`);
  }
});

Deno.test("sidecar: shutdown order, the exporter drains before Ollama stops", () => {
  assert.equal(
    pod.initContainers,
    undefined,
    "no (native sidecar) init containers: Kubernetes stops those after the regular containers, " +
      "so an exporter there would outlive Ollama, the wrong order",
  );
  assert.equal(preStopSeconds(exporter), 0, "the exporter waits by SHUTDOWN_DELAY_SECONDS instead");
  const delay = config.shutdownDelaySeconds;
  const drain = config.shutdownGraceSeconds;
  assert.ok(delay >= 1 && delay < 30, `a shutdown delay of ${delay} s`);
  const sleep = preStopSeconds(ollama);
  assert.ok(
    sleep > delay + drain,
    `Ollama's preStop sleep (${sleep} s) must outlast the exporter's delay ${delay} s + drain ` +
      `${drain} s, or Ollama cuts the streams the exporter is still draining`,
  );
  const grace = pod.terminationGracePeriodSeconds as number;
  const ollamaStop = 10; // Ollama unloads its models and exits within seconds of SIGTERM.
  assert.ok(
    grace >= sleep + ollamaStop,
    `terminationGracePeriodSeconds ${grace} must cover Ollama's preStop ${sleep} s plus its stop`,
  );
});

Deno.test("sidecar: hardened pod and containers; Ollama writes only to volumes", async () => {
  const security = pod.securityContext as Manifest;
  assert.equal(security?.runAsNonRoot, true);
  assert.equal(security?.seccompProfile?.type, "RuntimeDefault");
  assert.equal(pod.automountServiceAccountToken, false, "neither container uses the API");
  assert.equal(pod.enableServiceLinks, false, "no OLLAMA_SERVICE_*/OLLAMA_PORT* variables");
  for (const container of [ollama, exporter]) {
    const own = container.securityContext as Manifest;
    const uid = own?.runAsUser ?? security.runAsUser;
    assert.ok(Number.isInteger(uid) && uid > 0, `${container.name}: a non-root numeric uid`);
    assert.equal(own.allowPrivilegeEscalation, false, container.name);
    assert.equal(own.readOnlyRootFilesystem, true, container.name);
    assert.deepEqual(own.capabilities?.drop, ["ALL"], container.name);
    assert.equal(own.privileged ?? false, false, container.name);
  }
  // The exporter runs as the image's `deno` user, as in the standalone Deployment.
  const standalone = yamlDocuments(
    await Deno.readTextFile(new URL("deployment.yaml", STANDALONE)),
    "deployment.yaml",
  )[0] as Manifest;
  const standalonePod = standalone.spec.template.spec as Manifest;
  assert.equal(exporter.securityContext.runAsUser, standalonePod.securityContext.runAsUser);
  assert.equal(exporter.securityContext.runAsGroup, standalonePod.securityContext.runAsGroup);
  // Ollama writes its key pair and models under $HOME/.ollama, and a file in /tmp at start-up.
  const mounts = (ollama.volumeMounts ?? []) as { name: string; mountPath: string }[];
  const home = ollamaEnv.values.HOME;
  assert.ok(home, "Ollama's HOME is set (the image's is /root, which a non-root uid cannot use)");
  const models = mounts.find((m) => m.mountPath === `${home}/.ollama` || m.mountPath === home);
  assert.ok(models, `nothing is mounted at ${home}/.ollama`);
  const claims = (statefulSet.spec.volumeClaimTemplates ?? []) as Manifest[];
  const claim = claims.find((c) => c.metadata.name === models.name);
  assert.ok(claim, "the models are on a volume claim of their own per pod");
  assert.ok(bytes(claim.spec.resources.requests.storage) >= 10 * 2 ** 30, "room for models");
  assert.ok(security.fsGroup, "fsGroup makes the claim writable for Ollama's uid");
  assert.equal(security.fsGroupChangePolicy, "OnRootMismatch", "no chown of every model file");
  const tmp = mounts.find((m) => m.mountPath === "/tmp");
  assert.ok(tmp, "/tmp is writable (GPU discovery writes there; without it, CPU only)");
  const volumes = (pod.volumes ?? []) as Manifest[];
  assert.ok(volumes.find((v) => v.name === tmp.name)?.emptyDir, "/tmp is an emptyDir");
  for (const container of [ollama, exporter]) {
    for (const mount of (container.volumeMounts ?? []) as { name: string }[]) {
      assert.ok(
        volumes.some((v) => v.name === mount.name) ||
          claims.some((c) => c.metadata.name === mount.name),
        `${container.name} mounts ${mount.name}, which is no volume`,
      );
    }
  }
});

Deno.test("sidecar: resources set; the exporter's memory limit covers one Ollama's requests", async () => {
  const resources = exporter.resources as Manifest;
  assert.ok(resources.requests?.cpu && resources.requests?.memory, "cpu and memory requests");
  assert.ok(resources.limits?.memory, "a memory limit");
  assert.equal(resources.limits?.cpu, undefined, "no CPU limit: throttling delays every chunk");
  // README "Performance": about 85 MiB under steady traffic, about 80 KiB per open stream. One
  // Ollama holds at most OLLAMA_NUM_PARALLEL per loaded model (3 loaded by default per GPU)
  // plus OLLAMA_MAX_QUEUE (default 512) waiting.
  const queue = Number(ollamaEnv.values.OLLAMA_MAX_QUEUE ?? 512);
  const open = queue + config.ollamaNumParallel * 3;
  const needed = 85 * MiB + open * 80 * KiB;
  assert.ok(
    bytes(resources.limits.memory) >= needed,
    `memory limit ${resources.limits.memory} < ${Math.ceil(needed / MiB)} MiB for ${open} open`,
  );
  assert.ok(bytes(resources.requests.memory) >= 60 * MiB, "at least the idle RSS is requested");
  assert.ok(bytes(resources.limits.memory) >= bytes(resources.requests.memory));
  const ollamaResources = ollama.resources as Manifest;
  assert.ok(ollamaResources?.requests?.cpu && ollamaResources?.requests?.memory, "Ollama requests");
  const text = await Deno.readTextFile(new URL("statefulset.yaml", DIRECTORY));
  assert.match(text, /#\s*nvidia\.com\/gpu: 1/, "the GPU limit is shown for GPU nodes");
  assert.match(text, /SIZING/, "the exporter's sizing is marked for whoever adjusts it");
});

Deno.test("sidecar: Prometheus discovers every pod, with the job the alerts match", async () => {
  const annotations = statefulSet.spec.template.metadata.annotations as Record<string, string>;
  assert.equal(annotations["prometheus.io/scrape"], "true");
  assert.equal(annotations["prometheus.io/path"], "/metrics");
  assert.ok(isExporterPort(Number(annotations["prometheus.io/port"])), "annotated port");
  assert.ok(matches(podMonitor.spec.selector.matchLabels, podLabels), "PodMonitor selector");
  assert.equal(podMonitor.spec.namespaceSelector, undefined, "the PodMonitor's own namespace");
  const alerts = await Deno.readTextFile(new URL("deploy/prometheus/alerts.yml", ROOT));
  const jobs = new Set([...alerts.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1]));
  assert.equal(jobs.size, 1, "the alerts match one job");
  const endpoints = podMonitor.spec.podMetricsEndpoints as Manifest[];
  assert.equal(endpoints.length, 1);
  for (const endpoint of endpoints) {
    assert.ok(isExporterPort(endpoint.port), `PodMonitor port ${endpoint.port}`);
    assert.equal(endpoint.path, "/metrics");
    const job = (endpoint.relabelings ?? []).find((r: Manifest) => r.targetLabel === "job");
    assert.ok(job, "a PodMonitor's default job is <namespace>/<name>: set the alerts' job");
    assert.equal(job.action ?? "replace", "replace");
    assert.equal(job.sourceLabels, undefined);
    assert.equal(job.replacement, [...jobs][0]);
    // Each pod is its own Ollama: an `ollama` target label would make the dashboard and
    // OllamaDown count the whole fleet as one Ollama.
    const relabelings = [...(endpoint.relabelings ?? []), ...(endpoint.metricRelabelings ?? [])];
    assert.ok(
      !relabelings.some((r: Manifest) => r.targetLabel === "ollama"),
      "the sidecar PodMonitor must not set the ollama label",
    );
  }
  assert.ok(matches(budget.spec.selector.matchLabels, podLabels), "PodDisruptionBudget selector");
  assert.ok(budget.spec.maxUnavailable >= 1, "node drains may evict one pod at a time");
});

Deno.test("sidecar: images pinned, Ollama's the same as compose.yaml's", async () => {
  const compose = parseYaml(await Deno.readTextFile(new URL("compose.yaml", ROOT))) as {
    services: Record<string, { image?: string }>;
  };
  assert.equal(ollama.image, compose.services.ollama?.image, "one Ollama version everywhere");
  for (const container of [ollama, exporter]) {
    const [name, tag] = (container.image as string).split(":") as [string, string | undefined];
    assert.ok(tag && tag !== "latest" && /\d/.test(tag), `${container.name}: pin a version`);
    const override = (kustomization.images as { name: string; newTag?: string }[])
      .find((image) => image.name === name);
    assert.ok(override, `kustomization.yaml images: lists ${name}`);
    assert.equal(override.newTag, tag, `${name}: the manifest's and kustomization's tags agree`);
  }
});

Deno.test("sidecar: the probe and scrape paths answer on the real exporter as the probes expect", async () => {
  await withServedExporter(config, async (instance, get) => {
    const liveness = exporter.livenessProbe.httpGet.path as string;
    const readiness = exporter.readinessProbe.httpGet.path as string;
    const scrape = statefulSet.spec.template.metadata.annotations["prometheus.io/path"] as string;
    // Before Ollama answered: alive, not ready, so the pod gets no traffic yet.
    assert.equal((await get(liveness)).status, 200);
    assert.equal((await get(readiness)).status, 503);
    await instance.monitor.check();
    assert.equal((await get(readiness)).status, 200);
    const metrics = await get(scrape);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# TYPE ollama_requests_waiting gauge$/m, "OLLAMA_NUM_PARALLEL");
    instance.drain();
    assert.equal((await get(readiness)).status, 503);
    assert.equal((await get(liveness)).status, 200);
  });
});

Deno.test({
  name: "sidecar: kubectl kustomize builds the directory (skipped without kubectl)",
  ignore: !(await hasKubectl()),
  async fn() {
    const built = await kustomize(DIRECTORY);
    assert.deepEqual(built.map((manifest) => manifest.kind).sort(), [
      "ConfigMap",
      "PodDisruptionBudget",
      "PodMonitor",
      "Service",
      "Service",
      "StatefulSet",
    ]);
    const configMap = built.find((m) => m.kind === "ConfigMap") as Manifest;
    const name = configMap.metadata.name as string;
    assert.match(name, /^ollama-settings-[a-z0-9]+$/, "the name carries the contents' hash");
    const builtPod = (built.find((m) => m.kind === "StatefulSet") as Manifest).spec.template.spec;
    const refs = JSON.stringify(builtPod).match(/ollama-settings[a-z0-9-]*/g) ?? [];
    assert.ok(refs.length >= 2, "both containers read the ConfigMap");
    assert.deepEqual([...new Set(refs)], [name], "every reference names the generated ConfigMap");
  },
});
