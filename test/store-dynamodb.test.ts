import { DescribeTableCommand, DescribeTimeToLiveCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { StoreError, type Item } from "../lib/store/items.js";
import { startDynamoLocal, testDynamoClient, type TestDynamo } from "./helpers/dynamodb-local.js";
import { storeContract } from "./helpers/store-contract.js";

// Far beyond the real clock: DynamoDB Local deletes items whose TTL has really passed, and
// the expiry cases must not depend on when that happens.
const NOW = 4_000_000_000;
let local: TestDynamo;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  local = await startDynamoLocal();
  client = testDynamoClient(local.endpoint);
  console.log(`DynamoDB Local answered after ${local.startMs} ms`);
});

afterAll(async () => {
  client?.destroy();
  await local?.stop();
});

async function freshStore(retry?: { attempts?: number; baseMs?: number; maxMs?: number }): Promise<DynamoDbItemStore> {
  const tableName = `state-${++tables}`;
  await createStateTable(client, tableName);
  return new DynamoDbItemStore({ client, tableName, retry });
}

storeContract("dynamodb", () => freshStore());

describe("DynamoDbItemStore", () => {
  it("pages a query past 1 MB and keeps the order", async () => {
    const tableName = `state-${++tables}`;
    await createStateTable(client, tableName);
    const doc = DynamoDBDocumentClient.from(client);
    const realSend = doc.send.bind(doc) as (cmd: unknown) => Promise<unknown>;
    let queries = 0;
    (doc as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
      if (cmd instanceof QueryCommand) queries++;
      return realSend(cmd);
    };
    const s = new DynamoDbItemStore({ client: doc, tableName });
    const pad = "x".repeat(5_000);
    const items: Item[] = Array.from({ length: 300 }, (_, i) => ({ pk: "big", sk: String(i).padStart(4, "0"), pad, i }));
    expect(await s.batchPut(items)).toEqual({ unprocessed: [] });
    const got = await s.query("big", {}, { nowSec: NOW });
    expect(got.map((x) => x.i)).toEqual(items.map((x) => x.i));
    expect(queries).toBeGreaterThan(1); // 1.5 MB takes more than one page
    const desc = await s.query("big", { from: "0010", to: "0290" }, { nowSec: NOW, descending: true });
    expect(desc.length).toBe(281);
    expect(desc[0]?.sk).toBe("0290");
    expect(desc.at(-1)?.sk).toBe("0010");
    const limited = await s.query("big", {}, { nowSec: NOW, limit: 250 });
    expect(limited.length).toBe(250);
  });

  it("counts only unexpired items toward the limit", async () => {
    const s = await freshStore();
    await s.batchPut([
      { pk: "l", sk: "1", expiresAt: NOW - 10 }, { pk: "l", sk: "2", expiresAt: NOW - 10 },
      { pk: "l", sk: "3" }, { pk: "l", sk: "4", expiresAt: NOW + 10 }, { pk: "l", sk: "5" },
    ]);
    expect((await s.query("l", {}, { nowSec: NOW, limit: 2 })).map((x) => x.sk)).toEqual(["3", "4"]);
    expect((await s.query("l", {}, { nowSec: NOW, limit: 1, descending: true })).map((x) => x.sk)).toEqual(["5"]);
  });

  it("writes 120 items with duplicate keys, last one wins", async () => {
    const s = await freshStore();
    const items: Item[] = Array.from({ length: 120 }, (_, i) => ({ pk: "dup", sk: String(i % 50).padStart(2, "0"), i }));
    expect(await s.batchPut(items)).toEqual({ unprocessed: [] });
    const got = await s.query("dup", {}, { nowSec: NOW });
    expect(got.length).toBe(50);
    expect(got.map((x) => x.i)).toEqual(Array.from({ length: 50 }, (_, k) => (k < 20 ? 100 + k : 50 + k)));
  });

  it("reads string sets back as sorted arrays, equal to the memory store's items", async () => {
    const s = await freshStore();
    const r = await s.update({ pk: "s", sk: "1" }, { addToSet: { ids: ["b", "c", "a"] }, set: { list: ["z", "y"], m: { n: null, t: true } } });
    expect(r).toEqual({ ok: true, item: { pk: "s", sk: "1", ids: ["a", "b", "c"], list: ["z", "y"], m: { n: null, t: true } } });
    expect(await s.get({ pk: "s", sk: "1" }, { nowSec: NOW })).toEqual({ pk: "s", sk: "1", ids: ["a", "b", "c"], list: ["z", "y"], m: { n: null, t: true } });
  });

  it("keeps caller-chosen attribute names out of expression text", async () => {
    const s = await freshStore();
    const odd = "a) OR attribute_exists(pk";
    expect(await s.update({ pk: "n", sk: "1" }, { set: { [odd]: 1, "x.y": 2, "#z": 3, ":v0": 4 } }, { op: "less_than", attr: odd, value: 5 })).toMatchObject({ ok: true });
    expect(await s.get({ pk: "n", sk: "1" }, { nowSec: NOW })).toEqual({ pk: "n", sk: "1", [odd]: 1, "x.y": 2, "#z": 3, ":v0": 4 });
    expect(await s.update({ pk: "n", sk: "1" }, { add: { [odd]: 1 } }, { op: "equals", attr: "x.y", value: 3 })).toEqual({ ok: false });
  });

  it("rejects oversized transactions, one item twice, and updates of the key", async () => {
    const s = await freshStore();
    const ops = Array.from({ length: 101 }, (_, i) => ({ kind: "put" as const, item: { pk: "p", sk: String(i) } }));
    await expect(s.transact(ops)).rejects.toThrow(/at most 100/);
    await expect(s.transact([{ kind: "put", item: { pk: "p", sk: "1" } }, { kind: "check", key: { pk: "p", sk: "1" }, condition: { op: "exists" } }])).rejects.toThrow(/twice/);
    await expect(s.update({ pk: "p", sk: "1" }, { set: { pk: "other" } })).rejects.toThrow(/cannot change pk/);
    await expect(s.update({ pk: "p", sk: "1" }, { remove: ["sk"] })).rejects.toThrow(/cannot change pk/);
  });

  it("runs a 100-operation transaction and reports several failed conditions", async () => {
    const s = await freshStore();
    await s.batchPut([{ pk: "tx", sk: "005" }, { pk: "tx", sk: "050" }]);
    const ops = Array.from({ length: 100 }, (_, i) => ({ kind: "put" as const, item: { pk: "tx", sk: String(i).padStart(3, "0"), i }, condition: { op: "not_exists" as const } }));
    expect(await s.transact(ops)).toEqual({ ok: false, failed: [5, 50] });
    expect((await s.query("tx", {}, { nowSec: NOW })).length).toBe(2);
  });

  it("creates the table with TTL on expiresAt and a NEW_AND_OLD_IMAGES stream", async () => {
    await createStateTable(client, "schema-check");
    await createStateTable(client, "schema-check"); // again: accepted
    const { Table } = await client.send(new DescribeTableCommand({ TableName: "schema-check" }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual([{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" });
    expect(Table?.LatestStreamArn).toBeTruthy();
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: "schema-check" }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: "expiresAt", TimeToLiveStatus: "ENABLED" });
  });

  it("retries throttling and unprocessed items", async () => {
    const tableName = `state-${++tables}`;
    await createStateTable(client, tableName);
    const doc = DynamoDBDocumentClient.from(client);
    const realSend = doc.send.bind(doc) as (cmd: unknown) => Promise<unknown>;
    let calls = 0;
    // The first call is throttled, the second leaves all but one item unprocessed.
    (doc as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
      calls++;
      if (calls === 1) throw Object.assign(new Error("slow down"), { name: "ProvisionedThroughputExceededException", $metadata: { httpStatusCode: 400 } });
      const out = (await realSend(cmd)) as { UnprocessedItems?: Record<string, unknown[]> };
      const input = (cmd as { input: { RequestItems?: Record<string, unknown[]> } }).input;
      if (calls === 2 && input.RequestItems) {
        const requests = input.RequestItems[tableName]!;
        return { ...out, UnprocessedItems: { [tableName]: requests.slice(1) } };
      }
      return out;
    };
    const s = new DynamoDbItemStore({ client: doc, tableName, retry: { attempts: 5, baseMs: 1, maxMs: 5 } });
    const items: Item[] = Array.from({ length: 10 }, (_, i) => ({ pk: "r", sk: String(i) }));
    expect(await s.batchPut(items)).toEqual({ unprocessed: [] });
    expect(calls).toBe(3);
    expect((await s.query("r", {}, { nowSec: NOW })).length).toBe(10);
  });

  it("a store it cannot reach: batchPut returns every key, reads throw StoreError", async () => {
    const dead = testDynamoClient("http://127.0.0.1:9", { maxAttempts: 1 });
    try {
      const s = new DynamoDbItemStore({ client: dead, tableName: "state-x", retry: { attempts: 2, baseMs: 1, maxMs: 2 } });
      const items: Item[] = Array.from({ length: 30 }, (_, i) => ({ pk: "z", sk: String(i) }));
      const r = await s.batchPut([...items, items[0]!]);
      expect(r.unprocessed.length).toBe(30);
      expect(new Set(r.unprocessed.map((k) => k.sk))).toEqual(new Set(items.map((k) => k.sk)));
      await expect(s.get({ pk: "z", sk: "1" }, { nowSec: NOW })).rejects.toBeInstanceOf(StoreError);
      await expect(s.query("z", {}, { nowSec: NOW })).rejects.toBeInstanceOf(StoreError);
      await expect(s.update({ pk: "z", sk: "1" }, { set: { a: 1 } })).rejects.toBeInstanceOf(StoreError);
      await expect(s.transact([{ kind: "put", item: { pk: "z", sk: "1" } }])).rejects.toBeInstanceOf(StoreError);
      const err = await s.get({ pk: "z", sk: "1" }, { nowSec: NOW }).catch((e: unknown) => e);
      expect((err as StoreError).cause).toBeDefined();
    } finally {
      dead.destroy();
    }
  });

  it("a missing table is a StoreError, not a failed condition", async () => {
    const s = new DynamoDbItemStore({ client, tableName: "no-such-table" });
    await expect(s.update({ pk: "a", sk: "b" }, { set: { a: 1 } }, { op: "not_exists" })).rejects.toBeInstanceOf(StoreError);
    await expect(s.transact([{ kind: "put", item: { pk: "a", sk: "b" }, condition: { op: "not_exists" } }])).rejects.toBeInstanceOf(StoreError);
    expect((await s.batchPut([{ pk: "a", sk: "b" }])).unprocessed).toEqual([{ pk: "a", sk: "b" }]);
  });
});
