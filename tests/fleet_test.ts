/**
 * The exporter beside every Ollama of a fleet (issue #14), proven on a local fleet: THREE real
 * Ollama servers (`../shared/real-ollama`, v0.24.0), one exporter beside each
 * (`support/local_fleet.ts`), and ONE real Prometheus scraping the three exporters every second
 * as one job whose targets carry a `pod` label, as Kubernetes discovery of the sidecar layout
 * gives them.
 *
 * Traffic goes round-robin over the three exporters, as a Service spreads it: request k to
 * exporter k mod 3, in rounds of three sent together, a mix of API families (native chat and
 * generate streams, `/v1/chat/completions` streams with usage, `/v1/messages` streams,
 * `/api/embed`). Each Ollama gets its own models (ollama-0 `tiny`, ollama-1 `tiny-think`,
 * ollama-2 `tiny-tools` and `tiny-embed`), so the three inventories differ. Then, through
 * Prometheus's query API, exactly:
 *
 * - the fleet-wide sums: `sum(ollama_requests_total)` is the number of requests sent, the token
 *   sums are what the answers reported (final chunk, `usage`, `message_delta`), and so per pod
 *   and per endpoint;
 * - each pod's inventory is its own Ollama's `/api/ps`: `ollama_loaded_models` and every
 *   `ollama_model_memory_bytes` series (VRAM `size_vram`, RAM the rest);
 * - the dashboard's own queries (with `$instance_label` = `pod`): the fleet totals count every
 *   Ollama once, the Fleet row shows one series per pod, and every query of the dashboard runs;
 * - after ollama-1's Ollama is stopped: `ollama_up == 0`, the dashboard's "Ollama down" and the
 *   shipped `OllamaDown` expression (`deploy/prometheus/alerts.yml`) name exactly that pod, its
 *   exporter is still scraped (`up` 1), its inventory is gone from the totals.
 *
 * Every generation is capped. Without the shared folder the test is skipped with one line;
 * without the `prometheus` binary it fails saying how to install it.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "npm:yaml@2.9.1";
import { allPanels, panelQuery, readDashboard, substitute } from "./support/dashboard.ts";
import { type FleetMember, LocalFleet, REAL_OLLAMA_START_ABSENT } from "./support/local_fleet.ts";
import { PrometheusServer, type VectorSample, waitFor } from "./support/prometheus_server.ts";

if (REAL_OLLAMA_START_ABSENT !== null) console.log(REAL_OLLAMA_START_ABSENT);
const ignore = REAL_OLLAMA_START_ABSENT !== null;

const JOB = "ollama-fleet";
const PODS = ["ollama-0", "ollama-1", "ollama-2"] as const;
const PROMPT = "Why is the sky blue?";
/** How long the inventory's `/api/ps` answer may be cached by an exporter, plus a margin. */
const INVENTORY_FRESH_MS = 2_500;

/** The API families the traffic mixes. */
type Family = "chat" | "generate" | "openai" | "messages" | "embed";

/** One request of the traffic. */
interface Planned {
  readonly family: Family;
  readonly model: string;
  /** The output token limit (`num_predict`, `max_tokens`); unused for embeddings. */
  readonly limit: number;
  /** Whether to offer the `get_weather` tool. */
  readonly tools?: boolean;
}

/** What each Ollama is sent, in order: its own models, every family. */
const PLAN: readonly (readonly Planned[])[] = [
  [
    { family: "chat", model: "tiny", limit: 8 },
    { family: "generate", model: "tiny", limit: 6 },
    { family: "openai", model: "tiny", limit: 7 },
    { family: "messages", model: "tiny", limit: 5 },
  ],
  [
    { family: "messages", model: "tiny-think", limit: 6 },
    { family: "chat", model: "tiny-think", limit: 9 },
    { family: "generate", model: "tiny-think", limit: 5 },
    { family: "openai", model: "tiny-think", limit: 8 },
  ],
  [
    { family: "chat", model: "tiny-tools", limit: 16, tools: true },
    { family: "embed", model: "tiny-embed", limit: 0 },
    { family: "messages", model: "tiny-tools", limit: 16, tools: true },
    { family: "openai", model: "tiny-tools", limit: 16, tools: true },
  ],
];

