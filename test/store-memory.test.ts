import { describe, expect, it } from "vitest";
import { MemoryItemStore } from "../lib/store/memory.js";
import { withTimeOffset } from "../lib/store/time-offset.js";
import { storeContract } from "./helpers/store-contract.js";

storeContract("memory", () => new MemoryItemStore());

describe("MemoryItemStore", () => {
  it("purges expired items to bound memory", async () => {
    const s = new MemoryItemStore();
    await s.batchPut([{ pk: "a", sk: "1", expiresAt: 10 }, { pk: "a", sk: "2", expiresAt: 20 }, { pk: "b", sk: "1" }]);
    expect(s.size).toBe(3);
    expect(s.purgeExpired(15)).toBe(1);
    expect(s.size).toBe(2);
    expect((await s.query("a", {}, { nowSec: 0 })).map((i) => i.sk)).toEqual(["2"]);
  });

  it("rejects oversized transactions and updates of the key", async () => {
    const s = new MemoryItemStore();
    const ops = Array.from({ length: 101 }, (_, i) => ({ kind: "put" as const, item: { pk: "p", sk: String(i) } }));
    await expect(s.transact(ops)).rejects.toThrow(/at most 100/);
    await expect(s.update({ pk: "p", sk: "1" }, { set: { pk: "other" } })).rejects.toThrow(/cannot change pk/);
  });
});

describe("withTimeOffset", () => {
  it("shifts expiry written and the clock read by one offset, invisibly to the caller", async () => {
    const inner = new MemoryItemStore();
    const s = withTimeOffset(inner, 1000);
    await s.batchPut([{ pk: "p", sk: "1", expiresAt: 10 }]);
    await s.transact([{ kind: "put", item: { pk: "p", sk: "2", expiresAt: 20 } }]);
    await s.update({ pk: "p", sk: "3" }, { set: { expiresAt: 30 } });
    expect((await inner.query("p", {}, { nowSec: 0 })).map((i) => i.expiresAt)).toEqual([1010, 1020, 1030]);
    expect((await s.query("p", {}, { nowSec: 15 })).map((i) => [i.sk, i.expiresAt])).toEqual([["2", 20], ["3", 30]]);
    expect(await s.get({ pk: "p", sk: "1" }, { nowSec: 15 })).toBeNull();
    expect(await s.get({ pk: "p", sk: "3" }, { nowSec: 15 })).toEqual({ pk: "p", sk: "3", expiresAt: 30 });
  });
});
