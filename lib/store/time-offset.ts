import type { BatchPutResult, Item, ItemKey, ItemStore, QueryOptions, SkRange, TxOp, TxResult, Update, UpdateResult } from "./items.js";

/**
 * An item store whose TTL clock is shifted by a constant. `triage replay` runs a capture on a
 * clock that follows the events, often days in the past; a real table (DynamoDB deletes expired
 * items by the wall clock) would delete the state as soon as it is written. Shifting every
 * `expiresAt` written and every `nowSec` read by the same offset keeps the replay's logic intact
 * while the table sees expiry times in its own future.
 */
export function withTimeOffset(store: ItemStore, offsetSec: number): ItemStore {
  if (offsetSec === 0) return store;
  const shift = (item: Item): Item => (typeof item.expiresAt === "number" ? { ...item, expiresAt: item.expiresAt + offsetSec } : item);
  const unshift = (item: Item): Item => (typeof item.expiresAt === "number" ? { ...item, expiresAt: item.expiresAt - offsetSec } : item);
  const shiftUpdate = (u: Update): Update => {
    const fix = (part: Readonly<Record<string, unknown>> | undefined) =>
      part && typeof part.expiresAt === "number" ? { ...part, expiresAt: part.expiresAt + offsetSec } : part;
    return { ...u, ...(u.set ? { set: fix(u.set) as Update["set"] } : {}), ...(u.setIfMissing ? { setIfMissing: fix(u.setIfMissing) as Update["setIfMissing"] } : {}) };
  };
  return {
    batchPut: (items: readonly Item[]): Promise<BatchPutResult> => store.batchPut(items.map(shift)),
    query: async (pk: string, range: SkRange, options: QueryOptions) =>
      (await store.query(pk, range, { ...options, nowSec: options.nowSec + offsetSec })).map(unshift),
    get: async (key: ItemKey, options: { readonly nowSec: number }) => {
      const item = await store.get(key, { nowSec: options.nowSec + offsetSec });
      return item && unshift(item);
    },
    update: async (key, update, condition): Promise<UpdateResult> => {
      const r = await store.update(key, shiftUpdate(update), condition);
      return r.ok ? { ok: true, item: unshift(r.item) } : r;
    },
    transact: (ops: readonly TxOp[]): Promise<TxResult> =>
      store.transact(ops.map((op) => (op.kind === "put" ? { ...op, item: shift(op.item) } : op.kind === "update" ? { ...op, update: shiftUpdate(op.update) } : op))),
    delete: (key: ItemKey) => store.delete(key),
  };
}
