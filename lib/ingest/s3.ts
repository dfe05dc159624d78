import { GetObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

/**
 * The one thing ingest needs from S3: open an object as a byte stream. Tests and other backends
 * implement this interface; `s3ObjectReader` is the AWS one.
 */
export interface ObjectReader {
  /**
   * Opens an object for reading, or returns null when it does not exist (404: no such key or no
   * such bucket). Any other failure (network, throttling, 5xx, access denied) is thrown, so that
   * the caller can retry the message.
   */
  open(bucket: string, key: string, options?: { readonly versionId?: string }): Promise<OpenedObject | null>;
}

export interface OpenedObject {
  /** The stored bytes (not decompressed). Ending iteration early releases the connection. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Stored size in bytes, when the server said. */
  readonly contentLength?: number;
  /** The object's Content-Encoding metadata, e.g. `gzip`; informational, bytes decide. */
  readonly contentEncoding?: string;
}

/** An ObjectReader over GetObject. */
export function s3ObjectReader(client: S3Client): ObjectReader {
  return {
    async open(bucket, key, options = {}) {
      let out;
      try {
        out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: options.versionId }));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
      // In Node the SDK's Body is an http.IncomingMessage (a Readable): async-iterable bytes.
      const body = out.Body as AsyncIterable<Uint8Array> | undefined;
      return {
        body: body ?? emptyBody(),
        ...(out.ContentLength !== undefined ? { contentLength: out.ContentLength } : {}),
        ...(out.ContentEncoding !== undefined ? { contentEncoding: out.ContentEncoding } : {}),
      };
    },
  };
}

/**
 * An S3 client configured from the environment. `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`)
 * points the SDK at an emulator by itself; emulators such as s3rver have no virtual-host
 * buckets, so path-style addressing is switched on whenever an endpoint is set.
 */
export function s3ClientFromEnv(env: Readonly<Record<string, string | undefined>> = process.env, config: S3ClientConfig = {}): S3Client {
  const endpointSet = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  return new S3Client({ ...(endpointSet ? { forcePathStyle: true } : {}), ...config });
}

function isNotFound(err: unknown): boolean {
  if (err === null || typeof err !== "object") return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return e.name === "NoSuchKey" || e.name === "NoSuchBucket" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  // An object without a body is an empty object.
}
