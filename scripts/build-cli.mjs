#!/usr/bin/env node
// Bundles the `triage` CLI (bin/triage.ts) into dist/triage.mjs, the file package.json's "bin"
// points at. Node 20 cannot run TypeScript, so `npm ci` runs this as the `prepare` script.
//
// Everything, node_modules included, goes into one ESM file: startup reads one file instead of
// resolving hundreds of modules, and the CLI runs the exact dependency versions we tested.
// The createRequire banner gives bundled CommonJS code a `require` for Node built-ins.
//
// esbuild is a devDependency. An install without dev dependencies (`npm ci --omit=dev`, e.g. for
// a deployment) still runs `prepare`; there we skip the build with a warning instead of failing
// the install: only the CLI needs dist/, the Lambda functions are bundled by CDK.
import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// An optional argument writes elsewhere (the CLI tests build into a temporary folder).
const outfile = path.resolve(process.argv[2] ?? path.join(root, "dist", "triage.mjs"));

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  console.warn("build-cli: esbuild is not installed (dev dependency), skipping the CLI build");
  process.exit(0);
}

await mkdir(path.dirname(outfile), { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["bin/triage.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: false,
  legalComments: "eof",
  logLevel: "warning",
  banner: {
    js: [
      "#!/usr/bin/env node",
      "import { createRequire as __triageCreateRequire } from 'module';",
      "const require = __triageCreateRequire(import.meta.url);",
    ].join("\n"),
  },
});
if (result.errors.length > 0) process.exit(1);
await chmod(outfile, 0o755);
console.log(`build-cli: wrote ${path.relative(process.cwd(), outfile) || outfile}`);
