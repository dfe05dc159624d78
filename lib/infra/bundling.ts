/**
 * How every Lambda function is bundled, in one place, as plain data: the stack turns it into
 * NodejsFunction `bundling` props, and the bundle benchmark (bench/bundle.ts) builds with the very
 * same esbuild options. No aws-cdk-lib import, so the benchmark does not load the CDK.
 */
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildRuleCacheSync, RULES_CACHE_FILE, ruleTextDigest } from "../rules/parse-cache.js";

/** The repository root (the folder with package.json and package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type FunctionName = "detect" | "sweep" | "triage" | "deliver-slack";
export const FUNCTION_NAMES: readonly FunctionName[] = ["detect", "sweep", "triage", "deliver-slack"];

/** Where each function's handler lives: `functions/<name>.ts`, exporting `handler`. */
export function defaultEntry(name: FunctionName, projectRoot: string = PROJECT_ROOT): string {
  return path.join(projectRoot, "functions", `${name}.ts`);
}

/**
 * The repository folders copied next to each function's bundle (`<bundle>/index.mjs` and
 * `<bundle>/rules/...`, i.e. `/var/task/rules` on Lambda). detect and sweep compile the rules;
 * triage (and the sweep's re-triage) reads their investigation guides and `[[transform]]` tables,
 * and the optional offline reputation lists (`lists/`, when the repository has one).
 * deliver-slack builds its cards from stored triage results and needs neither.
 */
export const BUNDLED_FOLDERS: Readonly<Record<FunctionName, readonly string[]>> = {
  detect: ["rules"],
  sweep: ["rules", "lists"],
  triage: ["rules", "lists"],
  "deliver-slack": [],
};

/** Lambda puts a zip function's code in /var/task (LAMBDA_TASK_ROOT). */
export const LAMBDA_TASK_ROOT = "/var/task";

/**
 * The esbuild options, as the NodejsFunction `bundling` props spell them.
 *
 * - ESM with a `createRequire` banner: bundled CommonJS dependencies still get a `require` for
 *   Node built-ins (the same banner as scripts/build-cli.mjs).
 * - `target: node20` although Lambda runs Node 24: the bundle also runs in CI on Node 20 (the
 *   bundled-handler test), and node20 syntax runs unchanged on 24.
 * - The AWS SDK is bundled (`bundleAwsSDK` in the stack): the pinned, tested clients run, not
 *   whatever SDK the runtime ships.
 * - Minified, with a source map file (sources left out) for decoding stack traces offline; source
 *   maps are not enabled at run time (`--enable-source-maps` slows every cold start and stack).
 * - `mainFields` prefers the ESM build of dual packages, which tree-shakes better.
 */
export const BUNDLE_OPTIONS = {
  format: "esm",
  target: "node20",
  platform: "node",
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ["module", "main"],
  banner: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  outfile: "index.mjs",
} as const;

/**
 * Shell commands that copy `folders` from `inputDir` to `outputDir` after bundling (the
 * NodejsFunction afterBundling hook). Portable: plain `node -e` with fs.cpSync, no cp/xcopy, and
 * only folders that exist at synth time (the optional `lists/`).
 */
export function copyFolderCommands(folders: readonly string[], inputDir: string, outputDir: string, projectRoot: string = PROJECT_ROOT): string[] {
  return folders
    .filter((f) => existsSync(path.join(projectRoot, f)))
    .map((f) => {
      const from = path.join(inputDir, f);
      const to = path.join(outputDir, f);
      return `node -e "require('node:fs').cpSync(process.argv[1], process.argv[2], { recursive: true })" "${from}" "${to}"`;
    });
}

/**
 * Commands that put the validated-rules cache (lib/rules/parse-cache.ts) into the bundle's
 * `rules/` folder, after `copyFolderCommands` copied the folder. The cache is built here, in the
 * synth process, from the same files; the command copies it from a temporary file named by its
 * digest (a hook returns commands, and the output folder does not exist yet when it is called).
 */
export function ruleCacheCommands(outputDir: string, projectRoot: string = PROJECT_ROOT): string[] {
  const rules = path.join(projectRoot, "rules");
  if (!existsSync(rules)) return [];
  const { json } = buildRuleCacheSync(rules);
  const staged = path.join(tmpdir(), `rules-cache-${ruleTextDigest(json).slice(0, 16)}.json`);
  writeFileSync(staged, json);
  const to = path.join(outputDir, "rules", RULES_CACHE_FILE);
  return [`node -e "require('node:fs').copyFileSync(process.argv[1], process.argv[2])" "${staged}" "${to}"`];
}
