/**
 * The triage module's public API: alert -> triage result (guide steps with resolved queries,
 * observables, IP reputation and verdicts), and the stream filter that decides what reaches it.
 */
export { buildTriageResult, ruleContexts, type RuleContext, type TriageDeps } from "./build.js";
export { resolveGuideQueries, type QueryResolution } from "./queries.js";
export { ALERT_STREAM_FILTER_PATTERNS, isTriageStreamRecord, type StreamRecordLike, type TriageTrigger } from "./stream-filter.js";
export {
  TRIAGE_RESULT_VERSION,
  type EvidenceStatus, type Guide, type GuideBlock, type GuideListItem, type GuideSection, type GuideSectionKind, type Inline, type IpReputation,
  type Observable, type ObservableType, type ProviderEvidence, type ResolvedQuery, type TriageResult, type Verdict,
} from "./result.js";
export { classifyIp, isPublicIp, MAX_IP_CHARS, type IpClassification, type SpecialRange, type Unwrapped } from "./special-addresses.js";
export { extractObservables, remoteIps, MAX_PER_TYPE } from "./observables.js";
export {
  alertVerdict, defaultScore, internalReputation, ipVerdict, publicReputation, MALICIOUS_FLOOR, SUSPICIOUS_FLOOR, type AlertVerdict,
} from "./verdict.js";
export { toPublicIp, type LookupContext, type PublicIp, type ReputationProvider } from "./reputation/provider.js";
export { createCooldown, retryAfterMs, type Cooldown, type CooldownState } from "./reputation/cooldown.js";
export { buildCidrSet, parseNetwork, type CidrMatch, type CidrSet, type Network } from "./reputation/cidr-set.js";
export {
  ListError, loadList, parseList, parseListSpecs, refreshingList,
  type ListEntry, type ListFormat, type ListLocation, type ListSources, type ListSpec, type ListStatus, type ListVerdict,
  type LoadedList, type ParsedList, type RefreshingList, type RefreshOptions,
} from "./reputation/lists.js";
export { offlineListsProvider } from "./reputation/offline.js";
export { abuseIpDbProvider, ABUSEIPDB_BASE_URL, type AbuseIpDbOptions } from "./reputation/abuseipdb.js";
export { greyNoiseProvider, GREYNOISE_BASE_URL, type GreyNoiseOptions } from "./reputation/greynoise.js";
export { clearProviderKeysCache, loadProviderKeys, ProviderKeysError, type ProviderKeys, type ProviderKeysErrorCode } from "./reputation/secrets.js";
export { createReputationProviders, type ReputationSetup } from "./reputation/setup.js";
export { enrichIps, type EnrichOptions } from "./reputation/enrich.js";
