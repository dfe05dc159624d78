// `triage query` as users run it (the bundled CLI in a subprocess).
import { writeFile, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, repoRoot, runCli, type Run } from "./helpers/cli.js";
import { seedAttack } from "./helpers/seed-attack.js";

let work: string;
let cli: string;
const triage = (args: readonly string[], stdin?: Readable, nodeArgs?: readonly string[]): Promise<Run> =>
  runCli(cli, ["query", ...args], { cwd: work, ...(stdin ? { stdin } : {}), ...(nodeArgs ? { nodeArgs } : {}) });
const lines = (s: string) => s.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);

const attack = [...seedAttack(), ...seedAttack({ idPrefix: "b", host: "h2", start: "2026-11-20T11:00:00Z", child: { code_signature: { subject_name: "Citrix Systems, Inc.", trusted: true } } })];
const SEED = path.join(repoRoot, "rules", "initial_access_execution_remote_via_msiexec.toml");

beforeAll(async () => {
  ({ work, cli } = await buildCli("cli-query-"));
  await writeFile(path.join(work, "attack.ndjson"), attack.map((e) => JSON.stringify(e)).join("\n") + "\n{not json\n[1]\n");
  await writeFile(path.join(work, "attack.json"), JSON.stringify(attack, null, 2));
  await writeFile(path.join(work, "attack.ndjson.gz"), gzipSync(attack.map((e) => JSON.stringify(e)).join("\n")));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(path.dirname(cli), { recursive: true, force: true });
});

describe("triage query", () => {
  it("prints matching events of an event query, in NDJSON, JSON arrays and gzip", async () => {
    for (const file of ["attack.ndjson", "attack.json", "attack.ndjson.gz"]) {
      const run = await triage(["--events", file, 'process where process.name : "MSIEXEC.EXE"']);
      expect(run.code, run.stderr).toBe(0);
      expect(lines(run.stdout).map((e) => (e.event as { id: string }).id)).toEqual(["a-1", "b-1"]);
    }
  });

  it("reports bad lines with their number on stderr and goes on", async () => {
    const run = await triage(["--events", "attack.ndjson", "any where true"]);
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toHaveLength(6);
    expect(run.stderr).toContain("line 7: invalid_json:");
    expect(run.stderr).toContain("line 8: not_an_object: an event must be a JSON object, found an array");
    expect(run.stderr).toContain("6 events read, 2 rejected, 0 skipped, 6 results");
  });

  it("prints sequences with join keys, from a query or a rule file", async () => {
    const run = await triage(["--events", "attack.ndjson", "--rule", SEED]);
    expect(run.code, run.stderr).toBe(0);
    const out = lines(run.stdout);
    expect(out).toHaveLength(1);
    expect(out[0]!.join_keys).toEqual(["a-msiexec-entity"]);
    expect((out[0]!.events as { event: { id: string } }[]).map((e) => e.event.id)).toEqual(["a-1", "a-2", "a-3"]);
  });

  it("marks missing-event stages", async () => {
    const run = await triage(["--events", "attack.json", 'sequence by host.id with maxspan=10s [process where event.action == "start"] ![file where true]']);
    expect(run.code, run.stderr).toBe(0);
    const out = lines(run.stdout);
    expect(out.length).toBeGreaterThan(0);
    expect((out[0]!.events as unknown[])[1]).toEqual({ missing: true });
  });

  it("orders by time for head and tail, and honours --size and --tiebreaker-field", async () => {
    const tail = await triage(["--events", "attack.json", "any where true | tail 2"]);
    expect(lines(tail.stdout).map((e) => (e.event as { id: string }).id)).toEqual(["b-2", "b-3"]);
    const size = await triage(["--events", "attack.json", "--size", "1", "--sort", "any where true"]);
    expect(lines(size.stdout).map((e) => (e.event as { id: string }).id)).toEqual(["a-1"]);
  });

  it("reads standard input with --events -", async () => {
    const run = await triage(["--events", "-", "network where true"], Readable.from([attack.map((e) => JSON.stringify(e)).join("\n")]));
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout)).toHaveLength(2);
  });

  it("exits 2 with the parser's message for a bad query", async () => {
    const run = await triage(["--events", "attack.json", 'process where process.name = "x"']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('use [==] to compare values, not [=] (1:28)\nprocess where process.name = "x"\n                           ^\n');
  });

  it("exits 2 for a bad command line", async () => {
    expect((await triage(["any where true"])).code).toBe(2);
    expect((await triage(["--events", "nope.json", "any where true"])).stderr).toContain("cannot read --events nope.json");
    expect((await triage(["--events", "attack.json", "--size", "0", "any where true"])).code).toBe(2);
    const help = await triage(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: triage query --events FILE");
  });

  it("streams an event query in bounded memory: 150 MB through a 64 MB heap", async () => {
    const filler = "x".repeat(900);
    let sent = 0;
    const total = 150_000;
    const source = Readable.from((function* () {
      for (let i = 0; i < total; i += 1000) {
        let chunk = "";
        for (let j = i; j < i + 1000; j++) {
          chunk += JSON.stringify({ "@timestamp": 1_700_000_000_000 + j, event: { id: String(j), category: ["process"] }, pad: filler, hit: j % 50_000 === 0 }) + "\n";
        }
        sent += chunk.length;
        yield chunk;
      }
    })());
    const run = await triage(["--events", "-", "process where hit == true"], source, ["--max-old-space-size=64"]);
    expect(run.code, run.stderr.slice(-500)).toBe(0);
    expect(sent).toBeGreaterThan(140_000_000);
    expect(lines(run.stdout).map((e) => (e.event as { id: string }).id)).toEqual(["0", "50000", "100000"]);
    expect(run.stderr).toContain(`${total} events read`);
  });
});
