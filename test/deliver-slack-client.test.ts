/**
 * The Slack client against real HTTP servers on 127.0.0.1 answering as Slack's incoming webhooks
 * and Web API do: ok, invalid_blocks, 429 with Retry-After, 500, no answer at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { buildSlackCard } from "../lib/deliver/slack-card.js";
import { postSlackMessage, retryAfterSeconds, type SlackTarget } from "../lib/deliver/slack-client.js";
import { seedTriageResult } from "./helpers/triage-fixture.js";

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

type Handler = (req: Received, res: ServerResponse) => void;

const servers: Server[] = [];

async function slackServer(handler: Handler): Promise<{ base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      handler(r, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, received };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const card = buildSlackCard(seedTriageResult());

function text(status: number, body: string, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "text/plain", ...headers });
    res.end(body);
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
}

describe("incoming webhook", () => {
  const webhook = (base: string): SlackTarget => ({ mode: "webhook", url: `${base}/services/T000/B000/XXXX` });

  it("posts the message as JSON and takes 200 ok", async () => {
    const { base, received } = await slackServer(text(200, "ok"));
    expect(await postSlackMessage(webhook(base), card)).toEqual({ kind: "ok", ts: null, channel: null });
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe("POST");
    expect(received[0]!.url).toBe("/services/T000/B000/XXXX");
    expect(received[0]!.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(received[0]!.headers.authorization).toBeUndefined();
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    expect(body).toEqual(JSON.parse(JSON.stringify(card)));
    expect(body).toMatchObject({ link_names: false, unfurl_links: false, unfurl_media: false });
  });

  it("surfaces Slack's error string: invalid_blocks, no_service", async () => {
    const { base } = await slackServer(text(400, "invalid_blocks"));
    expect(await postSlackMessage(webhook(base), card)).toEqual({ kind: "failed", status: 400, error: "invalid_blocks", retryable: false });
    const gone = await slackServer(text(404, "no_service"));
    expect(await postSlackMessage(webhook(gone.base), card)).toEqual({ kind: "failed", status: 404, error: "no_service", retryable: false });
  });

  it("honours 429 with Retry-After", async () => {
    const { base } = await slackServer(text(429, "rate_limited", { "retry-after": "30" }));
    expect(await postSlackMessage(webhook(base), card)).toEqual({ kind: "retry_after", seconds: 30 });
  });

  it("treats 500 as retryable, with Slack's error string when it sent one", async () => {
    const { base } = await slackServer(text(500, "rollup_error"));
    expect(await postSlackMessage(webhook(base), card)).toEqual({ kind: "failed", status: 500, error: "rollup_error", retryable: true });
    const html = await slackServer(text(503, "<html><body>Service Unavailable</body></html>"));
    expect(await postSlackMessage(webhook(html.base), card)).toEqual({ kind: "failed", status: 503, error: "http_503", retryable: true });
  });

  it("times out when Slack does not answer, or stops answering half way", async () => {
    const { base } = await slackServer(() => undefined); // never answers
    const started = Date.now();
    expect(await postSlackMessage(webhook(base), card, { timeoutMs: 300 })).toEqual({ kind: "timeout", afterMs: 300 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5_000);
    const stalled = await slackServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("o"); // and never the rest
    });
    expect(await postSlackMessage(webhook(stalled.base), card, { timeoutMs: 300 })).toEqual({ kind: "timeout", afterMs: 300 });
  });

  it("reports a refused connection as a retryable network failure", async () => {
    const { base } = await slackServer(text(200, "ok"));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    expect(await postSlackMessage(webhook(base), card)).toEqual({ kind: "failed", status: null, error: "network_ECONNREFUSED", retryable: true });
  });
});

describe("Web API chat.postMessage (bot token)", () => {
  const bot = (base: string): SlackTarget => ({ mode: "bot", token: "xoxb-test-token", channel: "C0123456", baseUrl: `${base}/` });

  it("sends the token as a Bearer header and the channel in the body; returns ts and channel", async () => {
    const { base, received } = await slackServer(json(200, { ok: true, channel: "C0123456", ts: "1700000000.000100", message: {} }));
    expect(await postSlackMessage(bot(base), card)).toEqual({ kind: "ok", ts: "1700000000.000100", channel: "C0123456" });
    const r = received[0]!;
    expect(r.url).toBe("/api/chat.postMessage");
    expect(r.headers.authorization).toBe("Bearer xoxb-test-token");
    expect(r.headers["content-type"]).toBe("application/json; charset=utf-8");
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(body).toMatchObject({ channel: "C0123456", link_names: false, unfurl_links: false, unfurl_media: false, text: card.text });
    expect(body).not.toHaveProperty("thread_ts");
  });

  it("replies in a thread", async () => {
    const { base, received } = await slackServer(json(200, { ok: true, channel: "C0123456", ts: "1700000000.000200" }));
    await postSlackMessage(bot(base), card, { threadTs: "1700000000.000100" });
    await postSlackMessage(bot(base), card, { threadTs: "1700000000.000100", replyBroadcast: true });
    expect(JSON.parse(received[0]!.body)).toMatchObject({ thread_ts: "1700000000.000100" });
    expect(JSON.parse(received[0]!.body)).not.toHaveProperty("reply_broadcast");
    expect(JSON.parse(received[1]!.body)).toMatchObject({ thread_ts: "1700000000.000100", reply_broadcast: true });
  });

  it("surfaces ok:false with Slack's error string, retryable only for Slack-side errors", async () => {
    const { base } = await slackServer(json(200, { ok: false, error: "invalid_blocks", errors: ["must be less than 3001 characters"] }));
    expect(await postSlackMessage(bot(base), card)).toEqual({ kind: "failed", status: 200, error: "invalid_blocks", retryable: false });
    const internal = await slackServer(json(200, { ok: false, error: "internal_error" }));
    expect(await postSlackMessage(bot(internal.base), card)).toEqual({ kind: "failed", status: 200, error: "internal_error", retryable: true });
    const auth = await slackServer(json(200, { ok: false, error: "invalid_auth" }));
    expect(await postSlackMessage(bot(auth.base), card)).toEqual({ kind: "failed", status: 200, error: "invalid_auth", retryable: false });
  });

  it("honours 429 with Retry-After", async () => {
    const { base } = await slackServer(json(429, { ok: false, error: "ratelimited" }, { "retry-after": "7" }));
    expect(await postSlackMessage(bot(base), card)).toEqual({ kind: "retry_after", seconds: 7 });
  });

  it("treats a 500 as retryable and times out like the webhook", async () => {
    const { base } = await slackServer(text(500, "Internal Server Error"));
    expect(await postSlackMessage(bot(base), card)).toEqual({ kind: "failed", status: 500, error: "http_500", retryable: true });
    const silent = await slackServer(() => undefined);
    expect(await postSlackMessage(bot(silent.base), card, { timeoutMs: 200 })).toEqual({ kind: "timeout", afterMs: 200 });
  });
});

describe("Retry-After", () => {
  it("reads seconds or an HTTP date, defaults to 1 and caps at 15 minutes", () => {
    const now = Date.parse("2026-11-20T09:00:00Z");
    expect(retryAfterSeconds("120", now)).toBe(120);
    expect(retryAfterSeconds(" 5 ", now)).toBe(5);
    expect(retryAfterSeconds("0", now)).toBe(1);
    expect(retryAfterSeconds(null, now)).toBe(1);
    expect(retryAfterSeconds("soon", now)).toBe(1);
    expect(retryAfterSeconds("Fri, 20 Nov 2026 09:00:42 GMT", now)).toBe(42);
    expect(retryAfterSeconds("86400", now)).toBe(900);
  });
});
