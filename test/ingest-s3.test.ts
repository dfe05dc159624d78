import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeMessage, s3ClientFromEnv, s3ObjectReader, type AcceptedEvent, type IngestOptions, type ObjectReader, type RejectedEvent,
} from "../lib/ingest/index.js";
import { S3RVER_CREDENTIALS, s3Notification, startS3, testS3Client, type TestS3 } from "./helpers/s3.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const BUCKET = "ingest-bucket";
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const TS = "2024-05-01T11:59:00.5Z";

let s3: TestS3;
let reader: ObjectReader;

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  reader = s3ObjectReader(s3.client);
});

afterAll(async () => {
  await s3?.stop();
});

type Decoded = { accepted: AcceptedEvent[]; rejected: RejectedEvent[] };

async function decode(body: string, options: IngestOptions = {}, s3Reader: ObjectReader = reader): Promise<Decoded> {
  const r = await decodeMessage(body, "m-1", { nowMs: NOW, s3: s3Reader, options });
  if ("failure" in r) throw r.failure;
  return r;
}

const events = (n: number, prefix = "e") => Array.from({ length: n }, (_, i) => ({ "@timestamp": TS, event: { id: `${prefix}${i}` }, n: i }));
const ndjson = (evs: object[]) => evs.map((e) => JSON.stringify(e)).join("\n") + "\n";
const ids = (d: Decoded) => d.accepted.map((a) => a.id);

/** Puts an object and returns the notification for it. */
async function put(key: string, body: string | Uint8Array, options: { contentEncoding?: string; size?: boolean } = {}): Promise<string> {
  await s3.put(BUCKET, key, body, options);
  const size = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  return s3Notification([{ bucket: BUCKET, key, ...(options.size === false ? {} : { size }) }]);
}