const ENDPOINTS: Readonly<Record<Family, string>> = {
  chat: "/api/chat",
  generate: "/api/generate",
  openai: "/v1/chat/completions",
  messages: "/v1/messages",
  embed: "/api/embed",
};

const WEATHER_SCHEMA = {
  type: "object",
  properties: { city: { type: "string", description: "City name" } },
  required: ["city"],
};
const OLLAMA_TOOLS = [{
  type: "function",
  function: { name: "get_weather", description: "Current weather", parameters: WEATHER_SCHEMA },
}];
const ANTHROPIC_TOOLS = [{
  name: "get_weather",
  description: "Current weather",
  input_schema: WEATHER_SCHEMA,
}];

/** The request body of `planned`. */
function body(planned: Planned): Record<string, unknown> {
  const { family, model, limit, tools } = planned;
  const messages = [{ role: "user", content: PROMPT }];
  switch (family) {
    case "chat":
      return {
        model,
        messages,
        stream: true,
        options: { num_predict: limit },
        ...(tools ? { tools: OLLAMA_TOOLS } : {}),
      };
    case "generate":
      return { model, prompt: PROMPT, stream: true, options: { num_predict: limit } };
    case "openai":
      return {
        model,
        messages,
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: limit,
        ...(tools ? { tools: OLLAMA_TOOLS } : {}),
      };
    case "messages":
      return {
        model,
        messages,
        stream: true,
        max_tokens: limit,
        ...(tools ? { tools: ANTHROPIC_TOOLS } : {}),
      };
    case "embed":
      return { model, input: ["hello world", "the sky is blue"] };
  }
}

/** Tokens an answer reported: prompt (input) and generated (output). */
interface Reported {
  readonly prompt: number;
  readonly output: number;
}

function jsonLines(text: string, prefix: string): Record<string, unknown>[] {
  return text.split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length).trim())
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function count(value: unknown, what: string): number {
  assert.ok(Number.isSafeInteger(value) && (value as number) >= 0, `${what}: ${value}`);
  return value as number;
}

/** The token counts Ollama reported in the answer of `family`, as the client received it. */
function reported(family: Family, text: string): Reported {
  switch (family) {
    case "chat":
    case "generate": {
      const last = jsonLines(text, "").at(-1);
      assert.equal(last?.done, true, `a final chunk: ${text.slice(-300)}`);
      return {
        prompt: count(last?.prompt_eval_count, "prompt_eval_count"),
        output: count(last?.eval_count, "eval_count"),
      };
    }
    case "embed": {
      const answer = JSON.parse(text) as { prompt_eval_count?: unknown; eval_count?: unknown };
      return { prompt: count(answer.prompt_eval_count, "prompt_eval_count"), output: 0 };
    }
    case "openai": {
      const usage = jsonLines(text, "data:").filter((chunk) => chunk.usage !== undefined);
      assert.equal(usage.length, 1, `one usage chunk: ${text.slice(-300)}`);
      const { prompt_tokens, completion_tokens } = usage[0]?.usage as Record<string, unknown>;
      return {
        prompt: count(prompt_tokens, "prompt_tokens"),
        output: count(completion_tokens, "completion_tokens"),
      };
    }
    case "messages": {
      const deltas = jsonLines(text, "data:").filter((event) => event.type === "message_delta");
      assert.equal(deltas.length, 1, `one message_delta: ${text.slice(-300)}`);
      const { input_tokens, output_tokens } = deltas[0]?.usage as Record<string, unknown>;
      return {
        prompt: count(input_tokens, "input_tokens"),
        output: count(output_tokens, "output_tokens"),
      };
    }
  }
}

