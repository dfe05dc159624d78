/**
 * Errors of lib/ingest. Bad input is never an error: it becomes a RejectedEvent. An error means the
 * input could not be read at all (S3 unreachable, throttled, access denied), so the SQS message
 * must be retried.
 */

/** Reading an S3 object failed for a reason that retrying may fix. `cause` is the SDK error. */
export class S3ReadError extends Error {
  override readonly name = "S3ReadError";
  readonly bucket: string;
  readonly key: string;

  constructor(message: string, where: { bucket: string; key: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.bucket = where.bucket;
    this.key = where.key;
  }
}
