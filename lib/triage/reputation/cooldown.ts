/**
 * Per-provider cool-down: after a 429, an exhausted daily quota or a rejected key, a provider
 * stops calling its API until a time, and answers `cooldown` with the reason instead. Time comes
 * from the caller (`nowMs`), never from a clock read in here, so tests move it explicitly.
 *
 * The state lives in the provider instance, i.e. per Lambda execution environment: each
 * concurrent environment finds out about a quota once, by one 429, then stays quiet.
 */

export interface CooldownState {
  readonly untilMs: number;
  readonly reason: string;
}

export interface Cooldown {
  /** The cool-down in force at `nowMs`, or null. */
  active(nowMs: number): CooldownState | null;
  /** Cools down until `untilMs` (capped); a later cool-down already in force is kept. */
  trip(nowMs: number, untilMs: number, reason: string): CooldownState;
  clear(): void;
}

/** No cool-down lasts longer than this, whatever a server says: a day's quota resets within it. */
export const MAX_COOLDOWN_MS = 24 * 3600_000;

export function createCooldown(): Cooldown {
  let state: CooldownState | null = null;
  return {
    active(nowMs) {
      return state !== null && nowMs < state.untilMs ? state : null;
    },
    trip(nowMs, untilMs, reason) {
      const until = Math.min(Math.max(untilMs, nowMs), nowMs + MAX_COOLDOWN_MS);
      if (state === null || nowMs >= state.untilMs || until > state.untilMs) state = { untilMs: until, reason };
      return state;
    },
    clear() {
      state = null;
    },
  };
}

/**
 * A `Retry-After` header as an absolute time (epoch ms): delay-seconds or an HTTP date. Null when
 * missing or unreadable (the caller then uses its default).
 */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const h = header.trim();
  if (/^\d{1,10}$/.test(h)) return nowMs + Number(h) * 1000;
  if (h.length > 64) return null;
  const date = Date.parse(h);
  return Number.isFinite(date) ? Math.max(date, nowMs) : null;
}

/** The next UTC midnight after `nowMs` (when per-day API quotas reset). */
export function nextUtcMidnight(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

export function describeCooldown(state: CooldownState): string {
  return `cooling down until ${new Date(state.untilMs).toISOString()}: ${state.reason}`;
}
