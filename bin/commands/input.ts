/** Opening the events a command reads: a file (gzipped when it ends in .gz) or standard input. */
import { createReadStream, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { UsageError, type CliIo } from "./command.js";

export function openEvents(file: string, io: CliIo, option = "--events"): AsyncIterable<Uint8Array | string> {
  if (file === "-") {
    if (!io.stdin) throw new UsageError("standard input is not available");
    return io.stdin();
  }
  // Plain files decode as UTF-8 in the stream (native code); gzip is decoded after gunzip.
  const gz = file.endsWith(".gz");
  // Large reads: fewer trips through the event loop on big captures.
  const stream = createReadStream(path.resolve(io.cwd, file), gz ? { highWaterMark: 1 << 20 } : { encoding: "utf8", highWaterMark: 1 << 20 });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", reject);
  });
  const body = gz ? stream.pipe(createGunzip()) : stream;
  if (gz) stream.on("error", (e) => body.destroy(e));
  return (async function* () {
    try {
      await opened;
    } catch (err) {
      throw new UsageError(`cannot read ${option} ${file}: ${(err as Error).message}`);
    }
    yield* body as AsyncIterable<Uint8Array | string>;
  })();
}

/**
 * The package root (the folder with package.json), from this module's location: dist/triage.mjs
 * when bundled, bin/commands/*.ts in development.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}
