import { describe, expect, it } from "vitest";
import { MemoryItemStore } from "../lib/store/memory.js";
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
