/**
 * nginx as a reference reverse proxy: a generated configuration in a temporary directory
 * (`proxy_pass` to a keepalive upstream, `proxy_buffering off` so streams pass as they come, logs
 * off or in the directory), run in the foreground as a subprocess with one worker.
 *
 * @module
 */

import { onPath, ServerProcess } from "./processes.ts";

/** Where nginx listens and what it forwards to. */
export interface NginxOptions {
  /** A temporary directory nginx owns for its configuration, pid, logs and temp files. */
  readonly dir: string;
  readonly port: number;
  readonly upstreamPort: number;
  readonly cpus?: string;
}

/** Whether nginx is installed. */
export function nginxAvailable(): boolean {
  return onPath("nginx");
}

/** The configuration for `options`. */
export function nginxConfig(options: NginxOptions): string {
  const dir = options.dir;
  // The master runs as whoever started the harness; as root, workers would switch to "nobody".
  const user = Deno.uid() === 0 ? "user root root;\n" : "";
  return `${user}worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 65536;
events {
  worker_connections 16384;
  multi_accept on;
}
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream ollama {
    server 127.0.0.1:${options.upstreamPort};
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${options.port};
    location / {
      proxy_pass http://ollama;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
}

/** Writes the configuration and starts nginx; resolves once it accepts connections. */
export async function startNginx(options: NginxOptions): Promise<ServerProcess> {
  const conf = `${options.dir}/nginx.conf`;
  await Deno.writeTextFile(conf, nginxConfig(options));
  const server = ServerProcess.launch({
    name: "nginx",
    command: "nginx",
    args: ["-p", options.dir, "-c", conf, "-e", `${options.dir}/error.log`],
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    nofile: 65536,
  });
  try {
    await server.waitForPort(options.port);
  } catch (error) {
    let log = "";
    try {
      log = await Deno.readTextFile(`${options.dir}/error.log`);
    } catch {
      // no log written
    }
    await server.stop();
    throw new Error(`Cannot start nginx: ${(error as Error).message}\n${log}`);
  }
  return server;
}
