/**
 * The reference rule, loaded from rules/ as shipped: its attack with an unsigned child process
 * (no code_signature fields at all) is a match, and its exclusions hold.
 */
import { describe, expect, it } from "vitest";
import { evaluate, type CompiledQuery } from "../lib/eql/index.js";
import { checkRule, loadRuleFile } from "../lib/rules/index.js";
import { seedAttack } from "./helpers/seed-attack.js";

const RULE = new URL("../rules/initial_access_execution_remote_via_msiexec.toml", import.meta.url).pathname;

async function seedRule(): Promise<CompiledQuery> {
  const loaded = await loadRuleFile(RULE);
  if (!loaded.success) throw new Error(loaded.errors.map((e) => e.message).join("\n"));
  const check = checkRule(loaded.rule);
  if (check.status !== "ok") throw new Error(`seed rule did not compile: ${check.status}`);
  return check.compiled;
}

const matches = async (events: Record<string, unknown>[]) => evaluate(await seedRule(), events).results;

describe("seed rule: Potential Remote File Execution via MSIEXEC", () => {
  it("is a 3-stage sequence with maxspan 1m", async () => {
    const q = await seedRule();
    expect(q.kind).toBe("Sequence");
    expect(q.stages.length).toBe(3);
    expect(q.maxspanMs).toBe(60_000);
    expect(q.stages.map((s) => s.keyNames)).toEqual([["process.entity_id"], ["process.entity_id"], ["process.parent.entity_id"]]);
  });

  it("matches the attack with an unsigned child process", async () => {
    const events = seedAttack();
    const child = events[2]!.process as Record<string, unknown>;
    expect(child.code_signature).toBeUndefined();
    const results = await matches(events);
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r.kind).toBe("sequence");
    if (r.kind !== "sequence") return;
    expect(r.joinKeys).toEqual(["a-msiexec-entity"]);
    expect(r.events.map((e) => (e?.event as { id: string }).id)).toEqual(["a-1", "a-2", "a-3"]);
  });

  it("matches an untrusted Citrix-signed child and a trusted child outside Program Files", async () => {
    expect(await matches(seedAttack({ child: { code_signature: { subject_name: "Citrix Systems, Inc.", trusted: false } } }))).toHaveLength(1);
    expect(await matches(seedAttack({ child: { code_signature: { subject_name: "Contoso", trusted: true } } }))).toHaveLength(1);
  });

  it("does not match the excluded children", async () => {
    expect(await matches(seedAttack({ child: { code_signature: { subject_name: "Citrix Systems, Inc.", trusted: true } } }))).toHaveLength(0);
    expect(await matches(seedAttack({ child: { executable: "C:\\Windows\\System32\\taskkill.exe", name: "taskkill.exe" } }))).toHaveLength(0);
    expect(await matches(seedAttack({ child: { executable: "C:\\Program Files\\Vendor\\tool.exe", code_signature: { trusted: true } } }))).toHaveLength(0);
    expect(await matches(seedAttack({ child: { name: "rundll32.exe", args: ["rundll32.exe", "printui.dll,PrintUIEntry"] } }))).toHaveLength(0);
  });

  it("does not match when the child comes more than a minute after msiexec starts", async () => {
    expect(await matches(seedAttack({ childDelayMs: 60_000 }))).toHaveLength(1); // maxspan is inclusive
    expect(await matches(seedAttack({ childDelayMs: 60_001 }))).toHaveLength(0);
  });

  it("does not join the stages of different msiexec processes", async () => {
    const a = seedAttack({ idPrefix: "a" });
    const b = seedAttack({ idPrefix: "b" });
    // a's msiexec and network events with b's child: the child's parent is b's msiexec.
    expect(await matches([a[0]!, a[1]!, b[2]!])).toHaveLength(0);
  });
});
