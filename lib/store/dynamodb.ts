/**
 * The DynamoDB adapter of the ItemStore port: a thin translation onto one table (`pk`/`sk`, TTL
 * attribute `expiresAt`), with the semantics of the in-memory store (lib/store/memory.ts is the
 * reference). No detection logic lives here.
 *
 * - Attribute names are caller-chosen: every name and value goes through expression attribute
 *   names/values, never into expression text.
 * - String sets (`addToSet`) are written as DynamoDB string sets and read back as sorted string
 *   arrays, so items equal what the in-memory store returns.
 * - Reads skip expired items (`expiresAt < nowSec`) themselves: DynamoDB deletes them lazily.
 * - `batchPut` never throws: what it could not write after its retries comes back in
 *   `unprocessed`. Every other operation throws StoreError (with `cause`) when the store fails.
 */
import {
  ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand,
  type QueryCommandInput, type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import {
  isExpired, MAX_TRANSACTION_OPS, StoreError,
  type AttrValue, type BatchPutResult, type Condition, type Item, type ItemKey, type ItemStore, type QueryOptions, type SkRange,
  type TxOp, type TxResult, type Update, type UpdateResult,
} from "./items.js";

export interface RetryOptions {
  /** Attempts in all (the first one included). */
  readonly attempts: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxMs, baseMs * 2^n)). */
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface DynamoDbItemStoreOptions {
  readonly client: DynamoDBDocumentClient | DynamoDBClient;
  readonly tableName: string;
  readonly retry?: Partial<RetryOptions>;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 8, baseMs: 25, maxMs: 2_000 };

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_MAX = 25;
/** Chunks of one batchPut written at the same time. */
const BATCH_CONCURRENCY = 4;

