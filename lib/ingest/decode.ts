import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { S3ReadError } from "./errors.js";
import { readEvents, type ReadItem } from "./event-stream.js";
import type { ObjectReader } from "./s3.js";
import { clipText, rejectedText, sqsSafeText } from "./text.js";
import type { AcceptedEvent, Origin, RejectReason, RejectedEvent } from "./types.js";
import {
  DEFAULT_KEEP_CHARS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_FUTURE_SKEW_MS, DEFAULT_TIMESTAMP_FIELD, eventValidator, isRejected,
  type EventValidator,
} from "./validate.js";

/**
 * Decoding of one SQS message body from a log-forwarding pipeline into accepted and rejected
 * events. A body is one of:
 * - an SNS notification envelope (`Type: "Notification"`, `TopicArn`, `Message`): its Message is
 *   decoded as a body in turn, one level deep;
 * - an S3 event notification (`Records[].eventSource == "aws:s3"`): each object is read from S3
 *   as NDJSON or a JSON array, plain or gzip (decided by the magic bytes), streamed; the
 *   `s3:TestEvent` S3 sends when a notification is configured yields nothing;
 * - a JSON array of events, NDJSON, or one JSON event (pretty-printed over several lines or not).
 *
 * Any other JSON object is an event. Every record ends up accepted or rejected with a reason
 * code; the only failure is an S3 read that may succeed on retry, which fails the whole message
 * (`transient: true`) so that SQS redelivers it. Reprocessing is safe: duplicates are idempotent
 * downstream (event identity), and decoding is deterministic given the clock.
 *
 * Size caps on S3 objects (decoded bytes, and stored bytes before download):
 * - an object whose size (from the notification or Content-Length) is over the cap yields one
 *   `s3_object_too_large` rejection and nothing else; it is not downloaded;
 * - a gzip object found over the cap while decompressing keeps the events read so far and yields
 *   one `s3_object_too_large` rejection for the rest: processing is idempotent, so redriving the
 *   object later with a larger cap only adds what was missed.
 * The same holds for a corrupt or truncated gzip object (`invalid_gzip`) and for a body or object
 * with more than `maxRejections` bad records (`too_many_rejections`, the rest is not read: a
 * binary or hostile object must not become millions of rejected-queue messages). An object in
 * which no record parses at all (binary, one pretty-printed document) is one `invalid_json`
 * rejection for the object. Object-level rejections carry as text a one-record S3 notification
 * that can be sent to the events queue as is.
 */

export interface IngestOptions {
  /** How far ahead of the clock an event may be stamped. @default 300000 (5 minutes) */
  readonly maxFutureSkewMs?: number;
  /** Field holding the event time. @default "@timestamp" */
  readonly timestampField?: string;
  /** Deepest nesting of objects and arrays in an event. @default 64 */
  readonly maxDepth?: number;
  /** Largest record (one line, array element or single-event body), in characters. @default 16 MiB */
  readonly maxRecordChars?: number;
  /** How much of a rejected record's text is kept. @default 8192 */
  readonly keepChars?: number;
  /** Largest S3 object, in decoded (decompressed) bytes. @default 256 MiB */
  readonly maxObjectBytes?: number;
  /** Largest S3 object as stored (compressed or not), checked before download. @default 256 MiB */
  readonly maxStoredObjectBytes?: number;
  /** Rejections from one body or object before the rest of it is given up. @default 1000 */
  readonly maxRejections?: number;
}

export type ResolvedIngestOptions = Required<IngestOptions>;

/** The options with every default filled in. */
export function ingestDefaults(options: IngestOptions = {}): ResolvedIngestOptions {
  return {
    maxFutureSkewMs: options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS,
    timestampField: options.timestampField ?? DEFAULT_TIMESTAMP_FIELD,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxRecordChars: options.maxRecordChars ?? 16 * 1024 * 1024,
    keepChars: options.keepChars ?? DEFAULT_KEEP_CHARS,
    maxObjectBytes: options.maxObjectBytes ?? 256 * 1024 * 1024,
    maxStoredObjectBytes: options.maxStoredObjectBytes ?? 256 * 1024 * 1024,
    maxRejections: options.maxRejections ?? 1000,
  };
}

