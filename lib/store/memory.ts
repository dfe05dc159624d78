import {
  isExpired, MAX_TRANSACTION_OPS, StoreError,
  type AttrValue, type BatchPutResult, type Condition, type Item, type ItemKey, type ItemStore, type QueryOptions, type SkRange,
  type TxOp, type TxResult, type Update, type UpdateResult,
} from "./items.js";

/**
 * The in-memory item store, for `triage replay` and tests. Per partition, items are kept in a
 * sorted array so range queries cost O(log n + k). Like DynamoDB it keeps expired items until
 * `purgeExpired` removes them (reads skip them either way); replay purges as its clock advances
 * so that memory stays bounded by live state, not by input size.
 */
export class MemoryItemStore implements ItemStore {
  private readonly partitions = new Map<string, { keys: string[]; items: Map<string, Item> }>();
  private itemCount = 0;

  async batchPut(items: readonly Item[]): Promise<BatchPutResult> {
    for (const item of items) this.put(item);
    return { unprocessed: [] };
  }

  async query(pk: string, range: SkRange, options: QueryOptions): Promise<Item[]> {
    const p = this.partitions.get(pk);
    if (!p) return [];
    const start = range.from === undefined ? 0 : lowerBound(p.keys, range.from);
    const end = range.to === undefined ? p.keys.length : upperBound(p.keys, range.to);
    const out: Item[] = [];
    const limit = options.limit ?? Infinity;
    if (options.descending) {
      for (let i = end - 1; i >= start && out.length < limit; i--) {
        const item = p.items.get(p.keys[i]!)!;
        if (!isExpired(item, options.nowSec)) out.push(copy(item));
      }
    } else {
      for (let i = start; i < end && out.length < limit; i++) {
        const item = p.items.get(p.keys[i]!)!;
        if (!isExpired(item, options.nowSec)) out.push(copy(item));
      }
    }
    return out;
  }

  async get(key: ItemKey, options: { readonly nowSec: number }): Promise<Item | null> {
    const item = this.raw(key);
    return item && !isExpired(item, options.nowSec) ? copy(item) : null;
  }

  async update(key: ItemKey, update: Update, condition?: Condition): Promise<UpdateResult> {
    if (condition && !holds(condition, this.raw(key))) return { ok: false };
    const item = applyUpdate(key, this.raw(key), update);
    this.put(item);
    return { ok: true, item: copy(item) };
  }

  async transact(ops: readonly TxOp[]): Promise<TxResult> {
    if (ops.length > MAX_TRANSACTION_OPS) throw new StoreError(`a transaction takes at most ${MAX_TRANSACTION_OPS} operations, got ${ops.length}`);
    const seen = new Set<string>();
    for (const op of ops) {
      const k = keyOf(op.kind === "put" ? op.item : op.key);
      if (seen.has(k)) throw new StoreError(`a transaction cannot touch one item twice: ${k}`);
      seen.add(k);
    }
    const failed: number[] = [];
    ops.forEach((op, i) => {
      const condition = op.condition;
      if (condition && !holds(condition, this.raw(op.kind === "put" ? op.item : op.key))) failed.push(i);
    });
    if (failed.length > 0) return { ok: false, failed };
    for (const op of ops) {
      if (op.kind === "put") this.put(op.item);
      else if (op.kind === "update") this.put(applyUpdate(op.key, this.raw(op.key), op.update));
    }
    return { ok: true };
  }

  async delete(key: ItemKey): Promise<void> {
    const p = this.partitions.get(key.pk);
    if (!p || !p.items.has(key.sk)) return;
    p.items.delete(key.sk);
    p.keys.splice(lowerBound(p.keys, key.sk), 1);
    this.itemCount--;
    if (p.items.size === 0) this.partitions.delete(key.pk);
  }

  /** Removes items whose TTL has passed (DynamoDB's background deletion). Returns how many. */
  purgeExpired(nowSec: number): number {
    let removed = 0;
    for (const [pk, p] of this.partitions) {
      const keep: string[] = [];
      for (const sk of p.keys) {
        if (isExpired(p.items.get(sk)!, nowSec)) {
          p.items.delete(sk);
          removed++;
        } else keep.push(sk);
      }
      p.keys = keep;
      if (p.items.size === 0) this.partitions.delete(pk);
    }
    this.itemCount -= removed;
    return removed;
  }

  /** Number of items held (expired ones included until purged). */
  get size(): number {
    return this.itemCount;
  }

  private raw(key: ItemKey): Item | undefined {
    return this.partitions.get(key.pk)?.items.get(key.sk);
  }

  private put(item: Item): void {
    const stored = copy(item);
    let p = this.partitions.get(item.pk);
    if (!p) {
      p = { keys: [], items: new Map() };
      this.partitions.set(item.pk, p);
    }
    if (!p.items.has(item.sk)) {
      p.keys.splice(lowerBound(p.keys, item.sk), 0, item.sk);
      this.itemCount++;
    }
    p.items.set(item.sk, stored);
  }
}

function keyOf(k: ItemKey): string {
  return JSON.stringify([k.pk, k.sk]);
}

/** Deep copy, so callers can never mutate stored state (values are plain JSON). */
function copy<T>(v: T): T {
  return structuredClone(v);
}

function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function holds(c: Condition, item: Item | undefined): boolean {
  switch (c.op) {
    case "not_exists":
      return item === undefined;
    case "exists":
      return item !== undefined;
    case "equals":
      return item !== undefined && item[c.attr] === c.value;
    case "not_contains": {
      const set = item?.[c.attr];
      return !(Array.isArray(set) && set.includes(c.value));
    }
    case "less_than": {
      const v = item?.[c.attr];
      return (typeof v === "number" ? v : 0) < c.value;
    }
    case "and":
      return c.conditions.every((x) => holds(x, item));
    case "or":
      return c.conditions.some((x) => holds(x, item));
  }
}

export function applyUpdate(key: ItemKey, existing: Item | undefined, u: Update): Item {
  for (const part of [u.set, u.setIfMissing, u.add, u.addToSet]) {
    if (part && ("pk" in part || "sk" in part)) throw new StoreError("an update cannot change pk or sk");
  }
  const out: Record<string, AttrValue | undefined> = { ...(existing ?? {}), pk: key.pk, sk: key.sk };
  for (const [k, v] of Object.entries(u.setIfMissing ?? {})) if (out[k] === undefined) out[k] = v;
  for (const [k, v] of Object.entries(u.set ?? {})) out[k] = v;
  for (const [k, n] of Object.entries(u.add ?? {})) {
    const cur = out[k];
    out[k] = (typeof cur === "number" ? cur : 0) + n;
  }
  for (const [k, members] of Object.entries(u.addToSet ?? {})) {
    const cur = out[k];
    const set = new Set<string>(Array.isArray(cur) ? (cur as string[]) : []);
    for (const m of members) set.add(m);
    out[k] = [...set].sort();
  }
  for (const k of u.remove ?? []) delete out[k];
  return out as Item;
}
