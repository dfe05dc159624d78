import { decodeMessage, type IngestOptions } from "../ingest/decode.js";
import type { RejectedSender } from "../ingest/rejected-queue.js";
import type { ObjectReader } from "../ingest/s3.js";
import type { AcceptedEvent, RejectReason, RejectedEvent } from "../ingest/types.js";
import { detectBatch, type BatchOutcome, type DetectContext } from "./engine.js";

/**
 * One SQS batch of the events queue, processed as one unit (DESIGN.md "Streaming sequences"):
 * every message is decoded, the rejected records go to the rejected-events queue, and all
 * accepted events of the batch go through the detector together, so that partners in the same
 * batch find each other and each partition is read once.
 *
 * Which messages are reported failed (SQS redelivers exactly those):
 * - a message whose decoding failed transiently (an S3 read);
 * - every message that contributed an event to a partition whose state could not be written or
 *   read (a DynamoDB failure), and nothing else;
 * - a message with a rejected record that could not be sent to the rejected-events queue.
 * A redelivered message is processed again as a whole; that is safe because event identity,
 * deterministic alert ids and claims make the detector idempotent. Its rejected records are sent
 * again (the rejected-events queue is at-least-once).
 */

export interface SqsBatchRecord {
  readonly messageId: string;
  readonly body: string;
}

export interface SqsBatchDeps {
  readonly detect: DetectContext;
  readonly rejected: RejectedSender;
  readonly s3?: ObjectReader;
  readonly ingest?: IngestOptions;
  /** Messages decoded at once (S3 notifications stream objects). @default 8 */
  readonly decodeConcurrency?: number;
}

export type MessageFailureCause = "decode" | "partition" | "rejected_send";

export interface MessageFailure {
  readonly messageId: string;
  readonly cause: MessageFailureCause;
  readonly error: string;
}

export interface SqsBatchResult {
  /** The partial batch response: messages SQS must redeliver, in record order. */
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
  /** Why each failed message failed (a message can fail for several reasons). */
  readonly failures: readonly MessageFailure[];
  readonly outcome: BatchOutcome;
  readonly records: number;
  readonly accepted: number;
  readonly rejectedByReason: Readonly<Partial<Record<RejectReason, number>>>;
  /** Per new alert: milliseconds from its last event's time to `nowMs`. */
  readonly alertLagMs: readonly number[];
}

export async function processSqsBatch(deps: SqsBatchDeps, records: readonly SqsBatchRecord[], nowMs: number): Promise<SqsBatchResult> {
  const failures: MessageFailure[] = [];
  const accepted: AcceptedEvent[] = [];
  const rejected: RejectedEvent[] = [];

  const decoded = await mapLimit(records, deps.decodeConcurrency ?? 8, (r) =>
    decodeMessage(r.body, r.messageId, { nowMs, ...(deps.s3 ? { s3: deps.s3 } : {}), ...(deps.ingest ? { options: deps.ingest } : {}) }));
  for (const d of decoded) {
    if ("failure" in d) {
      failures.push({ messageId: d.messageId, cause: "decode", error: d.failure.message });
      continue;
    }
    accepted.push(...d.accepted);
    rejected.push(...d.rejected);
  }

  const rejectedByReason: Partial<Record<RejectReason, number>> = {};
  for (const r of rejected) rejectedByReason[r.reason] = (rejectedByReason[r.reason] ?? 0) + 1;

  // Rejections are sent before detection so that a send failure is known when the response is
  // built; detection of the message's good events still runs (it is idempotent on redelivery).
  if (rejected.length > 0) {
    const sent = await deps.rejected.send(rejected);
    for (const f of sent.failed) failures.push({ messageId: f.rejected.origin.messageId, cause: "rejected_send", error: f.error });
  }

  const outcome = await detectBatch(deps.detect, accepted, nowMs);
  for (const f of outcome.failures) {
    for (const origin of f.origins) failures.push({ messageId: origin.messageId, cause: "partition", error: `${f.partition} (rule ${f.ruleId}): ${f.error}` });
  }

  const failed = new Set(failures.map((f) => f.messageId));
  const batchItemFailures = records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId }));
  const alertLagMs = outcome.alerts.map((a) => Math.max(0, nowMs - Date.parse(a.last_seen)));
  return { batchItemFailures, failures, outcome, records: records.length, accepted: accepted.length, rejectedByReason, alertLagMs };
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}
