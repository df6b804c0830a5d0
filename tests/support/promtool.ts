/**
 * Test helper: runs the real `promtool` (Debian's `prometheus` package). When it is missing the
 * caller's test fails with an install hint, never passes silently.
 *
 * @module
 */

/** Runs `promtool args`, optionally feeding `stdin`; returns the exit code and all output. */
export async function runPromtool(
  args: string[],
  options: { cwd?: string; stdin?: string; purpose: string },
): Promise<{ code: number; output: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot ${options.purpose}: promtool is not installed. Install it with ` +
          "`apt-get install prometheus` (Debian/Ubuntu) or put the promtool binary from " +
          "https://prometheus.io/download/ on the PATH.",
      );
    }
    throw error;
  }
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}
