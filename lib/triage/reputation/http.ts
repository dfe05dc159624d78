/**
 * The one HTTP GET the API providers make: abortable, bounded in size, never following redirects
 * (a redirect would carry the API key header to wherever it points), never throwing.
 */

export type HttpOutcome =
  | { readonly kind: "response"; readonly status: number; readonly headers: Headers; readonly text: string }
  | { readonly kind: "failed"; readonly reason: string };

/** Larger answers are not reputation answers. */
export const MAX_RESPONSE_BYTES = 256 * 1024;

export async function httpGet(url: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<HttpOutcome> {
  let response: Response;
  try {
    response = await fetch(url, { method: "GET", headers, signal, redirect: "manual" });
  } catch (err) {
    return { kind: "failed", reason: failureReason(err, signal) };
  }
  try {
    const text = await readBounded(response, MAX_RESPONSE_BYTES);
    if (text === null) return { kind: "failed", reason: `response larger than ${MAX_RESPONSE_BYTES} bytes (HTTP ${response.status})` };
    return { kind: "response", status: response.status, headers: response.headers, text };
  } catch (err) {
    return { kind: "failed", reason: failureReason(err, signal) };
  }
}

async function readBounded(response: Response, maxBytes: number): Promise<string | null> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return new TextDecoder("utf-8").decode(Buffer.concat(chunks));
}

function failureReason(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const name = typeof reason === "object" && reason !== null && "name" in reason ? String((reason as { name: unknown }).name) : "";
    return name === "TimeoutError" ? "timed out" : `aborted${reason instanceof Error ? `: ${reason.message}` : ""}`;
  }
  // undici wraps the socket error: "fetch failed" with the interesting part in `cause`.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = cause && "code" in cause ? String((cause as { code: unknown }).code) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return `request failed: ${code ?? cause?.message ?? message}`;
}

/** JSON.parse without exceptions. */
export function parseJson(text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** A base URL option: http(s), no query or fragment; returned without a trailing slash. */
export function checkBaseUrl(option: string, what: string): string {
  let u: URL;
  try {
    u = new URL(option);
  } catch {
    throw new Error(`${what} base URL ${JSON.stringify(option)} is not a URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`${what} base URL must be http(s), got ${u.protocol}`);
  if (u.search !== "" || u.hash !== "") throw new Error(`${what} base URL must not have a query or fragment`);
  return u.toString().replace(/\/+$/, "");
}
