import { SendMessageBatchCommand, type MessageAttributeValue, type SQSClient } from "@aws-sdk/client-sqs";
import type { RejectedEvent } from "./types.js";

/**
 * Sends rejected events to the rejected-events queue: the body is the record's original text (so
 * that a fixed record, or an object-level S3 rejection, can be sent back to the events queue as
 * is), the reason code and the origin ride along as message attributes.
 *
 * Nothing is dropped silently: an entry SQS refuses, after retries of the retryable ones, comes
 * back in `failed`, and the caller reports its SQS message as a batch item failure so that the
 * whole message is redelivered (its accepted events are idempotent downstream).
 */

export interface RejectedSendResult {
  readonly sent: number;
  /** Rejections that could not be sent, with the reason SQS gave. */
  readonly failed: readonly { readonly rejected: RejectedEvent; readonly error: string }[];
}

export interface RejectedSender {
  send(rejected: readonly RejectedEvent[]): Promise<RejectedSendResult>;
}

/** SQS allows 10 entries and 256 KiB per SendMessageBatch. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;
/** Room for attributes and request overhead under the 256 KiB message limit. */
const MAX_BODY_BYTES = 200 * 1024;
const ATTEMPTS = 4;

export interface RejectedQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Waits between retries of retryable entries; injected so that tests need not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export function rejectedQueueSender(options: RejectedQueueOptions): RejectedSender {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async send(rejected) {
      let sent = 0;
      const failed: { rejected: RejectedEvent; error: string }[] = [];
      for (const chunk of chunks(rejected.map(toEntry))) {
        let pending = chunk;
        for (let attempt = 1; pending.length > 0; attempt++) {
          let result;
          try {
            result = await options.client.send(new SendMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: pending.map((e) => ({ Id: e.id, MessageBody: e.body, MessageAttributes: e.attributes })),
            }));
          } catch (err) {
            if (attempt < ATTEMPTS) {
              await sleep(backoff(attempt));
              continue;
            }
            for (const e of pending) failed.push({ rejected: e.rejected, error: errorText(err) });
            break;
          }
          sent += result.Successful?.length ?? 0;
          const retry: Entry[] = [];
          for (const f of result.Failed ?? []) {
            const entry = pending.find((e) => e.id === f.Id);
            if (!entry) continue;
            // SenderFault entries (bad body, too large) fail the same way every time.
            if (!f.SenderFault && attempt < ATTEMPTS) retry.push(entry);
            else failed.push({ rejected: entry.rejected, error: `${f.Code ?? "error"}: ${f.Message ?? "SQS refused the message"}` });
          }
          pending = retry;
          if (pending.length > 0) await sleep(backoff(attempt));
        }
      }
      return { sent, failed };
    },
  };
}

interface Entry {
  readonly id: string;
  readonly body: string;
  readonly bytes: number;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly rejected: RejectedEvent;
}

function toEntry(r: RejectedEvent, i: number): Entry {
  // Ingest already clips and SQS-sanitises the text; the byte cap guards the queue limit anyway.
  let body = r.text.length > 0 ? r.text : "(empty record)";
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) body = body.slice(0, MAX_BODY_BYTES / 4) + "...[cut]";
  const attributes: Record<string, MessageAttributeValue> = {
    reason: { DataType: "String", StringValue: r.reason },
    message: { DataType: "String", StringValue: r.message.slice(0, 1024) || r.reason },
    sourceMessageId: { DataType: "String", StringValue: r.origin.messageId },
  };
  if (r.origin.line !== undefined) attributes.line = { DataType: "Number", StringValue: String(r.origin.line) };
  if (r.origin.object) {
    attributes.s3Bucket = { DataType: "String", StringValue: r.origin.object.bucket };
    attributes.s3Key = { DataType: "String", StringValue: r.origin.object.key.slice(0, 1024) };
  }
  const bytes = Buffer.byteLength(body) + Object.entries(attributes).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v.StringValue ?? "") + 16, 0);
  return { id: String(i), body, bytes, attributes, rejected: r };
}

function* chunks(entries: readonly Entry[]): Generator<Entry[]> {
  let chunk: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (chunk.length === MAX_ENTRIES || (chunk.length > 0 && bytes + e.bytes > MAX_BATCH_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += e.bytes;
  }
  if (chunk.length > 0) yield chunk;
}

function backoff(attempt: number): number {
  return Math.random() * Math.min(1000, 50 * 2 ** attempt);
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
