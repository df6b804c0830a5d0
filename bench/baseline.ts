/**
 * The exporter as it was at an earlier git revision, for the benchmark's `exporter-before` target
 * (`--baseline REV`): the revision's tree is written out with `git archive` into a directory of
 * its own and started from there with that revision's own `start` task flags, so a change (such as
 * OpenTelemetry) can be compared in one run with the code before it.
 *
 * @module
 */

const decoder = new TextDecoder();

/** An earlier revision written out to disk. */
export interface Baseline {
  /** The revision as given (`4587ad4`, `HEAD~1`, a tag). */
  readonly rev: string;
  /** The full commit id it names. */
  readonly commit: string;
  /** The directory holding that revision's tree (`main.ts`, `deno.json`, `lib/`). */
  readonly root: string;
}

async function git(repo: string, args: string[]): Promise<Uint8Array> {
  const output = await new Deno.Command("git", {
    args: ["-C", repo, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `git ${args.join(" ")} failed (exit ${output.code}): ${decoder.decode(output.stderr).trim()}`,
    );
  }
  return output.stdout;
}

/**
 * Writes revision `rev` of the repository at `repo` into a new directory under `tempDir`; throws
 * when `rev` names no commit, or when the tree has no `main.ts` and `deno.json`.
 */
export async function extractBaseline(
  repo: string,
  rev: string,
  tempDir: string,
): Promise<Baseline> {
  let commit: string;
  try {
    commit = decoder.decode(await git(repo, ["rev-parse", "--verify", `${rev}^{commit}`])).trim();
  } catch (error) {
    throw new Error(
      `--baseline ${rev}: not a commit of the repository at ${repo} ` +
        `(${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const root = `${tempDir}/baseline-${commit.slice(0, 12)}`;
  await Deno.mkdir(root, { recursive: true });
  const tar = `${tempDir}/baseline-${commit.slice(0, 12)}.tar`;
  await git(repo, ["archive", "--format=tar", "-o", tar, commit]);
  const untar = await new Deno.Command("tar", {
    args: ["-xf", tar, "-C", root],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  await Deno.remove(tar).catch(() => {});
  if (!untar.success) {
    throw new Error(`tar could not unpack ${rev}: ${decoder.decode(untar.stderr).trim()}`);
  }
  for (const file of ["main.ts", "deno.json"]) {
    try {
      await Deno.stat(`${root}/${file}`);
    } catch {
      throw new Error(`--baseline ${rev}: the revision has no ${file}, so it cannot be started`);
    }
  }
  return { rev, commit, root };
}