describe("S3 event notifications against s3rver", () => {
  it("reads a plain NDJSON object", async () => {
    const evs = events(3);
    const d = await decode(await put("plain/a.ndjson", ndjson(evs)));
    expect(d.rejected).toEqual([]);
    expect(d.accepted.map((a) => [a.id, a.event, a.origin])).toEqual(
      evs.map((e, i) => [e.event.id, e, { messageId: "m-1", line: i + 1, object: { bucket: BUCKET, key: "plain/a.ndjson" } }]),
    );
  });

  it("reads gzip NDJSON, with or without Content-Encoding", async () => {
    const evs = events(2000);
    const gz = gzipSync(ndjson(evs));
    for (const [key, contentEncoding] of [["gz/a.ndjson.gz", "gzip"], ["gz/b.ndjson.gz", undefined]] as const) {
      const d = await decode(await put(key, gz, contentEncoding ? { contentEncoding } : {}));
      expect(d.rejected).toEqual([]);
      expect(ids(d)).toEqual(evs.map((e) => e.event.id));
    }
  });

  it("reads a JSON array object, plain and gzip", async () => {
    const evs = events(5);
    const text = JSON.stringify(evs, null, 2);
    for (const [key, body] of [["arr/a.json", text], ["arr/b.json.gz", gzipSync(text)]] as const) {
      const d = await decode(await put(key, body));
      expect(d.rejected).toEqual([]);
      expect(d.accepted.map((a) => a.event)).toEqual(evs);
    }
  });

  it("decodes a URL-encoded key with spaces, a plus and unicode", async () => {
    const key = "logs/2024 05/événement ✓ a+b (1).ndjson";
    const body = await put(key, ndjson(events(1)));
    expect(body).toContain('"key":"logs/2024+05/%C3%A9v%C3%A9nement+%E2%9C%93+a%2Bb+(1).ndjson"');
    const d = await decode(body);
    expect(d.rejected).toEqual([]);
    expect(d.accepted.map((a) => a.origin.object)).toEqual([{ bucket: BUCKET, key }]);
  });

  it("rejects a missing object with s3_object_missing and a notification that can be redriven", async () => {
    const body = s3Notification([{ bucket: BUCKET, key: "no/such key.ndjson", size: 10 }]);
    const d = await decode(body);
    expect(d.accepted).toEqual([]);
    expect(d.rejected.map((r) => [r.reason, r.message, r.origin])).toEqual([[
      "s3_object_missing", `s3://${BUCKET}/no/such key.ndjson does not exist (deleted, expired, or wrong bucket)`,
      { messageId: "m-1", object: { bucket: BUCKET, key: "no/such key.ndjson" } },
    ]]);
    expect(JSON.parse(d.rejected[0]!.text)).toEqual(JSON.parse(body));
  });

  it("rejects an object over the cap by its notified size without opening it", async () => {
    const body = await put("big/notified.ndjson", ndjson(events(100)));
    let opened = 0;
    const counting: ObjectReader = { open: async (b, k, o) => (opened++, reader.open(b, k, o)) };
    const d = await decode(body, { maxObjectBytes: 1000 }, counting);
    expect(opened).toBe(0);
    expect(d.accepted).toEqual([]);
    expect(d.rejected).toHaveLength(1);
    expect(d.rejected[0]!.reason).toBe("s3_object_too_large");
    expect(d.rejected[0]!.message).toMatch(/^s3:\/\/ingest-bucket\/big\/notified\.ndjson is \d+ bytes, over the cap of 1000; not read$/);
  });

  it("rejects an object over the cap by its Content-Length when the notification has no size", async () => {
    const d = await decode(await put("big/unsized.ndjson", ndjson(events(100)), { size: false }), { maxStoredObjectBytes: 1000 });
    expect(d.accepted).toEqual([]);
    expect(d.rejected.map((r) => r.reason)).toEqual(["s3_object_too_large"]);
  });

  it("stops a gzip object that decompresses over the cap, keeping the events before it", async () => {
    const evs = events(20_000);
    const gz = gzipSync(ndjson(evs));
    const d = await decode(await put("big/bomb.ndjson.gz", gz), { maxObjectBytes: 200_000 });
    expect(gz.length).toBeLessThan(200_000);
    expect(d.accepted.length).toBeGreaterThan(1000);
    expect(d.accepted.length).toBeLessThan(evs.length);
    expect(ids(d)).toEqual(evs.slice(0, d.accepted.length).map((e) => e.event.id));
    // One rejection for the rest of the object, and no rejection of a half-read line.
    expect(d.rejected.map((r) => r.reason)).toEqual(["s3_object_too_large"]);
    expect(d.rejected[0]!.message).toBe(
      `s3://${BUCKET}/big/bomb.ndjson.gz is over the cap of 200000 decoded bytes; not read after line ${d.accepted.length}`,
    );
  });

  it("rejects a truncated gzip object with invalid_gzip, keeping what decompressed", async () => {
    const evs = events(20_000);
    const gz = gzipSync(ndjson(evs));
    const d = await decode(await put("bad/truncated.ndjson.gz", gz.subarray(0, Math.floor(gz.length / 2))));
    expect(d.accepted.length).toBeGreaterThan(0);
    expect(ids(d)).toEqual(evs.slice(0, d.accepted.length).map((e) => e.event.id));
    expect(d.rejected.map((r) => r.reason)).toEqual(["invalid_gzip"]);
    expect(d.rejected[0]!.message).toMatch(/^s3:\/\/ingest-bucket\/bad\/truncated\.ndjson\.gz is not valid gzip after line \d+: Error: unexpected end of file$/);
  });

  it("keeps events with invalid UTF-8 bytes, as U+FFFD, and rejects the bad records around them", async () => {
    const enc = new TextEncoder();
    const bytes = Buffer.concat([
      enc.encode(`{"@timestamp":"${TS}","event":{"id":"u1"},"cmd":"a`), Buffer.from([0xff, 0xfe, 0xc3]), enc.encode('b"}\n'),
      enc.encode(`{"@timestamp":"${TS}","event":{"id":"u2"},"s":"\\ud800"}\n`),
      Buffer.from([0x80, 0x81, 0x0a]),
      enc.encode(`{"@timestamp":"${TS}","event":{"id":"u3"},"__proto__":{"polluted":1}}\n`),
      enc.encode(`{"@timestamp":"${TS}","a":${"[".repeat(100_000)}${"]".repeat(100_000)}}\n`),
    ]);
    const d = await decode(await put("hostile/bytes.ndjson", bytes));
    expect(ids(d)).toEqual(["u1", "u2", "u3"]);
    expect(d.accepted[0]!.event.cmd).toBe("a\uFFFD\uFFFD\uFFFDb");
    expect(d.accepted[1]!.event.s).toBe("\uFFFD");
    expect(Object.hasOwn(d.accepted[2]!.event, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(d.rejected.map((r) => [r.reason, r.origin.line])).toEqual([["invalid_json", 3], ["nesting_too_deep", 5]]);
  });

  it("gives up on an object of garbage after maxRejections, without reading the rest", async () => {
    const garbage = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = i % 64 === 63 ? 0x0a : (i * 7919) % 251;
    let pulled = 0;
    const counting: ObjectReader = {
      async open(b, k) {
        const opened = (await reader.open(b, k))!;
        return { ...opened, body: (async function* () { for await (const c of opened.body) { pulled += c.length; yield c; } })() };
      },
    };
    const d = await decode(await put("hostile/garbage.bin", garbage), { maxRejections: 10 }, counting);
    expect(pulled).toBeLessThan(garbage.length / 4); // the download was abandoned early
    expect(d.accepted).toEqual([]);
    // Nothing parsed at all: one rejection for the object, not ten fragments of it.
    expect(d.rejected.map((r) => [r.reason, r.origin])).toEqual([
      ["invalid_json", { messageId: "m-1", object: { bucket: BUCKET, key: "hostile/garbage.bin" } }],
    ]);
    expect(d.rejected[0]!.message).toMatch(/^s3:\/\/ingest-bucket\/hostile\/garbage\.bin is not NDJSON or a JSON array: no record parsed \(line 1: /);
    expect(JSON.parse(d.rejected[0]!.text).Records[0].s3.object.key).toBe("hostile/garbage.bin");
  });

  it("stops after maxRejections in an object that also has good records", async () => {
    const lines = [JSON.stringify(events(1)[0]), ...Array.from({ length: 5000 }, (_, i) => `{"bad":${i}`), JSON.stringify(events(1, "z")[0])];
    const d = await decode(await put("hostile/mostly-bad.ndjson", lines.join("\n")), { maxRejections: 10 });
    expect(ids(d)).toEqual(["e0"]);
    expect(d.rejected.map((r) => r.reason)).toEqual([...Array(10).fill("invalid_json"), "too_many_rejections"]);
    expect(d.rejected[10]!.origin).toEqual({ messageId: "m-1", line: 11, object: { bucket: BUCKET, key: "hostile/mostly-bad.ndjson" } });
    expect(JSON.parse(d.rejected[10]!.text).Records[0].s3.object.key).toBe("hostile/mostly-bad.ndjson");
  });

  it("reprocessing the same object gives identical accepted events", async () => {
    const evs = events(50).map((e, i) => (i % 2 ? e : { "@timestamp": TS, host: { name: `h${i}` } })); // half without event.id
    const body = await put("again/a.ndjson.gz", gzipSync(ndjson(evs)));
    const first = await decode(body);
    const second = await decode(body);
    expect(first.accepted).toHaveLength(50);
    expect(second.accepted).toEqual(first.accepted);
    expect(new Set(ids(first)).size).toBe(50);
  });

  it("handles several records in one notification, wrapped in SNS", async () => {
    await put("multi/a.ndjson", ndjson(events(2, "a")));
    await put("multi/b.json", JSON.stringify(events(2, "b")));
    const notification = s3Notification([
      { bucket: BUCKET, key: "multi/a.ndjson" },
      { bucket: BUCKET, key: "multi/missing.ndjson" },
      { bucket: BUCKET, key: "multi/b.json" },
    ]);
    const body = JSON.stringify({ Type: "Notification", MessageId: "x", TopicArn: "arn:aws:sns:us-east-1:123456789012:t", Message: notification });
    const d = await decode(body);
    expect(ids(d)).toEqual(["a0", "a1", "b0", "b1"]);
    expect(d.rejected.map((r) => [r.reason, r.origin.object?.key])).toEqual([["s3_object_missing", "multi/missing.ndjson"]]);
  });

  it("fails the message transiently when S3 is unreachable or denies access", async () => {
    const body = await put("t/a.ndjson", ndjson(events(1)));
    const down = s3ObjectReader(testS3Client("http://127.0.0.1:9", { maxAttempts: 1 }));
    const r1 = await decodeMessage(body, "m-9", { nowMs: NOW, s3: down });
    expect(r1).toMatchObject({ messageId: "m-9", transient: true });
    expect("failure" in r1 && r1.failure.name).toBe("S3ReadError");
    const denied = s3ObjectReader(testS3Client(s3.endpoint, { credentials: { accessKeyId: "NOPE", secretAccessKey: "NOPE" }, maxAttempts: 1 }));
    const r2 = await decodeMessage(body, "m-10", { nowMs: NOW, s3: denied });
    expect(r2).toMatchObject({ messageId: "m-10", transient: true });
    expect("failure" in r2 && r2.failure.message).toMatch(/^reading s3:\/\/ingest-bucket\/t\/a\.ndjson failed: InvalidAccessKeyId/);
  });

  it("a client built from the environment reaches the endpoint in AWS_ENDPOINT_URL_S3", async () => {
    const keys = ["AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] as const;
    const saved = keys.map((k) => process.env[k]);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    try {
      const client = s3ClientFromEnv();
      const d = await decode(await put("env/a.ndjson", ndjson(events(2))), {}, s3ObjectReader(client));
      expect(ids(d)).toEqual(["e0", "e1"]);
      client.destroy();
    } finally {
      keys.forEach((k, i) => {
        if (saved[i] === undefined) delete process.env[k];
        else process.env[k] = saved[i];
      });
    }
  });
});
