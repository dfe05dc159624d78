/**
 * The storage port: a small DynamoDB-shaped item store (one table, partition key `pk`, sort key
 * `sk`, TTL attribute `expiresAt` in epoch seconds). The detection logic is written once against
 * it; the in-memory store and the DynamoDB store are thin adapters that pass one contract suite.
 *
 * Semantics every adapter keeps:
 * - Reads (`get`, `query`) never return an item whose `expiresAt` has passed: DynamoDB deletes
 *   expired items lazily, up to days later, and that must never change a result.
 * - Conditions see expired-but-not-yet-deleted items as present, as DynamoDB's do. Deterministic
 *   keys make that harmless (a re-derived alert or claim is a duplicate anyway).
 * - `transact` is all or nothing; a failed condition cancels it and says which operations failed.
 */

/** Uint8Array is DynamoDB's binary type (compressed payloads: billing is per byte). */
export type AttrValue = string | number | boolean | null | Uint8Array | readonly AttrValue[] | { readonly [key: string]: AttrValue };

export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

export interface Item extends ItemKey {
  /** TTL, epoch seconds. */
  readonly expiresAt?: number;
  readonly [attr: string]: AttrValue | undefined;
}

export type Condition =
  | { readonly op: "not_exists" }
  | { readonly op: "exists" }
  | { readonly op: "equals"; readonly attr: string; readonly value: string | number | boolean }
  /** The string set `attr` (missing = empty) does not contain `value`. */
  | { readonly op: "not_contains"; readonly attr: string; readonly value: string }
  /** The number `attr` (missing = 0) is below `value`. */
  | { readonly op: "less_than"; readonly attr: string; readonly value: number }
  | { readonly op: "and"; readonly conditions: readonly Condition[] }
  | { readonly op: "or"; readonly conditions: readonly Condition[] };

export interface Update {
  readonly set?: Readonly<Record<string, AttrValue>>;
  /** Set only where the attribute is missing (`if_not_exists`). */
  readonly setIfMissing?: Readonly<Record<string, AttrValue>>;
  /** Add to a number (missing = 0). */
  readonly add?: Readonly<Record<string, number>>;
  /** Add members to a string set. */
  readonly addToSet?: Readonly<Record<string, readonly string[]>>;
  readonly remove?: readonly string[];
}

export type TxOp =
  | { readonly kind: "put"; readonly item: Item; readonly condition?: Condition }
  | { readonly kind: "update"; readonly key: ItemKey; readonly update: Update; readonly condition?: Condition }
  | { readonly kind: "check"; readonly key: ItemKey; readonly condition: Condition };

export type TxResult = { readonly ok: true } | { readonly ok: false; readonly failed: readonly number[] };

export type UpdateResult = { readonly ok: true; readonly item: Item } | { readonly ok: false };

/** Inclusive sort-key range; omit a bound for an open range. */
export interface SkRange {
  readonly from?: string;
  readonly to?: string;
}

export interface QueryOptions {
  /** Current time, epoch seconds: items with `expiresAt` below it are skipped. */
  readonly nowSec: number;
  /** At most this many items (in sort-key order). */
  readonly limit?: number;
  /** Newest (highest sort key) first. */
  readonly descending?: boolean;
}

/** Largest transaction, as DynamoDB's TransactWriteItems allows. */
export const MAX_TRANSACTION_OPS = 100;

export interface BatchPutResult {
  /** Items that could not be written after the adapter's retries (throttling, failures). */
  readonly unprocessed: readonly ItemKey[];
}

export interface ItemStore {
  /**
   * Writes items, overwriting; duplicates of one key within the call are allowed (last wins).
   * Items it could not write are returned, not thrown, so a caller can fail just the work that
   * depended on them.
   */
  batchPut(items: readonly Item[]): Promise<BatchPutResult>;
  /** Strongly consistent read of one partition's items in a sort-key range, ascending. */
  query(pk: string, range: SkRange, options: QueryOptions): Promise<Item[]>;
  get(key: ItemKey, options: { readonly nowSec: number }): Promise<Item | null>;
  update(key: ItemKey, update: Update, condition?: Condition): Promise<UpdateResult>;
  transact(ops: readonly TxOp[]): Promise<TxResult>;
  delete(key: ItemKey): Promise<void>;
}

/** A failure of the store itself (not a failed condition): the caller retries or reports it. */
export class StoreError extends Error {
  override readonly name = "StoreError";
}

export function isExpired(item: Item, nowSec: number): boolean {
  return typeof item.expiresAt === "number" && item.expiresAt < nowSec;
}
