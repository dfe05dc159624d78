/**
 * Rule scope: which events a rule sees, from its `index` patterns, as Elasticsearch would resolve
 * them against the index or data stream the event was written to.
 *
 * The event's name is computed once per event (`eventStreamName`), and each rule's compiled scope
 * tests that name (`compileIndexScope`), so the per-rule check allocates nothing.
 *
 * Names, in order of preference:
 * - `_index`, when the event carries it (documents exported from Elasticsearch): that is where
 *   Elasticsearch itself looked. A backing index `.ds-<stream>-<yyyy.MM.dd>-<generation>` becomes
 *   `<stream>` (also under the `partial-`, `restored-`, `shrink-<x>-` and `downsample-<x>-`
 *   prefixes of ILM and searchable snapshots); an alerts index
 *   `.internal.alerts-<name>-<generation>` becomes its alias `.alerts-<name>`; a remote cluster
 *   prefix `cluster:` is dropped. Other index names are kept as they are.
 * - The data stream fields, `${data_stream.type}-${data_stream.dataset}-${data_stream.namespace}`
 *   (all three must be non-empty strings), e.g. `logs-endpoint.events.process-default`.
 * - Otherwise null: the event has no known origin, and by default it is in scope of every rule.
 *
 * Patterns, as Elasticsearch reads a list of index expressions:
 * - `*` matches any characters; matching is case-sensitive (index names are lowercase).
 * - A `-` prefix excludes: it removes the names matched by the patterns before it (order
 *   matters, as in Elasticsearch: `["logs-*", "-logs-test-*"]`); a list of exclusions only
 *   matches nothing.
 * - A remote cluster prefix (`remote:logs-*`, `*:logs-*`) is dropped: a stream has no clusters.
 * - Comma-separated expressions inside one entry are split.
 * - A rule without `index`, or with an empty one (Kibana then uses the default security data
 *   view; ES|QL rules name their sources in the query), is in scope of every event.
 */
import { compileWildcard, fieldGetter, type Event } from "../eql/index.js";

/** Tests an event's stream name (from `eventStreamName`); null is an event of unknown origin. */
export type IndexScope = (streamName: string | null) => boolean;

export interface IndexScopeOptions {
  /**
   * Whether events without `_index` and data stream fields are in scope.
   * @default true
   */
  readonly matchEventsWithoutDataStream?: boolean;
}

const dataStreamType = fieldGetter(["data_stream", "type"]);
const dataStreamDataset = fieldGetter(["data_stream", "dataset"]);
const dataStreamNamespace = fieldGetter(["data_stream", "namespace"]);
const indexField = fieldGetter(["_index"]);

/** The name an event's rule scope is tested on, or null when it has none. */
export function eventStreamName(event: Event): string | null {
  const index = indexField(event);
  if (typeof index === "string" && index !== "") return indexToStreamName(index);
  const type = dataStreamType(event);
  const dataset = dataStreamDataset(event);
  const namespace = dataStreamNamespace(event);
  if (typeof type === "string" && typeof dataset === "string" && typeof namespace === "string" && type !== "" && dataset !== "" && namespace !== "") {
    return `${type}-${dataset}-${namespace}`;
  }
  return null;
}

const DS_PREFIX = ".ds-";
const ALERTS_INTERNAL_PREFIX = ".internal.alerts-";

/**
 * The data stream (or alias) an index name belongs to:
 * `.ds-logs-endpoint.events.process-default-2024.01.01-000001` -> `logs-endpoint.events.process-default`.
 */
export function indexToStreamName(index: string): string {
  let name = index;
  const colon = name.indexOf(":");
  if (colon >= 0) name = name.slice(colon + 1);
  const ds = name.indexOf(DS_PREFIX);
  if (ds >= 0 && lifecyclePrefix(name, ds)) {
    const rest = name.slice(ds + DS_PREFIX.length);
    const cut = backingSuffixStart(rest);
    if (cut > 0) return rest.slice(0, cut);
    return name;
  }
  if (name.startsWith(ALERTS_INTERNAL_PREFIX)) {
    const cut = generationSuffixStart(name);
    if (cut > ALERTS_INTERNAL_PREFIX.length) return `.alerts-${name.slice(ALERTS_INTERNAL_PREFIX.length, cut)}`;
  }
  return name;
}

