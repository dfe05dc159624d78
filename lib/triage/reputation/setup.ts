/**
 * The providers a deployment has, from its configuration: offline lists when any are configured,
 * AbuseIPDB when the secret has its key, GreyNoise when the secret has its key (or, opted in,
 * keyless). Sending addresses to a third party is never a default without a key.
 */
import { abuseIpDbProvider } from "./abuseipdb.js";
import { greyNoiseProvider } from "./greynoise.js";
import { refreshingList, type ListSources, type ListSpec, type RefreshOptions, type RefreshingList } from "./lists.js";
import { offlineListsProvider } from "./offline.js";
import type { ReputationProvider } from "./provider.js";
import type { ProviderKeys } from "./secrets.js";

export interface ReputationSetup {
  /** From `loadProviderKeys`; null when there is no secret (or it could not be read). */
  readonly keys: ProviderKeys | null;
  /** From `parseListSpecs(REPUTATION_LISTS)`. */
  readonly lists: readonly ListSpec[];
  readonly listSources: ListSources;
  readonly listRefresh?: RefreshOptions;
  /** @default the real API */
  readonly abuseIpDbBaseUrl?: string;
  /** @default the real API */
  readonly greyNoiseBaseUrl?: string;
  /** Use GreyNoise's community API without a key (100 lookups a day). @default false */
  readonly greyNoiseKeyless?: boolean;
}

export function createReputationProviders(setup: ReputationSetup): { readonly providers: ReputationProvider[]; readonly lists: RefreshingList[] } {
  const lists = setup.lists.map((spec) => refreshingList(spec, setup.listSources, setup.listRefresh));
  const providers: ReputationProvider[] = [];
  if (lists.length > 0) providers.push(offlineListsProvider(lists));
  if (setup.keys?.abuseipdb) {
    providers.push(abuseIpDbProvider({ apiKey: setup.keys.abuseipdb, ...(setup.abuseIpDbBaseUrl ? { baseUrl: setup.abuseIpDbBaseUrl } : {}) }));
  }
  if (setup.keys?.greynoise || setup.greyNoiseKeyless) {
    providers.push(greyNoiseProvider({ apiKey: setup.keys?.greynoise ?? null, ...(setup.greyNoiseBaseUrl ? { baseUrl: setup.greyNoiseBaseUrl } : {}) }));
  }
  return { providers, lists };
}
