/**
 * The production schema of the state table (DESIGN.md "DynamoDB"): on-demand, `pk` (S) HASH +
 * `sk` (S) RANGE, TTL on `expiresAt`, stream NEW_AND_OLD_IMAGES. The stack declares the same
 * table; this function creates it for tests, DynamoDB Local and `triage` tooling.
 */
import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, UpdateTimeToLiveCommand, type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { StoreError } from "./items.js";

export const TTL_ATTRIBUTE = "expiresAt";

/** Creates the table (or accepts an existing one), waits until it is ACTIVE and enables TTL. */
export async function createStateTable(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  options: { readonly timeoutMs?: number } = {},
): Promise<void> {
  // Both clients send the plain commands the same way.
  const c = client as DynamoDBClient;
  try {
    await c.send(new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
    }));
  } catch (err) {
    if ((err as { name?: string }).name !== "ResourceInUseException") throw new StoreError(`CreateTable ${tableName} failed`, { cause: err });
  }
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (let delay = 50; ; delay = Math.min(delay * 2, 2_000)) {
    const { Table } = await c.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") break;
    if (Date.now() > deadline) throw new StoreError(`table ${tableName} is not ACTIVE (${Table?.TableStatus})`);
    await new Promise((r) => setTimeout(r, delay));
  }
  const ttl = await c.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === "ENABLED" || status === "ENABLING") {
    if (ttl.TimeToLiveDescription?.AttributeName !== TTL_ATTRIBUTE) {
      throw new StoreError(`table ${tableName} has TTL on ${ttl.TimeToLiveDescription?.AttributeName}, not ${TTL_ATTRIBUTE}`);
    }
    return;
  }
  await c.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE } }));
}
