# syntax=docker/dockerfile:1
#
# ollama-exporter: a transparent proxy in front of Ollama that exports Prometheus metrics.
#
#   docker build -t ollama-exporter .
#   docker run --rm -p 8000:8000 -e OLLAMA_HOST=http://host.docker.internal:11434 \
#     --stop-timeout 30 ollama-exporter
#
# tests/deploy_docker_test.ts checks this file against the project: the Deno version, the
# permission flags, the user, the port, the health check, and that the exporter started with
# exactly this CMD serves and stops cleanly on SIGTERM.

# The Deno version CI installs (.ci/run). The plain version tag is the Debian (slim) variant,
# chosen on purpose over alpine-/distroless-: Deno's release binary is linked against glibc,
# which Debian provides natively (the Alpine variant carries a copied glibc beside musl); it
# ships tini as PID 1 (the image's ENTRYPOINT, kept below), which passes SIGTERM on to Deno;
# it has the unprivileged `deno` user (uid 1993) and a DENO_DIR it owns; and it has a shell and
# coreutils, which `docker exec` debugging uses.
FROM denoland/deno:2.9.6

LABEL org.opencontainers.image.title="ollama-exporter" \
      org.opencontainers.image.description="Transparent proxy in front of Ollama that exports Prometheus metrics per model"

# No update check, no permission prompt: a container has no one to answer it. The service name
# of the spans and metrics when OpenTelemetry is turned on (OTEL_DENO=true; README, "OpenTelemetry"),
# instead of Deno's `unknown_service:deno`; `-e OTEL_SERVICE_NAME=...` overrides it.
ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    OTEL_SERVICE_NAME=ollama-exporter

WORKDIR /app

# 1. The dependency manifest and the runtime lock first: the layers above stay cached while only
#    sources change. deno.json's import map holds the one runtime dependency,
#    `@opentelemetry/api` (the vendor-neutral API Deno's built-in OpenTelemetry serves);
#    deno.runtime.lock pins it alone (Deno installs every npm package of the lock it is given, and
#    deno.lock also pins what the tests import), so nothing of the tests' is downloaded here.
COPY deno.json deno.runtime.lock ./

# 2. The sources (owned by root, read-only for the `deno` user that runs them).
COPY main.ts ./
COPY lib/ ./lib/

# 3. As the runtime user, cache main.ts's module graph into DENO_DIR: `@opentelemetry/api` is
#    fetched here and verified against deno.runtime.lock (--frozen: fail instead of changing the lock),
#    and the sources are transpiled now rather than at every start, so the container needs no
#    registry at run time.
USER deno
RUN deno cache --lock=deno.runtime.lock --frozen main.ts

# The default PORT. Clients send their Ollama traffic here; Prometheus scrapes /metrics here.
EXPOSE 8000

# Liveness for `docker run` / compose (the image has no curl or wget, so Deno fetches). It
# follows PORT; if you move the port with --port, or LISTEN_HOST excludes 127.0.0.1, override
# the health check too. Kubernetes ignores this and uses the probes in deploy/kubernetes/.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["deno", "eval", "--no-config", "fetch('http://127.0.0.1:' + (Deno.env.get('PORT') || '8000') + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => Deno.exit(r.status === 200 ? 0 : 1), () => Deno.exit(1))"]

# Exec form, no shell in between: the base image's ENTRYPOINT (tini, then its entry script, which
# `exec`s `deno` for the `run` subcommand) hands SIGTERM to Deno, and the exporter serves on for
# SHUTDOWN_DELAY_SECONDS (default 0) with /readyz at 503, then drains in-flight requests for
# SHUTDOWN_GRACE_SECONDS (default 25) before exiting 0. Give the container more than both to
# stop (`docker run --stop-timeout 30`, compose `stop_grace_period`); Docker's default is 10 s.
# The permission and V8 flags are exactly those of the `start` task in deno.json (the V8 flags
# keep memory flat under thousands of open streams; see "Performance" in README.md).
CMD ["run", "--lock=deno.runtime.lock", "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=10", "--allow-net", "--allow-env=OLLAMA_HOST,PORT,LISTEN_HOST,LOG_LEVEL,LOG_FORMAT,SHUTDOWN_DELAY_SECONDS,SHUTDOWN_GRACE_SECONDS,HEALTH_INTERVAL_SECONDS,MAX_MODELS,CLIENT_HEADER,MAX_CLIENTS,API_KEYS,API_KEYS_FILE,METRICS_TOKEN,ALLOWED_HOSTS,MAX_REQUEST_BYTES,INJECT_STREAM_USAGE,UPSTREAM_CONNECT_TIMEOUT_SECONDS,UPSTREAM_HEAD_TIMEOUT_SECONDS,UPSTREAM_IDLE_TIMEOUT_SECONDS,OLLAMA_NUM_PARALLEL", "--allow-read=/run/secrets", "main.ts"]
