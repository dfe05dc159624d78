/**
 * The API providers against real HTTP servers on 127.0.0.1 that answer as AbuseIPDB and GreyNoise
 * document (response shapes, error bodies, rate-limit headers), and the enrichment around them.
 * Time is injected: cool-downs are checked by moving `nowMs`, never by waiting.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MemoryItemStore } from "../lib/store/memory.js";
import { reputationCache } from "../lib/store/reputation-cache.js";
import type { ItemStore } from "../lib/store/items.js";
import type { ProviderEvidence } from "../lib/triage/result.js";
import { abuseIpDbProvider } from "../lib/triage/reputation/abuseipdb.js";
import { enrichIps } from "../lib/triage/reputation/enrich.js";
import { greyNoiseProvider } from "../lib/triage/reputation/greynoise.js";
import { parseListSpecs } from "../lib/triage/reputation/lists.js";
import { toPublicIp, type PublicIp, type ReputationProvider } from "../lib/triage/reputation/provider.js";
import { createReputationProviders, type ReputationSetup } from "../lib/triage/reputation/setup.js";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const KEY = "test-key-0123456789";

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}
type Reply = { status: number; headers?: Record<string, string>; body?: string | object } | "hang";

interface Fake {
  readonly base: string;
  readonly requests: Seen[];
  reply: (req: Seen) => Reply;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

const servers: Fake[] = [];

async function fakeServer(reply: (req: Seen) => Reply = () => ({ status: 500 })): Promise<Fake> {
  const hanging = new Set<ServerResponse>();
  const fake: Fake = {
    base: "",
    requests: [],
    reply,
    inFlight: 0,
    maxInFlight: 0,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req, res) => {
    const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers };
    fake.requests.push(seen);
    fake.inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight);
    res.on("close", () => fake.inFlight--);
    const r = fake.reply(seen);
    if (r === "hang") {
      hanging.add(res);
      return; // never answers
    }
    // A little latency, so concurrent requests overlap.
    setTimeout(() => {
      const body = r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body);
      res.writeHead(r.status, { "content-type": "application/json", ...r.headers });
      res.end(body);
    }, 5);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  (fake as { base: string }).base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(fake);
  return fake;
}

/** A URL on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const ip = (s: string): PublicIp => {
  const p = toPublicIp(s);
  if (p === null) throw new Error(`${s} is not public`);
  return p;
};
const ctx = (nowMs = NOW, timeoutMs = 2_000) => ({ signal: AbortSignal.timeout(timeoutMs), nowMs });

// ---------------------------------------------------------------------------------------------
// AbuseIPDB

const abuseAnswer = (ipAddress: string, over: Record<string, unknown> = {}) => ({
  data: {
    ipAddress, isPublic: true, ipVersion: 4, isWhitelisted: false, abuseConfidenceScore: 100, countryCode: "CN", usageType: "Data Center/Web Hosting/Transit",
    isp: "Example Hosting", domain: "example.net", hostnames: [], isTor: false, totalReports: 1234, numDistinctUsers: 321, lastReportedAt: "2024-05-01T11:00:00+00:00",
    ...over,
  },
});
const abuseError = (status: number, detail: string) => ({ errors: [{ detail, status }] });

describe("AbuseIPDB provider", () => {
  it("200: sends the documented request with the Key header and maps the score", async () => {
    const s = await fakeServer((r) => ({ status: 200, body: abuseAnswer(new URL(r.url, "http://x").searchParams.get("ipAddress")!) }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const e = await p.lookup(ip("185.220.101.1"), ctx());
    expect(e).toEqual({
      provider: "abuseipdb", status: "found", verdict: "malicious", score: 100, reason: null, cached: false,
      detail: "abuse confidence 100%; 1234 reports from 321 users; last 2024-05-01T11:00:00+00:00; Example Hosting, Data Center/Web Hosting/Transit, CN",
    });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.method).toBe("GET");
    expect(s.requests[0]!.url).toBe("/api/v2/check?ipAddress=185.220.101.1&maxAgeInDays=90");
    expect(s.requests[0]!.headers.key).toBe(KEY);
    expect(s.requests[0]!.headers.accept).toBe("application/json");
  });

  it("maps scores, Tor, whitelist and no reports onto verdicts", async () => {
    let over: Record<string, unknown> = {};
    const s = await fakeServer((r) => ({ status: 200, body: abuseAnswer(new URL(r.url, "http://x").searchParams.get("ipAddress")!, over) }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const look = async (o: Record<string, unknown>) => {
      over = o;
      return p.lookup(ip("2606:4700:4700::1111"), ctx());
    };
    expect(await look({ abuseConfidenceScore: 75 })).toMatchObject({ status: "found", verdict: "malicious", score: 75 });
    expect(await look({ abuseConfidenceScore: 74 })).toMatchObject({ verdict: "suspicious", score: 74 });
    expect(await look({ abuseConfidenceScore: 25 })).toMatchObject({ verdict: "suspicious", score: 25 });
    expect(await look({ abuseConfidenceScore: 24 })).toMatchObject({ verdict: "unknown", score: 24 });
    expect(await look({ abuseConfidenceScore: 3, isTor: true })).toMatchObject({ verdict: "suspicious", score: 25, detail: expect.stringContaining("Tor exit") });
    expect(await look({ abuseConfidenceScore: 0, isWhitelisted: true, totalReports: 0 })).toMatchObject({ status: "found", verdict: "benign", score: 0 });
    expect(await look({ abuseConfidenceScore: 0, totalReports: 0, numDistinctUsers: 0, lastReportedAt: null, isp: null, usageType: null, countryCode: null }))
      .toMatchObject({ status: "not_found", verdict: "unknown", score: 0, detail: "abuse confidence 0%; no reports" });
    expect(s.requests.at(-1)!.url).toBe("/api/v2/check?ipAddress=2606%3A4700%3A4700%3A%3A1111&maxAgeInDays=90");
  });

  it("401 bad key: an error, then a cool-down without calls until it passes", async () => {
    const s = await fakeServer(() => ({ status: 401, body: abuseError(401, "Authentication failed. Your API key is either missing, incorrect, or revoked.") }));
    const p = abuseIpDbProvider({ apiKey: "wrong", baseUrl: s.base, badKeyCooldownMs: 600_000 });
    const e = await p.lookup(ip("8.8.8.8"), ctx());
    expect(e).toMatchObject({ status: "error", verdict: "unknown", reason: expect.stringMatching(/^API key rejected \(HTTP 401\): Authentication failed.*cooling down until 2024-05-01T12:10:00.000Z/) });
    expect(await p.lookup(ip("8.8.4.4"), ctx(NOW + 599_999))).toMatchObject({ status: "cooldown", reason: expect.stringMatching(/API key rejected/) });
    expect(s.requests).toHaveLength(1);
    await p.lookup(ip("8.8.4.4"), ctx(NOW + 600_000));
    expect(s.requests).toHaveLength(2);
  });

  it("429 with Retry-After: cool-down, no further calls until it passes", async () => {
    let limited = true;
    const s = await fakeServer((r) => limited
      ? { status: 429, headers: { "retry-after": "120", "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "12" }, body: abuseError(429, "Too Many Requests") }
      : { status: 200, body: abuseAnswer(new URL(r.url, "http://x").searchParams.get("ipAddress")!) });
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    expect(await p.lookup(ip("1.1.1.1"), ctx())).toMatchObject({ status: "cooldown", verdict: "unknown", reason: "cooling down until 2024-05-01T12:02:00.000Z: rate limited (HTTP 429): Too Many Requests" });
    for (const t of [1_000, 60_000, 119_999]) expect(await p.lookup(ip("1.0.0.1"), ctx(NOW + t))).toMatchObject({ status: "cooldown" });
    expect(s.requests).toHaveLength(1);
    limited = false;
    expect(await p.lookup(ip("1.0.0.1"), ctx(NOW + 120_000))).toMatchObject({ status: "found" });
    expect(s.requests).toHaveLength(2);
  });

  it("429 with the daily quota exhausted: cool-down until X-RateLimit-Reset", async () => {
    const reset = NOW / 1000 + 7_200;
    const s = await fakeServer(() => ({
      status: 429, headers: { "retry-after": "7200", "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
      body: abuseError(429, "Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details."),
    }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    expect(await p.lookup(ip("1.1.1.1"), ctx())).toMatchObject({ status: "cooldown", reason: expect.stringMatching(/until 2024-05-01T14:00:00.000Z: daily quota exhausted \(HTTP 429\): Daily rate limit/) });
    expect(await p.lookup(ip("1.1.1.1"), ctx(NOW + 7_199_999))).toMatchObject({ status: "cooldown" });
    expect(s.requests).toHaveLength(1);
    await p.lookup(ip("1.1.1.1"), ctx(NOW + 7_200_000));
    expect(s.requests).toHaveLength(2);
  });

  it("a 200 that spends the last call of the quota is used, then the provider cools down", async () => {
    const s = await fakeServer((r) => ({
      status: 200, headers: { "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(NOW / 1000 + 600) },
      body: abuseAnswer(new URL(r.url, "http://x").searchParams.get("ipAddress")!),
    }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    expect(await p.lookup(ip("1.1.1.1"), ctx())).toMatchObject({ status: "found" });
    expect(await p.lookup(ip("1.1.1.2"), ctx(NOW + 1))).toMatchObject({ status: "cooldown", reason: expect.stringMatching(/until 2024-05-01T12:10:00.000Z: daily quota exhausted/) });
    expect(s.requests).toHaveLength(1);
  });

  it("500, 422, malformed JSON, a wrong shape, another address, a redirect: errors for the call, no cool-down", async () => {
    let reply: Reply = { status: 500, body: "<html>Internal Server Error</html>" };
    const s = await fakeServer(() => reply);
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: "server error (HTTP 500)" });
    reply = { status: 422, body: abuseError(422, "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).") };
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: expect.stringMatching(/^request rejected \(HTTP 422\): The ip address must be/) });
    reply = { status: 200, body: `{"data": {"ipAddress": "8.8.8.8", "abuseConfid` };
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: "malformed response: not JSON" });
    reply = { status: 200, body: { data: { ipAddress: "8.8.8.8", abuseConfidenceScore: "high", totalReports: 1 } } };
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: expect.stringMatching(/^malformed response: .*abuseConfidenceScore/) });
    reply = { status: 200, body: abuseAnswer("9.9.9.9") };
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: "malformed response: the answer is about a different address" });
    const elsewhere = await fakeServer(() => ({ status: 200, body: abuseAnswer("8.8.8.8") }));
    reply = { status: 302, headers: { location: `${elsewhere.base}/steal` } };
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: "unexpected HTTP 302" });
    expect(elsewhere.requests).toHaveLength(0); // the key never follows a redirect
    expect(s.requests).toHaveLength(6);
  });

  it("timeout: a server that never answers; the call ends at the caller's deadline", async () => {
    const s = await fakeServer(() => "hang");
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const started = Date.now();
    expect(await p.lookup(ip("8.8.8.8"), ctx(NOW, 150))).toMatchObject({ status: "error", reason: "timed out" });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Nothing listening: a connection error.
    const dead = abuseIpDbProvider({ apiKey: KEY, baseUrl: await closedPort() });
    expect(await dead.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ status: "error", reason: expect.stringMatching(/^request failed: ECONNREFUSED/) });
  });

  it("never puts anything but a canonical public address into the URL", async () => {
    const s = await fakeServer(() => ({ status: 200, body: abuseAnswer("8.8.8.8") }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    // What an event could carry, forced past the type system.
    for (const hostile of ["1.2.3.4/../../", "8.8.8.8&maxAgeInDays=365", "10.0.0.1", "::ffff:8.8.8.8", "169.254.169.254", "8.8.8.8\r\nX: y"]) {
      expect(await p.lookup(hostile as PublicIp, ctx())).toMatchObject({ status: "skipped", reason: "not a canonical public address" });
    }
    expect(s.requests).toHaveLength(0);
    expect(() => abuseIpDbProvider({ apiKey: "" })).toThrow(/needs an API key/);
    expect(() => abuseIpDbProvider({ apiKey: KEY, baseUrl: "ftp://x" })).toThrow(/http\(s\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// GreyNoise

const gnAnswer = (ipAddr: string, over: Record<string, unknown> = {}) => ({
  ip: ipAddr, noise: true, riot: false, classification: "malicious", name: "unknown", link: `https://viz.greynoise.io/ip/${ipAddr}`,
  last_seen: "2024-04-30", message: "Success", ...over,
});
const NOT_OBSERVED = (ipAddr: string) => ({ ip: ipAddr, noise: false, riot: false, message: "IP not observed scanning the internet or contained in RIOT data set." });

describe("GreyNoise Community provider", () => {
  const ipOf = (url: string) => decodeURIComponent(url.replace("/v3/community/", ""));

  it("200: sends the key header and maps classifications", async () => {
    let over: Record<string, unknown> = {};
    const s = await fakeServer((r) => ({ status: 200, body: gnAnswer(ipOf(r.url), over) }));
    const p = greyNoiseProvider({ apiKey: KEY, baseUrl: s.base });
    expect(await p.lookup(ip("45.83.66.1"), ctx())).toEqual({
      provider: "greynoise", status: "found", verdict: "malicious", score: 90, reason: null, cached: false,
      detail: "classified malicious, scanning the internet, last seen 2024-04-30",
    });
    expect(s.requests[0]!.url).toBe("/v3/community/45.83.66.1");
    expect(s.requests[0]!.headers.key).toBe(KEY);
    over = { classification: "benign", riot: true, noise: false, name: "Google Public DNS" };
    expect(await p.lookup(ip("8.8.8.8"), ctx())).toMatchObject({ verdict: "benign", score: 0, detail: "common business service (RIOT) (Google Public DNS), last seen 2024-04-30" });
    over = { classification: "benign", riot: false, name: "Shodan.io" };
    expect(await p.lookup(ip("66.240.205.34"), ctx())).toMatchObject({ verdict: "benign", detail: expect.stringMatching(/^classified benign \(Shodan.io\)/) });
    over = { classification: "unknown", noise: true };
    expect(await p.lookup(ip("2a01:4f8::1"), ctx())).toMatchObject({ verdict: "suspicious", score: 40 });
    expect(s.requests.at(-1)!.url).toBe("/v3/community/2a01%3A4f8%3A%3A1");
  });

  it("keyless use sends no key header", async () => {
    const s = await fakeServer((r) => ({ status: 200, body: gnAnswer(ipOf(r.url)) }));
    await greyNoiseProvider({ baseUrl: s.base }).lookup(ip("45.83.66.1"), ctx());
    expect(s.requests[0]!.headers.key).toBeUndefined();
  });

  it("404 not observed is a negative answer; a 404 that is not GreyNoise's is an error", async () => {
    let reply: Reply = { status: 404, body: NOT_OBSERVED("9.9.9.9") };
    const s = await fakeServer(() => reply);
    const p = greyNoiseProvider({ apiKey: KEY, baseUrl: s.base });
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toEqual({
      provider: "greynoise", status: "not_found", verdict: "unknown", score: null, reason: null, cached: false,
      detail: "not observed scanning the internet, not in RIOT",
    });
    reply = { status: 404, headers: { "content-type": "text/html" }, body: "<html>Not Found</html>" };
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toMatchObject({ status: "error", reason: "unexpected HTTP 404 (not a GreyNoise answer)" });
  });

  it("401: an error and a cool-down", async () => {
    const s = await fakeServer(() => ({ status: 401, body: { message: "Unauthorized" } }));
    const p = greyNoiseProvider({ apiKey: "bad", baseUrl: s.base, badKeyCooldownMs: 60_000 });
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toMatchObject({ status: "error", reason: expect.stringMatching(/^API key rejected \(HTTP 401\): Unauthorized; cooling down/) });
    expect(await p.lookup(ip("9.9.9.9"), ctx(NOW + 59_999))).toMatchObject({ status: "cooldown" });
    expect(s.requests).toHaveLength(1);
  });

  it("429 with Retry-After cools down until then; a daily limit without it until UTC midnight", async () => {
    let reply: Reply = { status: 429, headers: { "retry-after": "30" }, body: { message: "Too many requests" } };
    const s = await fakeServer(() => reply);
    const p = greyNoiseProvider({ baseUrl: s.base });
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toMatchObject({ status: "cooldown", reason: "cooling down until 2024-05-01T12:00:30.000Z: rate limited (HTTP 429): Too many requests" });
    expect(await p.lookup(ip("9.9.9.9"), ctx(NOW + 29_999))).toMatchObject({ status: "cooldown" });
    expect(s.requests).toHaveLength(1);
    reply = {
      status: 429,
      body: { plan: "unauthenticated", "rate-limit": "100-lookups/day", plan_url: "https://greynoise.io/pricing", message: "You have hit your daily rate limit of 100 requests/day. Please create a free account or upgrade your plan at https://greynoise.io/pricing." },
    };
    expect(await p.lookup(ip("9.9.9.9"), ctx(NOW + 30_000))).toMatchObject({ status: "cooldown", reason: expect.stringMatching(/^cooling down until 2024-05-02T00:00:00.000Z: daily limit reached \(HTTP 429\)/) });
    expect(await p.lookup(ip("9.9.9.9"), ctx(Date.UTC(2024, 4, 1, 23, 59, 59)))).toMatchObject({ status: "cooldown" });
    expect(s.requests).toHaveLength(2);
    reply = { status: 200, body: gnAnswer("9.9.9.9") };
    expect(await p.lookup(ip("9.9.9.9"), ctx(Date.UTC(2024, 4, 2)))).toMatchObject({ status: "found" });
  });

  it("500, malformed JSON, a wrong shape, timeout", async () => {
    let reply: Reply = { status: 503, body: { message: "Service Unavailable" } };
    const s = await fakeServer(() => reply);
    const p = greyNoiseProvider({ baseUrl: s.base });
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toMatchObject({ status: "error", reason: "server error (HTTP 503): Service Unavailable" });
    reply = { status: 200, body: "{\"ip\": \"9.9.9.9\", \"noise\": tru" };
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toMatchObject({ status: "error", reason: "malformed response: not JSON" });
    reply = { status: 200, body: { ip: "9.9.9.9", noise: "yes", riot: false } };
    expect(await p.lookup(ip("9.9.9.9"), ctx())).toMatchObject({ status: "error", reason: expect.stringMatching(/^malformed response: .*noise/) });
    reply = "hang";
    expect(await p.lookup(ip("9.9.9.9"), ctx(NOW, 100))).toMatchObject({ status: "error", reason: "timed out" });
  });
});

// ---------------------------------------------------------------------------------------------
// Enrichment: cache, internal addresses, timeouts, concurrency

function memoryCache(store: ItemStore = new MemoryItemStore()) {
  return reputationCache(store, { positiveTtlSec: 24 * 3600, negativeTtlSec: 6 * 3600 });
}

describe("enrichIps", () => {
  it("never sends internal addresses anywhere and answers them 'internal'", async () => {
    const s = await fakeServer((r) => ({ status: 200, body: abuseAnswer(new URL(r.url, "http://x").searchParams.get("ipAddress")!) }));
    const g = await fakeServer((r) => ({ status: 404, body: NOT_OBSERVED(decodeURIComponent(r.url.split("/").pop()!)) }));
    const providers = [abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base }), greyNoiseProvider({ apiKey: KEY, baseUrl: g.base })];
    const internal = ["10.0.0.1", "192.168.1.10", "169.254.169.254", "127.0.0.1", "100.64.0.1", "fe80::1", "fd12:3456::1", "::1", "::ffff:10.1.1.1", "2001:db8::1", "224.0.0.1", "198.18.0.1"];
    const warnings: string[] = [];
    const out = await enrichIps([...internal, "8.8.8.8", "::ffff:8.8.8.8", "not an ip", "1.2.3.4/../../"], providers, memoryCache(), { nowMs: NOW, onWarning: (m) => warnings.push(m) });
    expect(out.map((r) => [r.ip, r.verdict])).toEqual([
      ...internal.map((x) => [x === "::ffff:10.1.1.1" ? "10.1.1.1" : x, "internal"]),
      ["8.8.8.8", "malicious"],
    ]);
    expect(out.filter((r) => r.verdict === "internal").every((r) => r.evidence.length === 0 && r.score === 0)).toBe(true);
    expect(s.requests.map((r) => r.url)).toEqual(["/api/v2/check?ipAddress=8.8.8.8&maxAgeInDays=90"]);
    expect(g.requests.map((r) => r.url)).toEqual(["/v3/community/8.8.8.8"]);
    expect(warnings).toEqual([
      "not an IP address, not looked up: not an IPv4 or IPv6 address",
      "not an IP address, not looked up: a CIDR range or path, not an address",
    ]);
  });

  it("caches answers (negative ones for less time), marks hits cached, and never caches failures", async () => {
    const answers = new Map<string, Reply>([["8.8.8.8", { status: 200, body: abuseAnswer("8.8.8.8") }], ["9.9.9.9", { status: 200, body: abuseAnswer("9.9.9.9", { abuseConfidenceScore: 0, totalReports: 0 }) }]]);
    const s = await fakeServer((r) => answers.get(new URL(r.url, "http://x").searchParams.get("ipAddress")!) ?? { status: 500 });
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const cache = memoryCache();
    const run = async (nowMs: number) => (await enrichIps(["8.8.8.8", "9.9.9.9", "1.1.1.1"], [p], cache, { nowMs }))
      .map((r) => [r.ip, r.evidence[0]!.status, r.evidence[0]!.cached]);
    expect(await run(NOW)).toEqual([["8.8.8.8", "found", false], ["9.9.9.9", "not_found", false], ["1.1.1.1", "error", false]]);
    expect(s.requests).toHaveLength(3);
    // An hour later: both answers from the cache, the failure asked again.
    expect(await run(NOW + 3600_000)).toEqual([["8.8.8.8", "found", true], ["9.9.9.9", "not_found", true], ["1.1.1.1", "error", false]]);
    expect(s.requests).toHaveLength(4);
    // Past the negative TTL (6 h), within the positive one (24 h).
    expect(await run(NOW + 6 * 3600_000 + 2_000)).toEqual([["8.8.8.8", "found", true], ["9.9.9.9", "not_found", false], ["1.1.1.1", "error", false]]);
    expect(s.requests).toHaveLength(6);
    // The refreshed negative answer is cached again.
    expect(await run(NOW + 11 * 3600_000)).toEqual([["8.8.8.8", "found", true], ["9.9.9.9", "not_found", true], ["1.1.1.1", "error", false]]);
    expect(s.requests).toHaveLength(7);
    // Past the positive TTL (and the second negative one).
    expect(await run(NOW + 24 * 3600_000 + 2_000)).toEqual([["8.8.8.8", "found", false], ["9.9.9.9", "not_found", false], ["1.1.1.1", "error", false]]);
    expect(s.requests).toHaveLength(10);
    // A cached answer keeps its verdict, score and detail.
    const hit = (await enrichIps(["8.8.8.8"], [p], cache, { nowMs: NOW + 24 * 3600_000 + 3_000 }))[0]!;
    expect(hit).toMatchObject({ verdict: "malicious", score: 100, evidence: [{ provider: "abuseipdb", status: "found", cached: true, detail: expect.stringContaining("abuse confidence 100%") }] });
  });

  it("cool-down answers are not cached either", async () => {
    const s = await fakeServer(() => ({ status: 429, headers: { "retry-after": "60" }, body: abuseError(429, "Too Many Requests") }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const store = new MemoryItemStore();
    const out = await enrichIps(["8.8.8.8", "8.8.4.4"], [p], memoryCache(store), { nowMs: NOW, concurrency: 1 });
    expect(out.map((r) => r.evidence[0]!.status)).toEqual(["cooldown", "cooldown"]);
    expect(s.requests).toHaveLength(1); // the second address found the provider cooling down
    expect(store.size).toBe(0);
  });

  it("a per-call timeout bounds a provider that ignores its signal; a throwing provider is an error", async () => {
    const slow: ReputationProvider = { name: "slow", cacheable: false, lookup: () => new Promise<ProviderEvidence>(() => undefined) };
    const broken: ReputationProvider = { name: "broken", cacheable: false, lookup: () => Promise.reject(new Error("boom")) };
    const throwing: ReputationProvider = { name: "throwing", cacheable: false, lookup: () => { throw new TypeError("sync boom"); } };
    const started = Date.now();
    const [r] = await enrichIps(["8.8.8.8"], [slow, broken, throwing], null, { nowMs: NOW, timeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r).toMatchObject({ ip: "8.8.8.8", verdict: "unknown", score: 0 });
    expect(r!.evidence.map((e) => [e.provider, e.status, e.reason])).toEqual([
      ["slow", "error", "timed out after 50 ms"], ["broken", "error", "provider failed: boom"], ["throwing", "error", "provider failed: sync boom"],
    ]);
  });

  it("a hanging HTTP provider times out per call and the request is aborted", async () => {
    const s = await fakeServer(() => "hang");
    const p = greyNoiseProvider({ baseUrl: s.base });
    const [r] = await enrichIps(["8.8.8.8"], [p], null, { nowMs: NOW, timeoutMs: 100 });
    expect(r!.evidence[0]).toMatchObject({ status: "error", reason: "timed out after 100 ms" });
    await new Promise((res) => setTimeout(res, 50));
    expect(s.inFlight).toBe(0); // the connection was closed, not left open
  });

  it("bounds concurrency and caps the addresses looked up", async () => {
    const s = await fakeServer((r) => ({ status: 200, body: abuseAnswer(new URL(r.url, "http://x").searchParams.get("ipAddress")!) }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const ips = Array.from({ length: 30 }, (_, i) => `8.8.${i}.1`);
    const warnings: string[] = [];
    const out = await enrichIps(ips, [p], null, { nowMs: NOW, concurrency: 3, maxIps: 20, onWarning: (m) => warnings.push(m) });
    expect(s.requests).toHaveLength(20);
    expect(s.maxInFlight).toBeLessThanOrEqual(3);
    expect(s.maxInFlight).toBeGreaterThan(1);
    expect(out).toHaveLength(30);
    expect(out.slice(20).every((r) => r.verdict === "unknown" && r.evidence[0]!.status === "skipped")).toBe(true);
    expect(warnings).toEqual(["10 public addresses beyond the limit of 20 were not looked up"]);
  });

  it("a failing cache store never fails enrichment", async () => {
    const s = await fakeServer(() => ({ status: 200, body: abuseAnswer("8.8.8.8") }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const failing = new MemoryItemStore();
    failing.get = () => Promise.reject(new Error("store down"));
    failing.batchPut = () => Promise.reject(new Error("store down"));
    const warnings: string[] = [];
    const [r] = await enrichIps(["8.8.8.8"], [p], memoryCache(failing), { nowMs: NOW, onWarning: (m) => warnings.push(m) });
    expect(r).toMatchObject({ verdict: "malicious", evidence: [{ status: "found", cached: false }] });
    expect(warnings).toEqual(["reputation cache read failed for abuseipdb/8.8.8.8: store down", "reputation cache write failed: store down"]);
  });

  it("an unreadable cache record is a miss", async () => {
    const s = await fakeServer(() => ({ status: 200, body: abuseAnswer("8.8.8.8") }));
    const p = abuseIpDbProvider({ apiKey: KEY, baseUrl: s.base });
    const store = new MemoryItemStore();
    await store.batchPut([{ pk: "rep#abuseipdb#8.8.8.8", sk: "rep", outcome: "positive", data: { status: "found", verdict: "pwned", score: 1000, detail: null }, storedAtMs: NOW, expiresAt: NOW / 1000 + 100 }]);
    const [r] = await enrichIps(["8.8.8.8"], [p], memoryCache(store), { nowMs: NOW });
    expect(r!.evidence[0]).toMatchObject({ status: "found", cached: false, verdict: "malicious" });
    expect(s.requests).toHaveLength(1);
  });
});

afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("createReputationProviders", () => {
  it("configures lists when given, AbuseIPDB and GreyNoise only with a key (or GreyNoise keyless when opted in)", async () => {
    const lists = parseListSpecs("s3://b/drop.json,tor=s3://b/tor.txt");
    const names = (setup: Partial<ReputationSetup>) =>
      createReputationProviders({ keys: null, lists: [], listSources: {}, ...setup }).providers.map((p) => p.name);
    expect(names({})).toEqual([]);
    expect(names({ lists })).toEqual(["lists"]);
    expect(names({ keys: { abuseipdb: KEY } })).toEqual(["abuseipdb"]);
    expect(names({ keys: { abuseipdb: KEY, greynoise: KEY }, lists })).toEqual(["lists", "abuseipdb", "greynoise"]);
    expect(names({ greyNoiseKeyless: true })).toEqual(["greynoise"]);
    const s = await fakeServer((r) => ({ status: 200, body: gnAnswer(decodeURIComponent(r.url.split("/").pop()!)) }));
    const { providers } = createReputationProviders({ keys: { greynoise: KEY }, lists: [], listSources: {}, greyNoiseBaseUrl: s.base });
    expect(await providers[0]!.lookup(ip("45.83.66.1"), ctx())).toMatchObject({ provider: "greynoise", verdict: "malicious" });
    expect(s.requests[0]!.headers.key).toBe(KEY);
  });
});