/** True when name[0..end) is empty or made of ILM / snapshot prefixes (`partial-`, `shrink-abcd-`, ...). */
function lifecyclePrefix(name: string, end: number): boolean {
  let i = 0;
  while (i < end) {
    if (name.startsWith("partial-", i)) i += 8;
    else if (name.startsWith("restored-", i)) i += 9;
    else if (name.startsWith("shrink-", i) || name.startsWith("downsample-", i)) {
      const dash = name.indexOf("-", name.indexOf("-", i) + 1);
      if (dash < 0 || dash >= end) return false;
      i = dash + 1;
    } else return false;
  }
  return i === end;
}

/** Start of `-yyyy.MM.dd-NNNNNN` at the end of `s`, or -1. */
function backingSuffixStart(s: string): number {
  const gen = generationSuffixStart(s);
  if (gen < 0) return -1;
  // s[gen-10 .. gen) must be yyyy.MM.dd and s[gen-11] a dash.
  const d = gen - 10;
  if (d < 2 || s.charCodeAt(d - 1) !== 45) return -1;
  for (let k = 0; k < 10; k++) {
    const c = s.charCodeAt(d + k);
    const ok = k === 4 || k === 7 ? c === 46 : c >= 48 && c <= 57;
    if (!ok) return -1;
  }
  return d - 1;
}

/** Start of `-NNNNNN` (six or more digits) at the end of `s`, or -1; the result points at the dash. */
function generationSuffixStart(s: string): number {
  let i = s.length;
  while (i > 0 && s.charCodeAt(i - 1) >= 48 && s.charCodeAt(i - 1) <= 57) i--;
  if (s.length - i < 6 || i === 0 || s.charCodeAt(i - 1) !== 45) return -1;
  return i - 1;
}

interface CompiledPattern {
  readonly exclude: boolean;
  readonly match: (name: string) => boolean;
}

/** The expressions of a rule's `index` list: split on commas, trimmed, exclusions marked, cluster prefixes dropped. */
export function indexExpressions(patterns: readonly string[]): { exclude: boolean; pattern: string }[] {
  const out: { exclude: boolean; pattern: string }[] = [];
  for (const entry of patterns) {
    for (const raw of entry.split(",")) {
      let p = raw.trim();
      let exclude = false;
      if (p.startsWith("-")) {
        exclude = true;
        p = p.slice(1);
      }
      const colon = p.indexOf(":");
      if (colon >= 0) p = p.slice(colon + 1);
      if (!exclude && p.startsWith("-")) {
        exclude = true; // `cluster:-pattern`
        p = p.slice(1);
      }
      if (p !== "") out.push({ exclude, pattern: p });
    }
  }
  return out;
}

/** Compiles a rule's `index` patterns into a scope test on stream names. */
export function compileIndexScope(patterns: readonly string[] | undefined, options: IndexScopeOptions = {}): IndexScope {
  const withoutStream = options.matchEventsWithoutDataStream ?? true;
  if (patterns === undefined || patterns.length === 0) return () => true;
  const compiled: CompiledPattern[] = indexExpressions(patterns).map(({ exclude, pattern }) => ({
    exclude,
    // Only `*` occurs in index patterns (`?` is not allowed in index names).
    match: compileWildcard(pattern),
  }));
  const n = compiled.length;
  if (!compiled.some((p) => p.exclude)) {
    const matchers = compiled.map((p) => p.match);
    if (matchers.length === 1) {
      const only = matchers[0]!;
      return (name) => (name === null ? withoutStream : only(name));
    }
    return (name) => {
      if (name === null) return withoutStream;
      for (let i = 0; i < n; i++) if (matchers[i]!(name)) return true;
      return false;
    };
  }
  return (name) => {
    if (name === null) return withoutStream;
    let included = false;
    for (let i = 0; i < n; i++) {
      const p = compiled[i]!;
      // An inclusion only matters while not included, an exclusion only while included.
      if (p.exclude === included && p.match(name)) included = !p.exclude;
    }
    return included;
  };
}
