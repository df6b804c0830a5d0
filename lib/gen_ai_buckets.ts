/**
 * The histogram bucket boundaries the OpenTelemetry GenAI semantic conventions advise. The GenAI
 * metrics over OTLP use them as they are; the `/metrics` families extend them for slow servers
 * (`exporter_metrics.ts`), so that both agree wherever they overlap.
 *
 * @module
 */

/** The advised boundaries, per kind of measurement. */
export const GEN_AI_BUCKETS: {
  /** `gen_ai.client.token.usage`: powers of four from 1 to 67,108,864 tokens. */
  readonly tokens: readonly number[];
  /** Operation and request durations in seconds: doubling from 10 ms to 81.92 s. */
  readonly duration: readonly number[];
  /** `gen_ai.server.time_to_first_token`, seconds: 1 ms to 10 s. */
  readonly firstToken: readonly number[];
  /** `gen_ai.server.time_per_output_token`, seconds: 10 ms to 2.5 s. */
  readonly perOutputToken: readonly number[];
} = {
  tokens: [
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
  ],
  duration: [
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
  ],
  firstToken: [
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1,
    2.5,
    5,
    7.5,
    10,
  ],
  perOutputToken: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
};