export interface DecodeDeps {
  /** Reads objects named by S3 notifications. Without it, an S3 notification fails transiently. */
  readonly s3?: ObjectReader;
  /** The wall clock, epoch milliseconds, for the future-skew check. */
  readonly nowMs: number;
  readonly options?: IngestOptions;
}

export type DecodeResult =
  | { readonly messageId: string; readonly accepted: AcceptedEvent[]; readonly rejected: RejectedEvent[] }
  | { readonly messageId: string; readonly failure: Error; readonly transient: true };

/** SNS envelopes unwrapped inside each other at most this deep (S3 -> SNS -> SQS needs one). */
const MAX_SNS_DEPTH = 1;

const SNS_TYPES = new Set(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]);

/** Decodes one SQS message body. Never throws: S3 trouble comes back as a transient failure. */
export async function decodeMessage(body: string, messageId: string, deps: DecodeDeps): Promise<DecodeResult> {
  const options = ingestDefaults(deps.options);
  const unit = new Unit({
    messageId, options, s3: deps.s3,
    validate: eventValidator({
      nowMs: deps.nowMs, maxFutureSkewMs: options.maxFutureSkewMs, timestampField: options.timestampField,
      maxDepth: options.maxDepth, keepChars: options.keepChars,
    }),
  });
  try {
    await unit.body(body, 0);
  } catch (err) {
    // S3ReadError, or a bug: either way the message is retried (and lands in the DLQ if it keeps
    // failing), never half-processed.
    return { messageId, failure: err instanceof Error ? err : new Error(String(err)), transient: true };
  }
  return { messageId, accepted: unit.accepted, rejected: unit.rejected };
}

interface UnitConfig {
  readonly messageId: string;
  readonly options: ResolvedIngestOptions;
  readonly s3: ObjectReader | undefined;
  readonly validate: EventValidator;
}

type S3Target = { readonly bucket: string; readonly key: string; readonly versionId?: string; readonly size?: number };

/** The results of one message. */
class Unit {
  readonly accepted: AcceptedEvent[] = [];
  readonly rejected: RejectedEvent[] = [];

  constructor(private readonly cfg: UnitConfig) {}

  private reject(reason: RejectReason, message: string, text: string, origin: Origin): void {
    this.rejected.push({ reason, message: sqsSafeText(message), text: rejectedText(text, this.cfg.options.keepChars), origin });
  }

  private get origin(): Origin {
    return { messageId: this.cfg.messageId };
  }

  async body(text: string, snsDepth: number): Promise<void> {
    const t = text.replace(/^[\s\uFEFF]+/, "");
    if (t.length === 0) {
      this.reject("invalid_json", "message body is empty", text, this.origin);
      return;
    }
    let wholeError: string | undefined;
    if (t.charCodeAt(0) === 123 /* { */ && t.length <= this.cfg.options.maxRecordChars) {
      // One event, possibly pretty-printed over several lines, or an envelope. NDJSON of one
      // record parses here too; NDJSON of several fails and is read line by line below.
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch (err) {
        wholeError = (err as Error).message;
      }
      if (wholeError === undefined) {
        await this.value(value as Record<string, unknown>, t, snsDepth);
        return;
      }
    }
    // The body is one string already: a one-chunk generator, not a Readable (a Readable costs
    // ~15 µs a message against ~1 µs, and 3-5 ms the first time, in a cold start).
    const read = await this.read(oneChunk(t), this.origin, t);
    if (read.stop !== undefined && !(read.stop instanceof TooManyRejections)) throw read.stop;
    if (wholeError !== undefined && read.parsed === 0 && read.rejected.length > 1) {
      // No line of it is JSON on its own: one broken pretty-printed event, not NDJSON. One
      // rejection with the whole text instead of one per line fragment.
      this.reject("invalid_json", wholeError, t, { messageId: this.cfg.messageId, line: 1 });
    } else {
      this.rejected.push(...read.rejected);
    }
    this.accepted.push(...read.accepted);
  }

