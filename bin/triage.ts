// `triage` CLI entry. Node 20 cannot run .ts: `npm ci` runs `prepare`, which bundles this file
// to dist/triage.mjs (scripts/build-cli.mjs); during development run it with `npx tsx bin/triage.ts`.
import { main } from "./commands/index.js";

// `triage check rules/ | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  stdin: () => process.stdin,
  isTTY: process.stdout.isTTY === true && !process.env.NO_COLOR,
});
