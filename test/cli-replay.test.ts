// `triage replay` as users run it (the bundled CLI in a subprocess).
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, repoRoot, runCli, type Run } from "./helpers/cli.js";
import { seedAttack } from "./helpers/seed-attack.js";

let work: string;
let cli: string;
const triage = (args: readonly string[], stdin?: Readable): Promise<Run> => runCli(cli, ["replay", "--quiet", ...args], { cwd: work, ...(stdin ? { stdin } : {}) });
const alerts = (s: string) => s.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { id: string; status: string; rule: { id: string }; events: { event?: { id?: string }; missing?: boolean }[]; group: { by: unknown[] } });
const EXAMPLE = path.join(repoRoot, "examples", "msiexec-remote-install.ndjson");
const SEED_ID = "3e441bdb-596c-44fd-8628-2cfdf4516ada";

beforeAll(async () => {
  ({ work, cli } = await buildCli("cli-replay-"));
  const attack = seedAttack();
  await writeFile(path.join(work, "mixed.ndjson"), [
    JSON.stringify(attack[0]), "{broken", JSON.stringify({ no: "timestamp" }), JSON.stringify(attack[1]),
    JSON.stringify({ ...attack[2], "@timestamp": "2999-01-01T00:00:00Z" }), JSON.stringify(attack[2]), "",
  ].join("\n"));
  await mkdir(path.join(work, "rules-broken"));
  await cp(path.join(repoRoot, "rules", "initial_access_execution_remote_via_msiexec.toml"), path.join(work, "rules-broken", "seed.toml"));
  await writeFile(path.join(work, "rules-broken", "bad.toml"), (await readFile(path.join(repoRoot, "rules", "initial_access_execution_remote_via_msiexec.toml"), "utf8"))
    .replace('rule_id = "3e441bdb-596c-44fd-8628-2cfdf4516ada"', 'rule_id = "bad-1"').replace("sequence with maxspan=1m", "sequence with maxspan=1m by"));
  await mkdir(path.join(work, "rules-none"));
  await mkdir(path.join(work, "rules-trailing"));
  await writeFile(path.join(work, "rules-trailing", "trailing.toml"), (await readFile(path.join(repoRoot, "rules", "initial_access_execution_remote_via_msiexec.toml"), "utf8"))
    .replace('rule_id = "3e441bdb-596c-44fd-8628-2cfdf4516ada"', 'rule_id = "trailing-1"')
    .replace(/query = '''[\s\S]*?'''/, "query = '''\nsequence by host.id with maxspan=1m\n  [process where process.name : \"msiexec.exe\"]\n  ![process where process.name : \"never.exe\"]\n'''"));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(path.dirname(cli), { recursive: true, force: true });
});

