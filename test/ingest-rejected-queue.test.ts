/** The rejected-events sender against local-aws-sqs: batching under SQS limits, attributes, failures. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rejectedQueueSender } from "../lib/ingest/rejected-queue.js";
import type { RejectedEvent } from "../lib/ingest/types.js";
import { startSqs, type TestSqs } from "./helpers/sqs-server.js";

let sqs: TestSqs;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(async () => {
  await sqs?.stop();
});

const rejection = (i: number, text: string): RejectedEvent => ({
  reason: i % 2 === 0 ? "invalid_json" : "missing_timestamp",
  message: `record ${i} is bad`,
  text,
  origin: { messageId: `msg-${i % 3}`, line: i + 1, ...(i === 0 ? { object: { bucket: "logs", key: "a/b.ndjson.gz" } } : {}) },
});

describe("rejected-events queue sender", () => {
  it("sends every rejection (batches of at most 10 entries and 256 KiB) with its reason and origin", async () => {
    const url = await sqs.createQueue("rejected-a");
    const big = "x".repeat(60_000); // five of these exceed one SendMessageBatch's 256 KiB
    const rejected = Array.from({ length: 23 }, (_, i) => rejection(i, i < 6 ? big + i : `{bad ${i}`));
    const result = await rejectedQueueSender({ client: sqs.client, queueUrl: url }).send(rejected);
    expect(result).toEqual({ sent: 23, failed: [] });
    const got = await sqs.drain(url);
    expect(got).toHaveLength(23);
    const byLine = new Map(got.map((m) => [m.MessageAttributes?.line?.StringValue, m]));
    const first = byLine.get("1")!;
    expect(first.Body).toBe(big + "0");
    expect(first.MessageAttributes?.reason?.StringValue).toBe("invalid_json");
    expect(first.MessageAttributes?.sourceMessageId?.StringValue).toBe("msg-0");
    expect(first.MessageAttributes?.s3Bucket?.StringValue).toBe("logs");
    expect(first.MessageAttributes?.s3Key?.StringValue).toBe("a/b.ndjson.gz");
    expect(byLine.get("8")!.Body).toBe("{bad 7");
    expect(byLine.get("8")!.MessageAttributes?.reason?.StringValue).toBe("missing_timestamp");
  });

  it("an empty record still becomes a message", async () => {
    const url = await sqs.createQueue("rejected-b");
    expect(await rejectedQueueSender({ client: sqs.client, queueUrl: url }).send([rejection(0, "")])).toEqual({ sent: 1, failed: [] });
    expect((await sqs.drain(url))[0]!.Body).toBe("(empty record)");
  });

  it("reports every rejection it could not send, with the reason", async () => {
    const result = await rejectedQueueSender({ client: sqs.client, queueUrl: `${sqs.endpoint}/123456789012/no-such-queue`, sleep: async () => {} })
      .send([rejection(0, "a"), rejection(1, "b")]);
    expect(result.sent).toBe(0);
    expect(result.failed.map((f) => f.rejected.origin.line)).toEqual([1, 2]);
    expect(result.failed[0]!.error).toMatch(/QueueDoesNotExist|NonExistentQueue/);
  });
});
