/**
 * Posting to Slack, in two modes:
 * - incoming webhook: `POST <webhook url>` with the message as JSON; Slack answers 200 `ok`, or an
 *   error as a text body (`invalid_blocks`, `no_text`, `channel_not_found`, 404/410 `no_service`);
 * - bot token: `POST {baseUrl}/api/chat.postMessage` with `Authorization: Bearer <token>`; Slack
 *   answers 200 `{"ok":true,"ts","channel"}` or `{"ok":false,"error":"invalid_blocks"}`.
 * Either can answer 429 with `Retry-After` (seconds).
 *
 * Nothing throws: every outcome is a `PostResult`, so the deliverer decides in one switch whether
 * to mark the delivery done, come back after `Retry-After`, retry with backoff, or give up (dead
 * letter). The base URL is configuration (Slack's in production, a local server in tests); there
 * are no other test hooks.
 */
import type { SlackMessage } from "./slack-card.js";

export type SlackTarget =
  | { readonly mode: "webhook"; readonly url: string }
  | { readonly mode: "bot"; readonly token: string; readonly channel: string; readonly baseUrl?: string };

export const SLACK_API_BASE = "https://slack.com";

export type PostResult =
  /** Posted. `ts`/`channel` only in bot mode (a webhook does not say where the message went). */
  | { readonly kind: "ok"; readonly ts: string | null; readonly channel: string | null }
  /** Rate limited: come back after `seconds`. */
  | { readonly kind: "retry_after"; readonly seconds: number }
  /**
   * Slack (or the network) refused: `error` is Slack's error string (`invalid_blocks`,
   * `channel_not_found`, ...) or `http_<status>`/`network_<code>`. `retryable` says whether the
   * same request can succeed later (server errors, network failures) or never will.
   */
  | { readonly kind: "failed"; readonly status: number | null; readonly error: string; readonly retryable: boolean }
  /** No answer within the timeout: Slack may or may not have posted the message. */
  | { readonly kind: "timeout"; readonly afterMs: number };

export interface PostOptions {
  /** Whole-request timeout (connect, send, response body). @default 10_000 */
  readonly timeoutMs?: number;
  /** Bot mode: reply in this thread. Ignored by webhooks, which cannot thread. */
  readonly threadTs?: string;
  /** Bot mode, with `threadTs`: also show the reply in the channel. */
  readonly replyBroadcast?: boolean;
}

/** Web API errors a later retry can cure; any other `ok:false` is permanent. */
const RETRYABLE_API_ERRORS = new Set([
  "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "rate_limited", "team_added_to_org",
]);

/** Answers longer than this are not read further (a Slack answer is a few hundred bytes). */
const MAX_BODY_CHARS = 64 * 1024;

export async function postSlackMessage(target: SlackTarget, message: SlackMessage, options: PostOptions = {}): Promise<PostResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    switch (target.mode) {
      case "webhook":
        return await postWebhook(target.url, message, controller.signal);
      case "bot":
        return await postBot(target, message, options, controller.signal);
      default:
        return assertNever(target);
    }
  } catch (err) {
    if (controller.signal.aborted) return { kind: "timeout", afterMs: timeoutMs };
    return { kind: "failed", status: null, error: `network_${networkCode(err)}`, retryable: true };
  } finally {
    clearTimeout(timer);
  }
}

async function postWebhook(url: string, message: SlackMessage, signal: AbortSignal): Promise<PostResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify(message),
    signal,
    redirect: "error",
  });
  const body = (await readBody(res)).trim();
  if (res.status === 429) return { kind: "retry_after", seconds: retryAfterSeconds(res.headers.get("retry-after")) };
  if (res.status === 200 && body === "ok") return { kind: "ok", ts: null, channel: null };
  return {
    kind: "failed",
    status: res.status,
    error: slackErrorText(body) ?? `http_${res.status}`,
    // 5xx is Slack's side; 4xx (invalid_blocks, no_service, channel_not_found, ...) never heals by itself.
    retryable: res.status >= 500,
  };
}

async function postBot(
  target: Extract<SlackTarget, { mode: "bot" }>, message: SlackMessage, options: PostOptions, signal: AbortSignal,
): Promise<PostResult> {
  const base = (target.baseUrl ?? SLACK_API_BASE).replace(/\/+$/, "");
  const payload = {
    channel: target.channel,
    ...message,
    ...(options.threadTs !== undefined ? { thread_ts: options.threadTs, ...(options.replyBroadcast ? { reply_broadcast: true } : {}) } : {}),
  };
  const res = await fetch(`${base}/api/chat.postMessage`, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${target.token}` },
    body: JSON.stringify(payload),
    signal,
    redirect: "error",
  });
  const body = await readBody(res);
  if (res.status === 429) return { kind: "retry_after", seconds: retryAfterSeconds(res.headers.get("retry-after")) };
  const parsed = parseJson(body);
  if (res.status === 200 && parsed !== null) {
    if (parsed.ok === true) {
      return { kind: "ok", ts: typeof parsed.ts === "string" ? parsed.ts : null, channel: typeof parsed.channel === "string" ? parsed.channel : null };
    }
    const error = typeof parsed.error === "string" ? parsed.error : "unknown_error";
    return { kind: "failed", status: 200, error, retryable: RETRYABLE_API_ERRORS.has(error) };
  }
  const error = (parsed && typeof parsed.error === "string" ? parsed.error : null) ?? slackErrorText(body) ?? `http_${res.status}`;
  return { kind: "failed", status: res.status, error, retryable: res.status >= 500 };
}

async function readBody(res: Response): Promise<string> {
  const text = await res.text();
  return text.length > MAX_BODY_CHARS ? text.slice(0, MAX_BODY_CHARS) : text;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Slack's error strings are short snake_case words; anything else (an HTML error page) is not one. */
function slackErrorText(body: string): string | null {
  return /^[a-z0-9_]{1,100}$/.test(body) ? body : null;
}

/**
 * `Retry-After` as seconds: a number of seconds, or an HTTP date. Missing or unreadable means 1
 * second (Slack always sends it; a retry must still not spin), capped at 15 minutes, the longest an
 * SQS message can be delayed.
 */
export function retryAfterSeconds(header: string | null, nowMs: number = Date.now()): number {
  if (header === null) return 1;
  const trimmed = header.trim();
  let seconds: number;
  if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const at = Date.parse(trimmed);
    seconds = Number.isNaN(at) ? 1 : Math.ceil((at - nowMs) / 1000);
  }
  return Math.min(900, Math.max(1, seconds));
}

function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : "error";
}

function assertNever(x: never): never {
  throw new Error(`unexpected Slack target: ${JSON.stringify(x)}`);
}
