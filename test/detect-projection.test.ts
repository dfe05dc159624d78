/**
 * Projections of hostile events: whatever the event, a projected event stays within its byte
 * budget (so alerts fit one DynamoDB item), the small fields triage needs survive, and every cut
 * is reported.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_EVENT_BYTES, project, projectionBudget, TRIAGE_FIELDS } from "../lib/detect/projection.js";
import { seedAttack } from "./helpers/seed-attack.js";

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), "utf8");
/** Distinct, incompressible-looking strings of 3-byte characters. */
const wide = (n: number, seed: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919 + seed * 104729) % 20000))).join("");

describe("projection", () => {
  it("keeps an ordinary event whole", () => {
    for (const e of seedAttack()) {
      const p = project(e, TRIAGE_FIELDS);
      expect(p.truncated).toEqual([]);
      expect((p.event.process as { name: string }).name).toBe((e.process as { name: string }).name);
    }
  });

  it("bounds a bloated event to its budget, keeps the small fields and lists the cut ones", () => {
    const args = Array.from({ length: 64 }, (_, i) => wide(2048, i));
    const event = {
      "@timestamp": "2026-11-20T10:00:00Z", event: { id: "e1", category: ["network"] },
      host: { id: "h1", name: "win-1", ip: Array.from({ length: 64 }, (_, i) => `10.0.${i}.1`) },
      process: { name: "msiexec.exe", args, command_line: wide(100_000, 99), parent: { args, command_line: wide(5000, 7) } },
      registry: { data: { strings: args } },
      destination: { ip: "203.0.113.7", port: 443 },
    };
    for (const budget of [MAX_EVENT_BYTES, projectionBudget(60)]) {
      const p = project(event, TRIAGE_FIELDS, budget);
      // field names nest, so the JSON is a little larger than the sum the budget counts
      expect(bytes(p.event)).toBeLessThanOrEqual(budget * 1.1);
      expect(p.event.destination).toEqual({ ip: "203.0.113.7", port: 443 });
      expect((p.event.process as { name: string }).name).toBe("msiexec.exe");
      expect((p.event.event as { id: string }).id).toBe("e1");
      expect(p.truncated).toEqual(expect.arrayContaining(["process.args", "process.command_line", "process.parent.args", "registry.data.strings"]));
      expect(p.truncated).not.toContain("destination.ip");
      // a cut never leaves half a surrogate pair
      expect(JSON.stringify(p.event)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });

  it("any event within the budget: property", () => {
    const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string({ maxLength: 3000, unit: "binary" }), fc.integer(), fc.constant(null), fc.boolean()),
      node: fc.oneof({ depthSize: "small" }, tie("leaf"), fc.array(tie("node"), { maxLength: 80 }), fc.dictionary(fc.string({ maxLength: 8 }), tie("node"), { maxKeys: 5 })),
    })).node;
    fc.assert(fc.property(fc.dictionary(fc.constantFrom("process", "host", "destination", "file", "registry", "event"), fc.dictionary(fc.constantFrom("args", "ip", "name", "path", "id", "command_line"), value, { maxKeys: 6 })), fc.integer({ min: 2_000, max: 30_000 }), (event, budget) => {
      const p = project(event, TRIAGE_FIELDS, budget);
      expect(bytes(p.event)).toBeLessThanOrEqual(budget * 1.05);
    }), { numRuns: 200 });
  });
});
