/**
 * What ingest hands to detection: accepted events with their time and identity, and rejected
 * events with a reason code and their original text, for the rejected-events queue. Nothing is
 * dropped silently: every record of a message ends up in exactly one of the two lists.
 */
export type RejectReason =
  | "invalid_json"
  | "not_an_object"
  | "record_too_large"
  | "truncated_input"
  | "missing_timestamp"
  | "invalid_timestamp"
  | "timestamp_in_future"
  | "invalid_envelope"
  | "s3_object_missing"
  | "s3_object_too_large"
  /** Objects or arrays nested deeper than the configured limit (default 64). */
  | "nesting_too_deep"
  /** An S3 object that starts as gzip but fails to decompress (corrupt or truncated). */
  | "invalid_gzip"
  /** Too many rejections in one body or object: the rest of it was not read. */
  | "too_many_rejections";

/** Where a record came from, for the rejected-events queue and for reporting failures. */
export interface Origin {
  /** SQS message id (or a synthetic id such as `line-123` for files). */
  readonly messageId: string;
  /** 1-based line of the record within its body or object, when known. */
  readonly line?: number;
  /** The S3 object the record was read from. */
  readonly object?: { readonly bucket: string; readonly key: string };
}

export interface AcceptedEvent {
  readonly event: Record<string, unknown>;
  /** Event time, nanoseconds since the epoch. */
  readonly ts: bigint;
  /** `event.id`, else a hash of the canonical event (lib/eql eventIdentity). */
  readonly id: string;
  readonly origin: Origin;
}

export interface RejectedEvent {
  readonly reason: RejectReason;
  /** A specific, human-readable explanation. */
  readonly message: string;
  /** The original text, truncated if huge. */
  readonly text: string;
  readonly origin: Origin;
}
