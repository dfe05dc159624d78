export type { AcceptedEvent, Origin, RejectReason, RejectedEvent } from "./types.js";
export {
  decodeMessage, ingestDefaults, type DecodeDeps, type DecodeResult, type IngestOptions, type ResolvedIngestOptions,
} from "./decode.js";
export {
  validateEvent, eventValidator, isRejected, DEFAULT_KEEP_CHARS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_FUTURE_SKEW_MS, DEFAULT_TIMESTAMP_FIELD,
  type EventValidator, type ValidateOptions,
} from "./validate.js";
export { s3ObjectReader, s3ClientFromEnv, type ObjectReader, type OpenedObject } from "./s3.js";
export { S3ReadError } from "./errors.js";
export { readEvents, type ReadItem, type ReadOptions } from "./event-stream.js";
export { sqsSafeText, clipText, toWellFormed } from "./text.js";