describe("triage replay", () => {
  it("replays the bundled example: one alert, the attack, and not the near misses", async () => {
    const run = await triage([EXAMPLE]);
    expect(run.code, run.stderr).toBe(0);
    const out = alerts(run.stdout);
    expect(out).toHaveLength(1);
    expect(out[0]!.rule.id).toBe(SEED_ID);
    expect(out[0]!.events.map((e) => e.event?.id)).toEqual(["attack-1", "attack-2", "attack-3"]);
    expect(run.stderr).toMatch(/2009 records: 2009 events, 0 rejected, \d+ candidates, 1 alerts, 0 suppressed/);
  });

  it("gives the same alerts whatever the batch size", async () => {
    const ids = async (n: string) => alerts((await triage(["--batch-size", n, EXAMPLE])).stdout).map((a) => a.id);
    const one = await ids("1");
    expect(one).toHaveLength(1);
    expect(await ids("7")).toEqual(one);
    expect(await ids("5000")).toEqual(one);
  });

  it("reports every rejected line with its number and reason and still detects", async () => {
    const run = await triage(["mixed.ndjson"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("line 2: invalid_json:");
    expect(run.stderr).toContain("line 3: missing_timestamp:");
    expect(run.stderr).toContain("line 5: timestamp_in_future:");
    expect(run.stderr).toMatch(/6 records: 3 events, 3 rejected \((invalid_json 1|missing_timestamp 1|timestamp_in_future 1|, )+\)/);
    expect(alerts(run.stdout)).toHaveLength(1);
  });

  it("reads standard input and writes --out", async () => {
    const lines = seedAttack().map((e) => JSON.stringify(e)).join("\n");
    const run = await triage(["--out", "alerts.ndjson", "-"], Readable.from([lines]));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(alerts(await readFile(path.join(work, "alerts.ndjson"), "utf8"))).toHaveLength(1);
  });

  it("skips a broken rule, reports it, and runs the others", async () => {
    const run = await triage(["--rules", "rules-broken", EXAMPLE]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("bad.toml");
    expect(run.stderr).toContain("loaded 1 rules (1 skipped)");
    expect(alerts(run.stdout)).toHaveLength(1);
  });

  it("decides trailing missing-event stages at the end of the input", async () => {
    const run = await triage(["--rules", "rules-trailing", EXAMPLE]);
    expect(run.code, run.stderr).toBe(0);
    const out = alerts(run.stdout);
    // one per msiexec start in the capture (attack, vendor installer, slow one), all on one host
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((a) => a.events[1]!.missing === true)).toBe(true);
  });

  it("exits 2 for bad arguments, an unreadable rules path and no loadable rule", async () => {
    expect((await triage(["--rules", "nope", EXAMPLE])).code).toBe(2);
    const none = await triage(["--rules", "rules-none", EXAMPLE]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no loadable EQL rule");
    expect((await triage(["--batch-size", "0", EXAMPLE])).code).toBe(2);
    expect((await triage(["missing-file.ndjson"])).stderr).toContain("cannot read events file missing-file.ndjson");
    const help = await runCli(cli, ["replay", "--help"], { cwd: work });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: triage replay");
  });

  it("--triage prints a readable card and writes the Slack payload and the ticket message", async () => {
    await writeFile(path.join(work, "tor.txt"), "# sample\n185.220.101.45\n");
    const run = await triage(["--triage", "--lists", "tor:suspicious=tor.txt", "--out-dir", "cards", EXAMPLE]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Potential Remote File Execution via MSIEXEC");
    expect(run.stdout).toContain("185.220.101.45  suspicious");
    expect(run.stdout).toContain("First investigation steps");
    expect(run.stdout).toContain("signer: none (unsigned)");
    expect(run.stdout).not.toMatch(/^\{"id"/m); // cards, not alert JSON, on standard output
    expect(run.stderr).toContain("triage: 1 cards");
    const alertId = /alert\s+([0-9a-f]{32})/.exec(run.stdout)![1]!;
    const slack = JSON.parse(await readFile(path.join(work, "cards", `${alertId}.slack.json`), "utf8")) as { blocks: unknown[]; text: string; unfurl_links: boolean };
    expect(slack.blocks.length).toBeGreaterThan(3);
    expect(slack.unfurl_links).toBe(false);
    const ticket = JSON.parse(await readFile(path.join(work, "cards", `${alertId}.ticket.json`), "utf8")) as { alertId: string; status: string; verdict: unknown };
    expect(ticket).toMatchObject({ alertId, status: "open" });
    expect((await triage(["--lists", "tor.txt", EXAMPLE])).stderr).toContain("need --triage");
    const missing = await triage(["--triage", "--lists", "no-such-list.txt", EXAMPLE]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
  });

  it("streams: 120 MB of events through a 96 MB heap, state bounded by what can still match", async () => {
    const filler = "x".repeat(800);
    const total = 120_000;
    const source = Readable.from((function* () {
      for (let i = 0; i < total; i += 1000) {
        let chunk = "";
        for (let j = i; j < i + 1000; j++) {
          chunk += JSON.stringify({
            "@timestamp": new Date(Date.parse("2026-11-20T00:00:00Z") + j * 100).toISOString(),
            event: { id: `n${j}`, category: ["process"], action: "start" },
            host: { id: `h${j % 50}`, os: { type: "windows" } },
            // every 10th event is a msiexec /V start: a candidate row that expires after the window
            process: j % 10 === 0 ? { name: "msiexec.exe", args: ["/V"], entity_id: `m${j}` } : { name: "svchost.exe", entity_id: `s${j}` },
            pad: filler,
          }) + "\n";
        }
        yield chunk;
      }
    })());
    const run = await runCli(cli, ["replay", "--quiet", "--batch-size", "500", "-"], { cwd: work, stdin: source, nodeArgs: ["--max-old-space-size=96"] });
    expect(run.code, run.stderr.slice(-500)).toBe(0);
    expect(run.stderr).toContain(`${total} records: ${total} events, 0 rejected, ${total / 10} candidates, 0 alerts`);
  });
});
