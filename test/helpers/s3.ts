/**
 * A real S3 API for tests: s3rver on 127.0.0.1 with a random port and a temporary directory,
 * and an SDK client pointed at it (path-style, s3rver's built-in credentials).
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const require = createRequire(import.meta.url);

export interface TestS3 {
  readonly endpoint: string;
  readonly client: S3Client;
  put(bucket: string, key: string, body: string | Uint8Array, options?: { contentEncoding?: string }): Promise<void>;
  stop(): Promise<void>;
}

/** s3rver accepts requests signed with this key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/**
 * `acceptKeys`: further key pairs s3rver accepts, for code under test that signs with the same
 * credentials as its other local services (DynamoDB Local keeps one database per access key).
 */
export async function startS3(buckets: string[], options: { acceptKeys?: readonly { accessKeyId: string; secretAccessKey: string }[] } = {}): Promise<TestS3> {
  const S3rver = require("s3rver") as S3rverConstructor;
  const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account") as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  for (const k of options.acceptKeys ?? []) DUMMY_ACCOUNT.createKeyPair(k.accessKeyId, k.secretAccessKey);
  const directory = await mkdtemp(path.join(tmpdir(), "s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = testS3Client(endpoint);
  return {
    endpoint,
    client,
    async put(bucket, key, body, options = {}) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentEncoding: options.contentEncoding }));
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export function testS3Client(endpoint: string, extra: ConstructorParameters<typeof S3Client>[0] = {}): S3Client {
  return new S3Client({ endpoint, forcePathStyle: true, region: "us-east-1", credentials: S3RVER_CREDENTIALS, ...extra });
}

/** An S3 event notification for objects, keys URL-encoded as S3 does (+ for a space). */
export function s3Notification(objects: { bucket: string; key: string; size?: number }[]): string {
  return JSON.stringify({
    Records: objects.map((o) => ({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "us-east-1",
      eventTime: "2024-05-01T12:00:00.000Z",
      eventName: "ObjectCreated:Put",
      s3: {
        s3SchemaVersion: "1.0",
        configurationId: "ingest",
        bucket: { name: o.bucket, arn: `arn:aws:s3:::${o.bucket}` },
        object: { key: s3EncodeKey(o.key), ...(o.size !== undefined ? { size: o.size } : {}), sequencer: "0062E99A88DC407460" },
      },
    })),
  });
}

export function s3EncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
}
