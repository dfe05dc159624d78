import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

/**
 * Moves messages from a dead-letter queue back to the queue they came from, keeping body and
 * message attributes: a message is deleted from the DLQ only after the send succeeded, so a crash
 * in between duplicates a message (harmless: every consumer is idempotent) and never loses one.
 * (SQS's own StartMessageMoveTask does the same in AWS; this also works against emulators and
 * reports what it moved.)
 */
export async function moveMessages(client: SQSClient, from: string, to: string, options: { readonly max?: number; readonly onProgress?: (moved: number) => void } = {}): Promise<{ readonly moved: number; readonly failed: number }> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  let moved = 0;
  let failed = 0;
  while (moved + failed < max) {
    const got = await client.send(new ReceiveMessageCommand({
      QueueUrl: from, MaxNumberOfMessages: Math.min(10, max - moved - failed), WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageAttributeNames: ["All"],
    }));
    const messages = got.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await client.send(new SendMessageBatchCommand({
      QueueUrl: to,
      Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? "", ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0 ? { MessageAttributes: m.MessageAttributes } : {}) })),
    }));
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = messages.filter((_, i) => ok.has(String(i)));
    failed += messages.length - done.length;
    if (done.length > 0) {
      await client.send(new DeleteMessageBatchCommand({ QueueUrl: from, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
    moved += done.length;
    options.onProgress?.(moved);
    // A batch that could not be sent at all would be received again at once: stop instead.
    if (done.length === 0) break;
  }
  return { moved, failed };
}
