/**
 * The contract every ItemStore adapter passes (in-memory now, DynamoDB in its own suite): the
 * semantics the detection logic relies on, checked against the real backend.
 */
import { describe, expect, it } from "vitest";
import type { Item, ItemStore } from "../../lib/store/items.js";

export function storeContract(name: string, makeStore: () => Promise<ItemStore> | ItemStore): void {
  // Far beyond the real clock: DynamoDB Local deletes items whose TTL has really passed, and
  // the expiry cases must not depend on when that happens.
  const NOW = 4_000_000_000;
  const item = (pk: string, sk: string, extra: Record<string, unknown> = {}): Item => ({ pk, sk, ...extra }) as Item;

  describe(`ItemStore contract: ${name}`, () => {
    it("puts, gets and overwrites items", async () => {
      const s = await makeStore();
      await s.batchPut([item("p", "a", { v: 1 }), item("p", "b", { v: { nested: ["x", 1, true, null] } })]);
      expect(await s.get({ pk: "p", sk: "a" }, { nowSec: NOW })).toEqual({ pk: "p", sk: "a", v: 1 });
      expect(await s.get({ pk: "p", sk: "b" }, { nowSec: NOW })).toEqual({ pk: "p", sk: "b", v: { nested: ["x", 1, true, null] } });
      await s.batchPut([item("p", "a", { v: 2 }), item("p", "a", { v: 3 })]);
      expect((await s.get({ pk: "p", sk: "a" }, { nowSec: NOW }))?.v).toBe(3);
      expect(await s.get({ pk: "p", sk: "zz" }, { nowSec: NOW })).toBeNull();
    });

    it("keeps binary attributes as bytes", async () => {
      const s = await makeStore();
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      await s.batchPut([item("bin", "a", { z: bytes, nested: { b: new Uint8Array([7]) } })]);
      const got = await s.get({ pk: "bin", sk: "a" }, { nowSec: NOW });
      expect(got?.z).toBeInstanceOf(Uint8Array);
      expect([...(got?.z as Uint8Array)]).toEqual([0, 1, 2, 250, 255]);
      expect([...((got?.nested as { b: Uint8Array }).b)]).toEqual([7]);
      expect((await s.query("bin", {}, { nowSec: NOW }))[0]?.z).toBeInstanceOf(Uint8Array);
    });

    it("writes large batches (more than 25 items, duplicates included)", async () => {
      const s = await makeStore();
      const items = Array.from({ length: 120 }, (_, i) => item("big", String(i % 100).padStart(3, "0"), { i }));
      expect(await s.batchPut(items)).toEqual({ unprocessed: [] });
      const got = await s.query("big", {}, { nowSec: NOW });
      expect(got.length).toBe(100);
      expect(got[99]).toMatchObject({ sk: "099", i: 99 });
    });

    it("queries a sort-key range in order, inclusive, with limit and descending", async () => {
      const s = await makeStore();
      await s.batchPut(["05", "01", "03", "02", "04"].map((k) => item("q", k)));
      await s.batchPut([item("other", "03")]);
      const sks = async (range: { from?: string; to?: string }, opts: { limit?: number; descending?: boolean } = {}) =>
        (await s.query("q", range, { nowSec: NOW, ...opts })).map((i) => i.sk);
      expect(await sks({})).toEqual(["01", "02", "03", "04", "05"]);
      expect(await sks({ from: "02", to: "04" })).toEqual(["02", "03", "04"]);
      expect(await sks({ from: "02x" })).toEqual(["03", "04", "05"]);
      expect(await sks({ to: "02" })).toEqual(["01", "02"]);
      expect(await sks({}, { limit: 2 })).toEqual(["01", "02"]);
      expect(await sks({}, { limit: 2, descending: true })).toEqual(["05", "04"]);
      expect(await s.query("none", {}, { nowSec: NOW })).toEqual([]);
    });

    it("never returns expired items, but conditions still see them", async () => {
      const s = await makeStore();
      await s.batchPut([item("t", "old", { expiresAt: NOW - 1 }), item("t", "new", { expiresAt: NOW + 60 }), item("t", "forever")]);
      expect((await s.query("t", {}, { nowSec: NOW })).map((i) => i.sk)).toEqual(["forever", "new"]);
      expect(await s.get({ pk: "t", sk: "old" }, { nowSec: NOW })).toBeNull();
      const r = await s.transact([{ kind: "put", item: item("t", "old"), condition: { op: "not_exists" } }]);
      expect(r).toEqual({ ok: false, failed: [0] });
    });

    it("transactions are all or nothing and report the failed conditions", async () => {
      const s = await makeStore();
      await s.batchPut([item("x", "claimed", { by: "alert-1" })]);
      const r = await s.transact([
        { kind: "put", item: item("alert#2", "alert", { v: 1 }), condition: { op: "not_exists" } },
        { kind: "put", item: item("x", "free"), condition: { op: "not_exists" } },
        { kind: "put", item: item("x", "claimed", { by: "alert-2" }), condition: { op: "not_exists" } },
      ]);
      expect(r).toEqual({ ok: false, failed: [2] });
      expect(await s.get({ pk: "alert#2", sk: "alert" }, { nowSec: NOW })).toBeNull();
      expect(await s.get({ pk: "x", sk: "free" }, { nowSec: NOW })).toBeNull();
      const ok = await s.transact([
        { kind: "put", item: item("alert#2", "alert", { v: 1 }), condition: { op: "not_exists" } },
        { kind: "update", key: { pk: "x", sk: "claimed" }, update: { set: { seen: true } }, condition: { op: "equals", attr: "by", value: "alert-1" } },
        { kind: "check", key: { pk: "x", sk: "free" }, condition: { op: "not_exists" } },
      ]);
      expect(ok).toEqual({ ok: true });
      expect(await s.get({ pk: "x", sk: "claimed" }, { nowSec: NOW })).toEqual({ pk: "x", sk: "claimed", by: "alert-1", seen: true });
    });

    it("updates: set, set-if-missing, add, add-to-set, remove, with conditions", async () => {
      const s = await makeStore();
      const key = { pk: "u", sk: "1" };
      expect(await s.update(key, { setIfMissing: { first: "a" }, add: { n: 2 }, addToSet: { ids: ["e1"] } })).toMatchObject({ ok: true });
      expect(await s.update(key, { setIfMissing: { first: "b" }, add: { n: 3 }, addToSet: { ids: ["e2", "e1"] }, set: { status: "open" } })).toMatchObject({ ok: true });
      let got = await s.get(key, { nowSec: NOW });
      expect(got).toMatchObject({ first: "a", n: 5, status: "open" });
      expect([...(got?.ids as string[])].sort()).toEqual(["e1", "e2"]);
      expect(await s.update(key, { add: { n: 1 } }, { op: "not_contains", attr: "ids", value: "e1" })).toEqual({ ok: false });
      expect(await s.update(key, { add: { n: 1 } }, { op: "not_contains", attr: "ids", value: "e3" })).toMatchObject({ ok: true });
      expect(await s.update(key, { add: { n: 1 } }, { op: "less_than", attr: "n", value: 6 })).toEqual({ ok: false });
      expect(await s.update({ pk: "u", sk: "new" }, { add: { n: 1 } }, { op: "less_than", attr: "n", value: 1 })).toMatchObject({ ok: true });
      expect(await s.update(key, { set: { status: "retracted" } }, { op: "equals", attr: "status", value: "open" })).toMatchObject({ ok: true });
      expect(await s.update(key, { set: { status: "retracted" } }, { op: "equals", attr: "status", value: "open" })).toEqual({ ok: false });
      await s.update(key, { remove: ["first"] });
      got = await s.get(key, { nowSec: NOW });
      expect(got?.first).toBeUndefined();
      expect(await s.update({ pk: "u", sk: "nope" }, { set: { a: 1 } }, { op: "exists" })).toEqual({ ok: false });
    });

    it("supports or-conditions", async () => {
      const s = await makeStore();
      await s.batchPut([item("o", "1", { windowEnd: 100 })]);
      const cond = { op: "or" as const, conditions: [{ op: "not_exists" as const }, { op: "less_than" as const, attr: "windowEnd", value: 50 }] };
      expect(await s.update({ pk: "o", sk: "1" }, { set: { a: 1 } }, cond)).toEqual({ ok: false });
      expect(await s.update({ pk: "o", sk: "2" }, { set: { a: 1 } }, cond)).toMatchObject({ ok: true });
      const cond2 = { op: "or" as const, conditions: [{ op: "not_exists" as const }, { op: "less_than" as const, attr: "windowEnd", value: 101 }] };
      expect(await s.update({ pk: "o", sk: "1" }, { set: { a: 1 } }, cond2)).toMatchObject({ ok: true });
    });

    it("deletes", async () => {
      const s = await makeStore();
      await s.batchPut([item("d", "1"), item("d", "2")]);
      await s.delete({ pk: "d", sk: "1" });
      await s.delete({ pk: "d", sk: "missing" });
      expect((await s.query("d", {}, { nowSec: NOW })).map((i) => i.sk)).toEqual(["2"]);
    });

    it("returns copies: callers cannot change stored state", async () => {
      const s = await makeStore();
      await s.batchPut([item("c", "1", { list: ["a"] })]);
      const got = (await s.get({ pk: "c", sk: "1" }, { nowSec: NOW })) as unknown as { list: string[] };
      got.list.push("b");
      expect((await s.get({ pk: "c", sk: "1" }, { nowSec: NOW }))?.list).toEqual(["a"]);
    });
  });
}