  /** A body that parsed as one JSON object: an envelope or an event. */
  private async value(v: Record<string, unknown>, text: string, snsDepth: number): Promise<void> {
    if (typeof v.Type === "string" && SNS_TYPES.has(v.Type) && (Object.hasOwn(v, "TopicArn") || Object.hasOwn(v, "Message"))) {
      await this.sns(v, text, snsDepth);
      return;
    }
    if (v.Event === "s3:TestEvent" && v.Service === "Amazon S3") return; // sent once when a notification is configured
    const records = v.Records;
    if (Array.isArray(records) && records.some((r) => isObject(r) && r.eventSource === "aws:s3")) {
      for (let i = 0; i < records.length; i++) await this.s3Record(records[i], i, text);
      return;
    }
    const result = this.cfg.validate(v, { messageId: this.cfg.messageId, line: 1 }, text);
    if (isRejected(result)) this.rejected.push(result);
    else this.accepted.push(result);
  }

  private async sns(v: Record<string, unknown>, text: string, snsDepth: number): Promise<void> {
    if (typeof v.TopicArn !== "string") {
      this.reject("invalid_envelope", "SNS envelope without a TopicArn string", text, this.origin);
    } else if (v.Type !== "Notification") {
      // A subscription (un)confirmation: an operator must act on it, so it is reported, not skipped.
      this.reject("invalid_envelope", `SNS ${String(v.Type)} message for ${v.TopicArn}, not a notification`, text, this.origin);
    } else if (typeof v.Message !== "string") {
      this.reject("invalid_envelope", "SNS notification without a Message string", text, this.origin);
    } else if (snsDepth >= MAX_SNS_DEPTH) {
      this.reject("invalid_envelope", `SNS notification nested more than ${MAX_SNS_DEPTH} level deep`, text, this.origin);
    } else {
      await this.body(v.Message, snsDepth + 1);
    }
  }

  /** One record of an S3 event notification. `text` is the whole notification. */
  private async s3Record(rec: unknown, index: number, text: string): Promise<void> {
    const path = `Records[${index}]`;
    if (!isObject(rec) || rec.eventSource !== "aws:s3") {
      const found = isObject(rec) ? `eventSource ${JSON.stringify(rec.eventSource) ?? "missing"}` : "not an object";
      this.reject("invalid_envelope", `${path} of an S3 notification is ${found}`, safeStringify(rec) ?? text, this.origin);
      return;
    }
    const recText = safeStringify({ Records: [rec] }) ?? text;
    const s3 = isObject(rec.s3) ? rec.s3 : undefined;
    const bucket = s3 && isObject(s3.bucket) ? s3.bucket.name : undefined;
    const object = s3 && isObject(s3.object) ? s3.object : undefined;
    const rawKey = object?.key;
    if (typeof bucket !== "string" || bucket.length === 0) {
      this.reject("invalid_envelope", `${path}.s3.bucket.name is missing`, recText, this.origin);
      return;
    }
    if (typeof rawKey !== "string" || rawKey.length === 0) {
      this.reject("invalid_envelope", `${path}.s3.object.key is missing`, recText, this.origin);
      return;
    }
    let key: string;
    try {
      // Keys arrive URL-encoded, with + for a space (a literal + is %2B).
      key = decodeURIComponent(rawKey.replace(/\+/g, " "));
    } catch {
      this.reject("invalid_envelope", `${path}.s3.object.key is not URL-encoded: ${clipText(rawKey, 200)}`, recText, this.origin);
      return;
    }
    const origin: Origin = { messageId: this.cfg.messageId, object: { bucket, key } };
    const eventName = typeof rec.eventName === "string" ? rec.eventName : "";
    if (/^(ObjectRemoved|LifecycleExpiration):/.test(eventName)) {
      this.reject("invalid_envelope", `${path} is ${eventName} for s3://${bucket}/${key}: no object to read`, recText, origin);
      return;
    }
    const target: S3Target = {
      bucket, key,
      ...(typeof object?.versionId === "string" && object.versionId.length > 0 ? { versionId: object.versionId } : {}),
      ...(typeof object?.size === "number" ? { size: object.size } : {}),
    };
    await this.s3Object(target, origin, recText);
  }