const RETRYABLE_NAMES = new Set([
  "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "Throttling",
  "TransactionConflictException", "InternalServerError", "InternalFailure", "ServiceUnavailable",
  "TimeoutError", "RequestTimeout", "RequestTimeoutException",
]);
const RETRYABLE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND"]);
/** Cancellation reasons of a transaction that a retry can cure. */
const RETRYABLE_TX_REASONS = new Set(["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "None"]);

export class DynamoDbItemStore implements ItemStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly retry: RetryOptions;

  constructor(options: DynamoDbItemStoreOptions) {
    this.doc = options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
    this.table = options.tableName;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    if (this.retry.attempts < 1) throw new StoreError("retry.attempts must be at least 1");
  }

  async batchPut(items: readonly Item[]): Promise<BatchPutResult> {
    const byKey = new Map<string, Item>();
    for (const item of items) {
      const k = keyString(item);
      byKey.delete(k); // last wins
      byKey.set(k, item);
    }
    const chunks: Item[][] = [];
    const unique = [...byKey.values()];
    for (let i = 0; i < unique.length; i += BATCH_WRITE_MAX) chunks.push(unique.slice(i, i + BATCH_WRITE_MAX));
    const unprocessed: ItemKey[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        for (const item of await this.writeChunk(chunk)) unprocessed.push({ pk: item.pk, sk: item.sk });
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, chunks.length) }, worker));
    return { unprocessed };
  }

  /** Writes one chunk of at most 25 distinct items; returns those it could not write. */
  private async writeChunk(chunk: readonly Item[]): Promise<Item[]> {
    let pending: Item[] = [...chunk];
    for (let attempt = 0; attempt < this.retry.attempts && pending.length > 0; attempt++) {
      if (attempt > 0) await this.backoff(attempt - 1);
      try {
        const out = await this.doc.send(new BatchWriteCommand({
          RequestItems: { [this.table]: pending.map((item) => ({ PutRequest: { Item: clean(item) } })) },
        }));
        const left = out.UnprocessedItems?.[this.table] ?? [];
        if (left.length === 0) return [];
        const leftKeys = new Set(left.map((r) => keyString(r.PutRequest!.Item as ItemKey)));
        pending = pending.filter((item) => leftKeys.has(keyString(item)));
      } catch (err) {
        if (!isRetryable(err)) return pending;
      }
    }
    return pending;
  }

  async query(pk: string, range: SkRange, options: QueryOptions): Promise<Item[]> {
    const x = new Expr();
    let keyCondition = `${x.name("pk")} = ${x.value(pk)}`;
    const sk = range.from !== undefined || range.to !== undefined ? x.name("sk") : "";
    if (range.from !== undefined && range.to !== undefined) {
      if (range.from > range.to) return []; // DynamoDB rejects an inverted BETWEEN; the memory store returns nothing
      keyCondition += ` AND ${sk} BETWEEN ${x.value(range.from)} AND ${x.value(range.to)}`;
    } else if (range.from !== undefined) keyCondition += ` AND ${sk} >= ${x.value(range.from)}`;
    else if (range.to !== undefined) keyCondition += ` AND ${sk} <= ${x.value(range.to)}`;
    const e = x.name("expiresAt");
    const filter = `attribute_not_exists(${e}) OR NOT attribute_type(${e}, ${x.value("N")}) OR ${e} >= ${x.value(options.nowSec)}`;

    const limit = options.limit ?? Infinity;
    const out: Item[] = [];
    if (limit <= 0) return out;
    let startKey: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        KeyConditionExpression: keyCondition,
        FilterExpression: filter,
        ExpressionAttributeNames: x.names,
        ExpressionAttributeValues: x.values,
        ConsistentRead: true,
        ScanIndexForward: !options.descending,
        ExclusiveStartKey: startKey,
        // Limit counts items read before the filter; with expired items around, the loop reads on.
        Limit: Number.isFinite(limit) ? Math.min(limit - out.length, 1_000) : undefined,
      };
      const page = await this.call("Query", () => this.doc.send(new QueryCommand(input)));
      for (const raw of page.Items ?? []) {
        const item = fromDynamo(raw);
        if (!isExpired(item, options.nowSec)) out.push(item);
        if (out.length >= limit) return out;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }

  async get(key: ItemKey, options: { readonly nowSec: number }): Promise<Item | null> {
    const out = await this.call("GetItem", () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true })));
    if (!out.Item) return null;
    const item = fromDynamo(out.Item);
    return isExpired(item, options.nowSec) ? null : item;
  }

  async update(key: ItemKey, update: Update, condition?: Condition): Promise<UpdateResult> {
    const x = new Expr();
    const updateExpression = buildUpdate(update, x);
    const conditionExpression = condition ? buildCondition(condition, x) : undefined;
    try {
      const out = await this.doc.send(new UpdateCommand({
        TableName: this.table,
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: updateExpression,
        ConditionExpression: conditionExpression,
        ExpressionAttributeNames: x.namesOrUndefined(),
        ExpressionAttributeValues: x.valuesOrUndefined(),
        ReturnValues: "ALL_NEW",
      }));
      return { ok: true, item: fromDynamo(out.Attributes ?? { pk: key.pk, sk: key.sk }) };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || errorName(err) === "ConditionalCheckFailedException") return { ok: false };
      throw storeError("UpdateItem", err);
    }
  }

  async transact(ops: readonly TxOp[]): Promise<TxResult> {
    if (ops.length > MAX_TRANSACTION_OPS) throw new StoreError(`a transaction takes at most ${MAX_TRANSACTION_OPS} operations, got ${ops.length}`);
    if (ops.length === 0) return { ok: true };
    const seen = new Set<string>();
    for (const op of ops) {
      const k = keyString(op.kind === "put" ? op.item : op.key);
      if (seen.has(k)) throw new StoreError(`a transaction cannot touch one item twice: ${k}`);
      seen.add(k);
    }
    const transactItems: NonNullable<TransactWriteCommandInput["TransactItems"]> = ops.map((op) => {
      const x = new Expr();
      const conditionExpression = op.condition ? buildCondition(op.condition, x) : undefined;
      switch (op.kind) {
        case "put":
          return { Put: {
            TableName: this.table, Item: clean(op.item), ConditionExpression: conditionExpression,
            ExpressionAttributeNames: x.namesOrUndefined(), ExpressionAttributeValues: x.valuesOrUndefined(),
          } };
        case "update": {
          const updateExpression = buildUpdate(op.update, x);
          if (updateExpression === undefined) throw new StoreError("an update in a transaction must change something");
          return { Update: {
            TableName: this.table, Key: { pk: op.key.pk, sk: op.key.sk }, UpdateExpression: updateExpression, ConditionExpression: conditionExpression,
            ExpressionAttributeNames: x.namesOrUndefined(), ExpressionAttributeValues: x.valuesOrUndefined(),
          } };
        }
        case "check":
          return { ConditionCheck: {
            TableName: this.table, Key: { pk: op.key.pk, sk: op.key.sk }, ConditionExpression: conditionExpression!,
            ExpressionAttributeNames: x.namesOrUndefined(), ExpressionAttributeValues: x.valuesOrUndefined(),
          } };
      }
    });

    let lastError: unknown;
    for (let attempt = 0; attempt < this.retry.attempts; attempt++) {
      if (attempt > 0) await this.backoff(attempt - 1);
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: transactItems }));
        return { ok: true };
      } catch (err) {
        lastError = err;
        if (err instanceof TransactionCanceledException || errorName(err) === "TransactionCanceledException") {
          const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
          const failed: number[] = [];
          reasons.forEach((r, i) => {
            if (r.Code === "ConditionalCheckFailed") failed.push(i);
          });
          if (failed.length > 0) return { ok: false, failed };
          if (reasons.length > 0 && reasons.every((r) => RETRYABLE_TX_REASONS.has(r.Code ?? "None"))) continue;
          throw storeError("TransactWriteItems", err);
        }
        if (!isRetryable(err)) throw storeError("TransactWriteItems", err);
      }
    }
    throw storeError(`TransactWriteItems (after ${this.retry.attempts} attempts)`, lastError);
  }

  async delete(key: ItemKey): Promise<void> {
    await this.call("DeleteItem", () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: key.pk, sk: key.sk } })));
  }

  /** Runs one read or write, retrying throttling and transient failures, and wraps what is left in StoreError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRetryable(err) || attempt + 1 >= this.retry.attempts) throw storeError(what, err);
        await this.backoff(attempt);
      }
    }
  }

  /** Exponential backoff with full jitter. */
  private backoff(attempt: number): Promise<void> {
    const cap = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** attempt);
    return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
  }
}

