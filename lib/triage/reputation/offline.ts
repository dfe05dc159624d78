/**
 * The offline-lists provider: one provider over several named lists (Spamhaus DROP, FireHOL,
 * Tor exits, Feodo, ...). An address found in any list is `listed`, with the worst verdict of the
 * lists that hold it (malicious 90, suspicious 50) and a detail naming each list and entry
 * ("listed in spamhaus-drop (1.10.16.0/20, SBL256894)"). Lists that could not be loaded are named
 * in `reason`; only when none is available is the answer an `error`.
 *
 * Not cacheable: a lookup is a binary search in memory, and caching would hide list refreshes.
 */
import type { ProviderEvidence } from "../result.js";
import { answer, checkProviderName, clipText, failure, type LookupContext, type PublicIp, type ReputationProvider } from "./provider.js";
import type { ListVerdict, RefreshingList } from "./lists.js";

export const LISTED_SCORE: Readonly<Record<ListVerdict, number>> = { malicious: 90, suspicious: 50 };

export function offlineListsProvider(lists: readonly RefreshingList[], options: { readonly name?: string } = {}): ReputationProvider {
  const name = checkProviderName(options.name ?? "lists");
  return {
    name,
    cacheable: false,
    async lookup(ip: PublicIp, { nowMs }: LookupContext): Promise<ProviderEvidence> {
      if (lists.length === 0) return failure(name, "skipped", "no lists configured");
      const hits: string[] = [];
      const unavailable: string[] = [];
      let verdict: ListVerdict | null = null;
      const results = await Promise.allSettled(lists.map((l) => l.current(nowMs)));
      for (const [i, r] of results.entries()) {
        const list = lists[i]!;
        if (r.status === "rejected") {
          unavailable.push(`${list.spec.name} (${r.reason instanceof Error ? r.reason.message : String(r.reason)})`);
          continue;
        }
        const m = r.value.set.lookup(ip);
        if (m === null) continue;
        hits.push(`${list.spec.name} (${m.value.id === null ? m.network : `${m.network}, ${m.value.id}`})`);
        if (verdict === null || (verdict === "suspicious" && list.spec.verdict === "malicious")) verdict = list.spec.verdict;
      }
      const missing = unavailable.length > 0 ? `unavailable: ${unavailable.join("; ")}` : null;
      if (verdict !== null) {
        const e = answer(name, "listed", verdict, LISTED_SCORE[verdict], `listed in ${hits.join("; ")}`);
        return missing === null ? e : { ...e, reason: clipText(missing) };
      }
      if (unavailable.length === lists.length) return failure(name, "error", missing ?? "no list available");
      const e = answer(name, "not_listed", "unknown", null, `not in ${lists.length - unavailable.length} list${lists.length - unavailable.length === 1 ? "" : "s"}`);
      return missing === null ? e : { ...e, reason: clipText(missing) };
    },
  };
}