  private async s3Object(target: S3Target, origin: Origin, recText: string): Promise<void> {
    const { bucket, key } = target;
    const where = `s3://${bucket}/${key}`;
    const opts = this.cfg.options;
    const precheck = Math.min(opts.maxStoredObjectBytes, opts.maxObjectBytes);
    if (target.size !== undefined && target.size > precheck) {
      this.reject("s3_object_too_large", `${where} is ${target.size} bytes, over the cap of ${precheck}; not read`, recText, origin);
      return;
    }
    if (!this.cfg.s3) throw new S3ReadError(`no S3 reader configured to read ${where}`, target);
    let opened;
    try {
      opened = await this.cfg.s3.open(bucket, key, target.versionId ? { versionId: target.versionId } : {});
    } catch (err) {
      // Network, throttling, 5xx, and AccessDenied too: access denied is a configuration error
      // (or a missing object without s3:ListBucket), and failing the message keeps it for a
      // retry and then the DLQ, where a fixed policy can redrive it. Nothing is lost.
      throw new S3ReadError(`reading ${where} failed: ${describeError(err)}`, target, { cause: err });
    }
    if (opened === null) {
      this.reject("s3_object_missing", `${where} does not exist (deleted, expired, or wrong bucket)`, recText, origin);
      return;
    }
    if (opened.contentLength !== undefined && opened.contentLength > precheck) {
      await closeBody(opened.body);
      this.reject("s3_object_too_large", `${where} is ${opened.contentLength} bytes, over the cap of ${precheck}; not read`, recText, origin);
      return;
    }
    const read = await this.read(Readable.from(objectBytes(opened.body, opts.maxObjectBytes, target)), origin, recText);
    this.accepted.push(...read.accepted);
    const first = read.rejected[0];
    if (read.parsed === 0 && read.rejected.length > 1 && first !== undefined) {
      // Not one line or element parsed as JSON: a binary file, a single pretty-printed document,
      // or another format. One rejection naming the object (which stays in S3) says more than a
      // pile of fragments.
      const message = `${where} is not NDJSON or a JSON array: no record parsed (line ${first.origin.line}: ${first.message})`;
      this.reject("invalid_json", message, recText, origin);
    } else {
      this.rejected.push(...read.rejected);
    }
    const stop = read.stop;
    if (stop === undefined) return;
    const after = read.lastLine > 0 ? ` after line ${read.lastLine}` : "";
    if (stop instanceof ObjectTooLarge) {
      this.reject("s3_object_too_large", `${where} is over the cap of ${opts.maxObjectBytes} decoded bytes; not read${after}`, recText, origin);
    } else if (isZlibError(stop)) {
      this.reject("invalid_gzip", `${where} is not valid gzip${after}: ${describeError(stop)}`, recText, origin);
    } else if (stop instanceof TooManyRejections) {
      // already reported by read()
    } else {
      throw stop instanceof S3ReadError ? stop : new S3ReadError(`reading ${where} failed: ${describeError(stop)}`, target, { cause: stop });
    }
  }

  /**
   * Reads NDJSON or a JSON array, validating each record. Stops at the rejection cap (reported
   * here) or at an error of the source (returned in `stop`, with what was read before it).
   */
  private async read(source: AsyncIterable<string | Uint8Array>, base: Origin, unitText: string): Promise<ReadResult> {
    const opts = this.cfg.options;
    const out: ReadResult = { accepted: [], rejected: [], parsed: 0, lastLine: 0 };
    try {
      for await (const item of readEvents(source, { maxRecordChars: opts.maxRecordChars, keepChars: opts.keepChars, keepRecordText: true })) {
        out.lastLine = item.line;
        this.item(item, base, out);
        if (out.rejected.length >= opts.maxRejections) {
          out.rejected.push({
            reason: "too_many_rejections",
            message: `${out.rejected.length} records rejected; the rest was not read`,
            text: rejectedText(unitText, opts.keepChars),
            origin: { ...base, line: item.line },
          });
          out.stop = new TooManyRejections();
          break; // ends readEvents and the source: an S3 download is aborted
        }
      }
    } catch (err) {
      out.stop = err;
    }
    return out;
  }

