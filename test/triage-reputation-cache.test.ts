import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { MemoryItemStore } from "../lib/store/memory.js";
import { reputationCache } from "../lib/store/reputation-cache.js";
import { enrichIps } from "../lib/triage/reputation/enrich.js";
import type { ReputationProvider } from "../lib/triage/reputation/provider.js";
import { startDynamoLocal, testDynamoClient, type TestDynamo } from "./helpers/dynamodb-local.js";
import { reputationCacheContract } from "./helpers/reputation-cache-contract.js";

let local: TestDynamo;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  local = await startDynamoLocal();
  client = testDynamoClient(local.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await local?.stop();
});

reputationCacheContract("memory", () => new MemoryItemStore());

reputationCacheContract("dynamodb", async () => {
  const tableName = `rep-cache-${++tables}`;
  await createStateTable(client, tableName);
  return new DynamoDbItemStore({ client, tableName });
});

describe("enrichment over the DynamoDB cache", () => {
  it("answers the second time from DynamoDB, marked cached", async () => {
    const tableName = `rep-cache-${++tables}`;
    await createStateTable(client, tableName);
    const cache = reputationCache(new DynamoDbItemStore({ client, tableName }));
    let calls = 0;
    const provider: ReputationProvider = {
      name: "counting",
      cacheable: true,
      lookup: async (ip) => {
        calls++;
        return { provider: "counting", status: "found", verdict: "suspicious", score: 60, detail: `seen ${ip}`, reason: null, cached: false };
      },
    };
    const NOW = 4_000_000_000_000; // far beyond the real clock, see the contract
    const first = await enrichIps(["8.8.8.8", "2606:4700::1111", "10.0.0.1"], [provider], cache, { nowMs: NOW });
    const second = await enrichIps(["8.8.8.8", "2606:4700::1111", "10.0.0.1"], [provider], cache, { nowMs: NOW + 60_000 });
    expect(calls).toBe(2);
    expect(first.map((r) => [r.ip, r.verdict, r.evidence[0]?.cached])).toEqual([["8.8.8.8", "suspicious", false], ["2606:4700::1111", "suspicious", false], ["10.0.0.1", "internal", undefined]]);
    expect(second.map((r) => [r.ip, r.verdict, r.score, r.evidence[0]?.cached, r.evidence[0]?.detail])).toEqual([
      ["8.8.8.8", "suspicious", 60, true, "seen 8.8.8.8"], ["2606:4700::1111", "suspicious", 60, true, "seen 2606:4700::1111"], ["10.0.0.1", "internal", 0, undefined, undefined],
    ]);
  });
});