/** Sends `planned` to the exporter `member` and reads the whole answer. */
async function send(member: FleetMember, planned: Planned): Promise<Reported> {
  const response = await fetch(member.url + ENDPOINTS[planned.family], {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body(planned)),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${planned.family} ${planned.model}: ${text}`);
  return reported(planned.family, text);
}

/** A Service's round-robin over the exporters. */
class RoundRobin {
  #next = 0;
  constructor(private readonly members: readonly FleetMember[]) {}
  pick(): FleetMember {
    return this.members[this.#next++ % this.members.length] as FleetMember;
  }
}

/** A sample's labels without `__name__`, keys sorted. */
function labelsOf(sample: VectorSample): Record<string, string> {
  const { __name__: _name, ...labels } = sample.metric;
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1));
}

/** `samples` as `label value -> value` of `label` (which must tell them apart). */
function byLabel(samples: readonly VectorSample[], label: string): Record<string, number> {
  const map: Record<string, number> = {};
  for (const sample of samples) {
    const key = sample.metric[label] ?? "";
    assert.ok(!(key in map), `two samples with ${label}="${key}"`);
    map[key] = sample.value;
  }
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a < b ? -1 : 1));
}

/** Sorted keys-and-values object of `entries`. */
function sorted(entries: Iterable<[string, number]>): Record<string, number> {
  return Object.fromEntries([...entries].sort(([a], [b]) => a < b ? -1 : 1));
}

/** One model as an Ollama's `/api/ps` lists it. */
interface Loaded {
  readonly name: string;
  readonly size: number;
  readonly size_vram: number;
}

async function loadedModels(member: FleetMember): Promise<Loaded[]> {
  const response = await fetch(`${member.ollama.url}/api/ps`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { models: Loaded[] }).models;
}

/** The sum of one family's series in an exporter's registry. */
async function registrySum(member: FleetMember, name: string): Promise<number> {
  const families = await member.exporter.registry.collect();
  return families.find((family) => family.name === name)?.series
    .reduce((total, series) => total + series.value, 0) ?? 0;
}

Deno.test({
  name: "a local fleet: three real Ollama servers, an exporter beside each, one Prometheus",
  ignore,
  fn: async () => {
    const fleet = await LocalFleet.start(PODS.length);
    let prometheus: PrometheusServer | undefined;
    try {
      const members = fleet.members;
      const pod = (member: FleetMember) => PODS[member.index] as string;
      prometheus = await PrometheusServer.start({
        intervalSeconds: 1,
        jobs: [{
          name: JOB,
          target: members.map((member) => ({
            address: member.address,
            labels: { pod: pod(member) },
          })),
        }],
      });
      const p = prometheus;

      // --- traffic, round-robin as a Service spreads it ------------------------------------
      const service = new RoundRobin(members);
      const sent = members.map(() => ({ requests: 0, prompt: 0, output: 0 }));
      const endpoints = new Map<string, number>();
      const rounds = PLAN[0]?.length ?? 0;
      for (let round = 0; round < rounds; round++) {
        await Promise.all(PLAN.map(async (plan, index) => {
          const member = service.pick();
          assert.equal(member.index, index, "the round-robin order");
          const planned = plan[round] as Planned;
          const tokens = await send(member, planned);
          const mine = sent[index] as { requests: number; prompt: number; output: number };
          mine.requests++;
          mine.prompt += tokens.prompt;
          mine.output += tokens.output;
          const key = `${pod(member)} ${ENDPOINTS[planned.family]}`;
          endpoints.set(key, (endpoints.get(key) ?? 0) + 1);
        }));
      }
      const total = (pick: (s: (typeof sent)[number]) => number) =>
        sent.reduce((sum, s) => sum + pick(s), 0);
      assert.equal(total((s) => s.requests), 12);
      assert.ok(total((s) => s.output) > 0 && total((s) => s.prompt) > 0, JSON.stringify(sent));

      // Settled: every exporter counted its requests, none in flight.
      for (const member of members) {
        await waitFor(
          `exporter ${member.index} to count its requests`,
          async () =>
            await registrySum(member, "ollama_requests_in_flight") === 0 &&
              await registrySum(member, "ollama_requests_total") === sent[member.index]?.requests
              ? true
              : undefined,
          { timeoutMs: 5_000, everyMs: 10 },
        );
      }
      // Ground truth: each Ollama's own /api/ps, now that every model is loaded.
      const loaded = await Promise.all(members.map(loadedModels));
      assert.deepEqual(
        loaded.map((models) => models.map((model) => model.name).sort()),
        [["tiny:latest"], ["tiny-think:latest"], ["tiny-embed:latest", "tiny-tools:latest"]],
        "each Ollama holds its own models",
      );
      // Two scrapes of every target that began after any inventory an exporter may have cached
      // from before the traffic ended: the first of them is then committed.
      const freshAfter = Date.now() + INVENTORY_FRESH_MS;
      const scraped = new Map<string, number>();
      await waitFor("two fresh scrapes of every exporter", async () => {
        for (const target of await p.targets()) {
          const started = Date.parse(target.lastScrape);
          if (started <= freshAfter) continue;
          const first = scraped.get(target.scrapeUrl);
          if (first === undefined) scraped.set(target.scrapeUrl, started);
          else if (started > first) scraped.set(target.scrapeUrl, Infinity);
        }
        return scraped.size === members.length && [...scraped.values()].every((v) => v === Infinity)
          ? true
          : undefined;
      }, { detail: () => `${JSON.stringify([...scraped])}; Prometheus log:\n${p.log}` });

      const targets = await p.targets();
      assert.deepEqual(
        targets.map((target) => [target.labels.pod, target.labels.instance, target.health]).sort(),
        members.map((member) => [pod(member), member.address, "up"]),
      );

      // --- fleet-wide sums: what was sent, what the answers reported ---------------------------
      assert.equal(await p.value("sum(ollama_requests_total)"), total((s) => s.requests));
      assert.equal(await p.value("sum(ollama_tokens_generated_total)"), total((s) => s.output));
      assert.equal(await p.value("sum(ollama_tokens_processed_total)"), total((s) => s.prompt));
      assert.equal(await p.value('sum(ollama_requests_total{code!="200"})'), undefined);
      // ... and per pod, per endpoint.
      const perPod = (pick: (s: (typeof sent)[number]) => number) =>
        sorted(members.map((member) => [pod(member), pick(sent[member.index]!)]));
      assert.deepEqual(
        byLabel(await p.query("sum by (pod) (ollama_requests_total)"), "pod"),
        perPod((s) => s.requests),
      );
      assert.deepEqual(
        byLabel(await p.query("sum by (pod) (ollama_tokens_generated_total)"), "pod"),
        perPod((s) => s.output),
      );
      assert.deepEqual(
        byLabel(await p.query("sum by (pod) (ollama_tokens_processed_total)"), "pod"),
        perPod((s) => s.prompt),
      );
      assert.deepEqual(
        sorted(
          (await p.query("sum by (pod, endpoint) (ollama_requests_total)"))
            .map((s) => [`${s.metric.pod} ${s.metric.endpoint}`, s.value]),
        ),
        sorted(endpoints),
      );

      // --- per-pod inventory: each Ollama's own /api/ps ---------------------------------------
      assert.deepEqual(
        byLabel(await p.query("ollama_loaded_models"), "pod"),
        sorted(members.map((member) => [pod(member), loaded[member.index]!.length])),
      );
      const memory = (await p.query("ollama_model_memory_bytes")).map((sample) => {
        assert.equal(sample.metric.job, JOB);
        const member = members.find((m) => m.address === sample.metric.instance);
        assert.equal(sample.metric.pod, member && pod(member), "instance and pod agree");
        return [
          `${sample.metric.pod} ${sample.metric.model} ${sample.metric.location}`,
          sample.value,
        ];
      }) as [string, number][];
      assert.deepEqual(
        sorted(memory),
        sorted(
          members.flatMap((member) =>
            loaded[member.index]!.flatMap((model): [string, number][] => [
              [`${pod(member)} ${model.name} vram`, model.size_vram],
              [`${pod(member)} ${model.name} ram`, model.size - model.size_vram],
            ])
          ),
        ),
      );

      // --- the dashboard's queries over the fleet, by pod -------------------------------------
      const dashboard = await readDashboard();
      const asPods = { instance_label: "pod", __rate_interval: "1m" };
      const panel = (title: string, type: string, refId = "A") =>
        substitute(panelQuery(dashboard, title, type, refId), asPods);
      const allLoaded = loaded.flat();
      assert.equal(await p.value(panel("Loaded models", "stat")), allLoaded.length);
      assert.equal(
        await p.value(panel("Model memory", "stat")),
        allLoaded.reduce((sum, model) => sum + model.size, 0),
      );
      assert.equal(await p.value(panel("Ollama down", "stat")), 0);
      assert.deepEqual(
        byLabel(await p.query(panel("Models loaded per instance", "timeseries")), "pod"),
        byLabel(await p.query("ollama_loaded_models"), "pod"),
      );
      for (
        const [title, location] of [["VRAM per instance", "vram"], ["RAM per instance", "ram"]]
      ) {
        assert.deepEqual(
          byLabel(await p.query(panel(title as string, "timeseries")), "pod"),
          sorted(members.map((member) => [
            pod(member),
            loaded[member.index]!.reduce(
              (sum, m) => sum + (location === "vram" ? m.size_vram : m.size - m.size_vram),
              0,
            ),
          ])),
          title as string,
        );
      }
      // Rates and quantiles: one series per pod (their values depend on scrape timing).
      for (
        const title of [
          "Requests per instance",
          "Tokens generated per instance",
          "Queue wait p95 per instance",
          "In-flight requests per instance",
        ]
      ) {
        const samples = await p.query(panel(title, "timeseries"));
        assert.deepEqual(samples.map((s) => s.metric.pod).sort(), [...PODS], title);
      }
      // Every query of the dashboard runs on the real Prometheus, by instance and by pod.
      let queries = 0;
      for (const instanceLabel of ["instance", "pod"]) {
        for (const { targets: panelTargets = [], title } of allPanels(dashboard)) {
          for (const target of panelTargets) {
            const expr = substitute(target.expr as string, {
              instance_label: instanceLabel,
              __rate_interval: "1m",
            });
            await p.query(expr).catch((error: Error) => {
              throw new Error(`panel "${title}" ${target.refId}: ${error.message}`);
            });
            queries++;
          }
        }
      }
      assert.ok(queries > 100, `${queries} queries`);
      for (const member of members) {
        const problems = member.logs.filter((log) => log.level === "WARN" || log.level === "ERROR");
        assert.deepEqual(problems, [], `exporter ${member.index} before any Ollama stopped`);
      }

      // --- one Ollama down among three ----------------------------------------------------------
      const victim = members[1] as FleetMember;
      await victim.ollama.close();
      const down = await waitFor("ollama_up == 0 in Prometheus", async () => {
        const samples = await p.query("ollama_up == 0");
        return samples.length > 0 ? samples : undefined;
      }, { timeoutMs: 10_000, detail: () => p.log });
      const victimLabels = { instance: victim.address, job: JOB, pod: pod(victim) };
      assert.deepEqual(down.map(labelsOf), [victimLabels]);
      // The shipped alert's expression fires for that exporter alone.
      const rules = parseYaml(
        await Deno.readTextFile(new URL("../deploy/prometheus/alerts.yml", import.meta.url)),
      ) as { groups: { rules: { alert?: string; expr: string }[] }[] };
      const ollamaDown = rules.groups.flatMap((group) => group.rules)
        .find((rule) => rule.alert === "OllamaDown")?.expr;
      assert.ok(ollamaDown, "alerts.yml has OllamaDown");
      const firing = await p.query(ollamaDown);
      assert.deepEqual(firing.map(labelsOf), [victimLabels]);
      assert.equal(firing[0]?.value, 0);
      assert.equal(await p.value(panel("Ollama down", "stat")), 1);
      // Its exporter still answers Prometheus: OllamaDown, not OllamaExporterDown.
      assert.equal(await p.value(`up{pod="${pod(victim)}"}`), 1);
      assert.equal(await p.value(`min(up{job="${JOB}"})`), 1);
      // Its inventory goes absent (not stale values), so the fleet totals drop it.
      await waitFor("the stopped Ollama's inventory to leave Prometheus", async () => {
        const samples = await p.query("ollama_loaded_models");
        return samples.length === members.length - 1 ? samples : undefined;
      }, { timeoutMs: 10_000 });
      assert.deepEqual(
        byLabel(await p.query("ollama_loaded_models"), "pod"),
        sorted(
          members.filter((m) => m !== victim).map((m) => [pod(m), loaded[m.index]!.length]),
        ),
      );
      assert.equal(
        await p.value(panel("Loaded models", "stat")),
        allLoaded.length - loaded[victim.index]!.length,
      );
      assert.equal(
        await p.value(`count(ollama_model_memory_bytes{pod="${pod(victim)}"})`),
        undefined,
      );
      // The counters stay: the fleet's requests are still all there.
      assert.equal(await p.value("sum(ollama_requests_total)"), total((s) => s.requests));
      for (const member of members) {
        const warned = member.logs.some((log) =>
          log.level === "WARN" && log.line.includes("Ollama does not answer")
        );
        assert.equal(warned, member === victim, `exporter ${member.index} warned`);
      }
    } finally {
      await prometheus?.close();
      await fleet.close();
    }
  },
});