/** Expression attribute names and values, numbered, so that no caller text reaches an expression. */
class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly nameIds = new Map<string, string>();
  private valueCount = 0;

  name(attr: string): string {
    let id = this.nameIds.get(attr);
    if (id === undefined) {
      id = `#n${this.nameIds.size}`;
      this.nameIds.set(attr, id);
      this.names[id] = attr;
    }
    return id;
  }

  value(v: unknown): string {
    const id = `:v${this.valueCount++}`;
    this.values[id] = v;
    return id;
  }

  namesOrUndefined(): Record<string, string> | undefined {
    return this.nameIds.size > 0 ? this.names : undefined;
  }

  valuesOrUndefined(): Record<string, unknown> | undefined {
    return this.valueCount > 0 ? this.values : undefined;
  }
}

/** The condition as a ConditionExpression, with the memory store's semantics (`holds`). */
function buildCondition(c: Condition, x: Expr): string {
  switch (c.op) {
    case "not_exists":
      return `attribute_not_exists(${x.name("pk")})`;
    case "exists":
      return `attribute_exists(${x.name("pk")})`;
    case "equals":
      return `${x.name(c.attr)} = ${x.value(c.value)}`;
    case "not_contains": {
      // Only a set or list can contain the value (a string attribute is not a substring match).
      const a = x.name(c.attr);
      return `(NOT ((attribute_type(${a}, ${x.value("SS")}) OR attribute_type(${a}, ${x.value("L")})) AND contains(${a}, ${x.value(c.value)})))`;
    }
    case "less_than": {
      // A missing (or non-number) attribute counts as 0.
      const a = x.name(c.attr);
      const compare = `${a} < ${x.value(c.value)}`;
      return c.value > 0 ? `(NOT attribute_type(${a}, ${x.value("N")}) OR ${compare})` : `(${compare})`;
    }
    case "and":
    case "or": {
      if (c.conditions.length === 0) {
        // An empty "and" always holds, an empty "or" never does.
        const pk = x.name("pk");
        return c.op === "and" ? `(attribute_exists(${pk}) OR attribute_not_exists(${pk}))` : `(attribute_exists(${pk}) AND attribute_not_exists(${pk}))`;
      }
      return `(${c.conditions.map((sub) => buildCondition(sub, x)).join(c.op === "and" ? " AND " : " OR ")})`;
    }
  }
}