  private item(item: ReadItem, base: Origin, out: ReadResult): void {
    const origin: Origin = { ...base, line: item.line };
    if (!item.ok) {
      out.rejected.push({ reason: item.reason, message: sqsSafeText(item.message), text: sqsSafeText(item.text), origin });
      return;
    }
    out.parsed++;
    const result = this.cfg.validate(item.event, origin, item.text ?? "");
    if (isRejected(result)) out.rejected.push(result);
    else out.accepted.push(result);
  }
}

interface ReadResult {
  accepted: AcceptedEvent[];
  rejected: RejectedEvent[];
  /** Records that parsed as JSON objects, valid or not. */
  parsed: number;
  lastLine: number;
  stop?: unknown;
}

class ObjectTooLarge extends Error {
  override readonly name = "ObjectTooLarge";
}

class TooManyRejections extends Error {
  override readonly name = "TooManyRejections";
}

/**
 * The decoded bytes of an object: gunzipped when it starts with the gzip magic bytes (1f 8b; the
 * Content-Encoding metadata is not trusted over the content), counted against the cap. Errors of
 * the download come out as S3ReadError, errors of decompression as zlib errors, the cap as
 * ObjectTooLarge. Ending early (an error, the cap, the rejection cap) aborts the download.
 */
async function* oneChunk(text: string): AsyncGenerator<string> {
  yield text;
}

async function* objectBytes(body: AsyncIterable<Uint8Array>, maxBytes: number, target: S3Target): AsyncGenerator<Uint8Array> {
  const raw = rawChunks(body, target);
  try {
    const head: Uint8Array[] = [];
    let headLength = 0;
    let ended = false;
    while (headLength < 2) {
      const r = await raw.next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(r.value);
      headLength += r.value.length;
    }
    const gzip = byteAt(head, 0) === 0x1f && byteAt(head, 1) === 0x8b;
    const replay = async function* (): AsyncGenerator<Uint8Array> {
      yield* head;
      if (!ended) yield* raw;
    };
    let total = 0;
    if (!gzip) {
      for await (const chunk of replay()) {
        total += chunk.length;
        if (total > maxBytes) throw new ObjectTooLarge();
        yield chunk;
      }
      return;
    }
    const input = Readable.from(replay());
    const gunzip = createGunzip();
    // Errors reach the loop through gunzip: pipeline destroys every stream with the first error.
    pipeline(input, gunzip, () => {});
    try {
      for await (const chunk of gunzip as AsyncIterable<Uint8Array>) {
        total += chunk.length;
        if (total > maxBytes) throw new ObjectTooLarge();
        yield chunk;
      }
    } finally {
      gunzip.destroy();
      input.destroy();
    }
  } finally {
    // Readable.from reads ahead, so a read of the body may be pending: destroying the HTTP stream
    // settles it now instead of after the next network chunk.
    destroyBody(body);
    await raw.return(undefined);
  }
}

function byteAt(chunks: readonly Uint8Array[], index: number): number | undefined {
  let i = index;
  for (const c of chunks) {
    if (i < c.length) return c[i];
    i -= c.length;
  }
  return undefined;
}

/** The stored bytes, with download errors wrapped; returning early releases the connection. */
async function* rawChunks(body: AsyncIterable<Uint8Array>, target: S3Target): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (err) {
        done = true;
        throw new S3ReadError(`reading s3://${target.bucket}/${target.key} failed: ${describeError(err)}`, target, { cause: err });
      }
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) await it.return?.().catch(() => undefined);
  }
}

/** Destroys a Node stream body at once (its async iterator's return waits for a pending read). */
function destroyBody(body: AsyncIterable<Uint8Array>): void {
  const destroy = (body as { destroy?: unknown }).destroy;
  if (typeof destroy === "function") destroy.call(body);
}

async function closeBody(body: AsyncIterable<Uint8Array>): Promise<void> {
  destroyBody(body);
  await body[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("Z_");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function safeStringify(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined; // too deep: the caller falls back to the original text
  }
}
