import assert from "node:assert/strict";
import { acceptsGzip, negotiateFormat } from "../lib/metrics/negotiate.ts";

const PROMETHEUS_2 = "application/openmetrics-text;version=1.0.0;q=0.5," +
  "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
const PROMETHEUS_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
  "application/openmetrics-text;version=0.0.1;q=0.4," +
  "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
const PROMETHEUS_NATIVE_HISTOGRAMS =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;" +
  "q=0.6," + PROMETHEUS_2;

Deno.test("negotiateFormat: the table", () => {
  const table: [string | null, "text" | "openmetrics"][] = [
    [null, "text"],
    ["", "text"],
    ["   ", "text"],
    ["*/*", "text"],
    ["garbage", "text"],
    [";;;,,,=", "text"],
    ["application/json", "text"],
    ["text/plain", "text"],
    ["text/plain;version=0.0.4", "text"],
    [PROMETHEUS_2, "openmetrics"],
    [PROMETHEUS_3, "openmetrics"],
    [PROMETHEUS_NATIVE_HISTOGRAMS, "openmetrics"],
    // Prometheus 3 with scrape_protocols: [PrometheusText1.0.0]
    ["text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,*/*;q=0.1", "text"],
    // Prometheus 2 with scrape_protocols: [PrometheusText0.0.4]
    ["text/plain;version=0.0.4;q=0.5,*/*;q=0.4", "text"],
    ["application/openmetrics-text", "openmetrics"],
    ["application/openmetrics-text; version=1.0.0; charset=utf-8", "openmetrics"],
    ['application/openmetrics-text;version="1.0.0"', "openmetrics"],
    ["APPLICATION/OpenMetrics-Text;Version=1.0.0", "openmetrics"],
    ["application/openmetrics-text;version=0.0.1", "openmetrics"],
    // A version we cannot write does not count.
    ["application/openmetrics-text;version=2.0.0", "text"],
    ["application/openmetrics-text;version=2.0.0,*/*;q=0.1", "text"],
    // Equal preference: text, the fallback.
    ["application/openmetrics-text,text/plain", "text"],
    ["application/openmetrics-text;q=0.5,text/plain;q=0.5", "text"],
    ["text/plain;q=0.4,application/openmetrics-text;q=0.5", "openmetrics"],
    ["application/openmetrics-text;q=0.5,text/plain;q=0.6", "text"],
    // Specificity: the specific range decides, not */*.
    ["application/openmetrics-text;q=0.5,*/*", "text"],
    ["text/plain;q=0.1,*/*;q=0.9,application/openmetrics-text;q=0.2", "openmetrics"],
    ["text/*;q=0.3,application/*;q=0.4", "openmetrics"],
    ["application/*", "openmetrics"],
    ["text/*", "text"],
    // Text refused outright.
    ["text/plain;q=0,application/openmetrics-text;q=0.1", "openmetrics"],
    ["application/openmetrics-text;q=0,text/plain;q=0", "text"],
    // Malformed q-values make a range unacceptable.
    ["application/openmetrics-text;q=abc", "text"],
    ["application/openmetrics-text;q=1.5", "text"],
    ["application/openmetrics-text;q=0.0001", "text"],
    ["application/openmetrics-text;q=0.001", "openmetrics"],
    // Quoted parameters may hold commas and semicolons.
    ['application/openmetrics-text;foo="a,b;c";q=0.9,text/plain;q=0.8', "openmetrics"],
  ];
  for (const [accept, expected] of table) {
    assert.equal(negotiateFormat(accept), expected, `Accept: ${accept}`);
  }
});

Deno.test("acceptsGzip: the table", () => {
  const table: [string | null, boolean][] = [
    [null, false],
    ["", false],
    ["identity", false],
    ["br", false],
    ["gzip", true],
    ["GZIP", true],
    ["x-gzip", true],
    ["gzip, deflate, br", true],
    ["deflate, gzip;q=1.0, *;q=0.5", true],
    ["gzip;q=0", false],
    ["gzip;q=0.000", false],
    ["gzip;q=0.001", true],
    ["*", true],
    ["*;q=0", false],
    ["gzip;q=0, *", false],
    ["*, gzip;q=0", false],
    ["br;q=1, *;q=0.1", true],
    ["gzip;q=nonsense", false],
  ];
  for (const [header, expected] of table) {
    assert.equal(acceptsGzip(header), expected, `Accept-Encoding: ${header}`);
  }
});
