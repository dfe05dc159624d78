/**
 * The delivery store contract (triage results, delivery marks, the digest) against both ItemStore
 * adapters: the in-memory store and DynamoDB Local (a real DynamoDB API: conditions, transactions).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { MemoryItemStore } from "../lib/store/memory.js";
import { deliveryStoreContract } from "./helpers/delivery-store-contract.js";
import { startDynamoLocal, testDynamoClient, type TestDynamo } from "./helpers/dynamodb-local.js";

deliveryStoreContract("memory", () => new MemoryItemStore());

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

deliveryStoreContract("dynamodb", async () => {
  const tableName = `deliver-${++tables}`;
  await createStateTable(client, tableName);
  return new DynamoDbItemStore({ client, tableName });
});