/** The update as an UpdateExpression (undefined when it changes nothing). */
function buildUpdate(u: Update, x: Expr): string | undefined {
  const touched = new Set<string>();
  const touch = (attr: string): void => {
    if (attr === "pk" || attr === "sk") throw new StoreError("an update cannot change pk or sk");
    // DynamoDB rejects overlapping paths in one expression; the port never needs them.
    if (touched.has(attr)) throw new StoreError(`an update touches attribute ${JSON.stringify(attr)} more than once`);
    touched.add(attr);
  };
  const sets: string[] = [];
  const adds: string[] = [];
  const removes: string[] = [];
  for (const [k, v] of Object.entries(u.setIfMissing ?? {})) {
    touch(k);
    const a = x.name(k);
    sets.push(`${a} = if_not_exists(${a}, ${x.value(clean(v))})`);
  }
  for (const [k, v] of Object.entries(u.set ?? {})) {
    touch(k);
    sets.push(`${x.name(k)} = ${x.value(clean(v))}`);
  }
  for (const [k, n] of Object.entries(u.add ?? {})) {
    touch(k);
    adds.push(`${x.name(k)} ${x.value(n)}`);
  }
  for (const [k, members] of Object.entries(u.addToSet ?? {})) {
    touch(k);
    // DynamoDB has no empty sets: adding nothing is a no-op.
    if (members.length > 0) adds.push(`${x.name(k)} ${x.value(new Set(members))}`);
  }
  for (const k of u.remove ?? []) {
    touch(k);
    removes.push(x.name(k));
  }
  const parts: string[] = [];
  if (sets.length > 0) parts.push(`SET ${sets.join(", ")}`);
  if (adds.length > 0) parts.push(`ADD ${adds.join(", ")}`);
  if (removes.length > 0) parts.push(`REMOVE ${removes.join(", ")}`);
  return parts.length > 0 ? parts.join(" ") : undefined;
}

function keyString(k: ItemKey): string {
  return JSON.stringify([k.pk, k.sk]);
}

/** A plain-JSON copy without undefined object members (DynamoDB has no undefined). */
function clean<T>(v: T): T {
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((e) => (e === undefined ? null : clean(e))) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) if (e !== undefined) out[k] = clean(e);
    return out as T;
  }
  return v;
}

/** What the document client returns, as plain JSON: sets become sorted arrays. */
function fromDynamo(raw: Record<string, unknown>): Item {
  return plain(raw) as Item;
}

function plain(v: unknown): AttrValue {
  if (v instanceof Uint8Array) return v;
  if (v instanceof Set) return [...(v as Set<unknown>)].map((e) => plain(e)).sort() as AttrValue;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    const out: Record<string, AttrValue> = {};
    for (const [k, e] of Object.entries(v)) out[k] = plain(e);
    return out;
  }
  return v as AttrValue;
}

function errorName(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : undefined;
}

export function isRetryable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name !== undefined && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code !== undefined && RETRYABLE_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

function storeError(what: string, err: unknown): StoreError {
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new StoreError(`DynamoDB ${what} failed: ${detail}`, { cause: err });
}
