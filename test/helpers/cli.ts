/**
 * The `triage` CLI as users run it: the esbuild bundle (what `npm ci` builds into dist/) in a
 * real node subprocess. Each test file bundles into its own temporary folder, so tests never
 * race another build of dist/.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const execFileAsync = promisify(execFile);
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Bundles the CLI into its own folder under the repository's `.test-cli/` (inside the package, so
 * it finds the bundled `rules/` as dist/triage.mjs does) and makes a temporary working folder.
 */
export async function buildCli(prefix: string): Promise<{ work: string; cli: string }> {
  const work = await mkdtemp(path.join(tmpdir(), prefix));
  const cli = path.join(repoRoot, ".test-cli", path.basename(work), "triage.mjs");
  await execFileAsync(process.execPath, [path.join(repoRoot, "scripts", "build-cli.mjs"), cli], { cwd: repoRoot });
  return { work, cli };
}

/** Runs the bundle with `args`; `nodeArgs` go to node itself (e.g. a heap limit). */
export function runCli(
  cli: string, args: readonly string[], options: { cwd: string; stdin?: Readable; nodeArgs?: readonly string[]; env?: Readonly<Record<string, string>> },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), cli, ...args], {
      cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"], ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on("error", () => {}); // the CLI may exit before reading all of stdin
    if (options.stdin) options.stdin.pipe(child.stdin);
    else child.stdin.end();
  });
}
