import { alertKey } from "../detect/keys.js";
import type { Alert } from "../detect/alert.js";
import type { Item, ItemStore } from "../store/items.js";
import { getStoredTriageResult } from "../store/triage-results.js";

/**
 * The safety net behind the table's stream: every alert and retraction leaves a reminder
 * (`retriage#<minute>`, a few minutes ahead), and the sweep walks the due minutes. An alert still
 * marked `pendingTriage`, or retracted while its stored result is still open, is triaged again;
 * then the reminder goes. Triage is idempotent, so racing the stream costs nothing but a repeat.
 */

export const RETRIAGE_CURSOR_KEY = { pk: "sweep", sk: "retriage-cursor" } as const;

/** An alert item as the detector writes it: the alert, its status and TTL. */
export interface AlertRecord {
  readonly alert: Alert;
  readonly expiresAt: number | null;
}

export function alertRecord(item: Item | Record<string, unknown>): AlertRecord {
  const alert = item.alert as Alert;
  const status = item.status === "retracted" ? "retracted" : "open";
  return { alert: { ...alert, status }, expiresAt: typeof item.expiresAt === "number" ? item.expiresAt : null };
}

export interface RetriageResult {
  readonly checked: number;
  readonly retriaged: number;
  readonly failures: readonly { readonly alertId: string; readonly error: string }[];
  readonly nextMinute: number;
}

export async function retriageDue(
  store: ItemStore, nowMs: number, triage: (record: AlertRecord) => Promise<void>,
  options: { readonly maxLookbackMinutes?: number; readonly fromMinute?: number; readonly throughMinute?: number } = {},
): Promise<RetriageResult> {
  const nowSec = Math.floor(nowMs / 1000);
  const nowMinute = Math.floor(nowMs / 60_000);
  const cursor = await store.get(RETRIAGE_CURSOR_KEY, { nowSec });
  const stored = options.fromMinute ?? (typeof cursor?.minute === "number" ? cursor.minute : nowMinute - 60);
  const from = Math.max(stored, nowMinute - (options.maxLookbackMinutes ?? 1440));
  let checked = 0;
  let retriaged = 0;
  let firstFailed: number | null = null;
  const failures: { alertId: string; error: string }[] = [];
  const through = options.throughMinute ?? nowMinute;
  for (let minute = from; minute <= through; minute++) {
    for (const reminder of await store.query(`retriage#${minute}`, {}, { nowSec })) {
      checked++;
      const alertId = reminder.sk;
      try {
        const item = await store.get(alertKey(alertId), { nowSec });
        if (item && (await needsTriage(store, item, alertId, nowSec))) {
          await triage(alertRecord(item));
          retriaged++;
        }
        await store.delete(reminder);
      } catch (err) {
        failures.push({ alertId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        firstFailed ??= minute;
      }
    }
  }
  const nextMinute = firstFailed ?? through + 1;
  if (options.fromMinute === undefined) await store.update(RETRIAGE_CURSOR_KEY, { set: { minute: nextMinute } });
  return { checked, retriaged, failures, nextMinute };
}

async function needsTriage(store: ItemStore, item: Item, alertId: string, nowSec: number): Promise<boolean> {
  if (item.pendingTriage !== undefined) return true;
  if (item.status !== "retracted") return false;
  const stored = await getStoredTriageResult(store, alertId, nowSec);
  return stored === null || stored.result.status !== "retracted";
}
