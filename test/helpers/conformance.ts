import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseToml } from "smol-toml";

export const CONFORMANCE_DIR = fileURLToPath(new URL("../conformance/elasticsearch/", import.meta.url));

export interface SpecQuery {
  readonly name: string;
  readonly query: string;
  readonly expected_event_ids: readonly number[] | readonly (readonly number[])[];
  readonly join_keys?: readonly (string | null)[];
  readonly size?: number;
  readonly max_samples_per_key?: number;
}

/**
 * Reads a spec TOML file. Elasticsearch's Java TOML parser accepts bare `null` inside
 * `join_keys` arrays; standard TOML does not, so those become the string "null" first.
 */
export function readSpec(file: string): SpecQuery[] {
  let text = readFileSync(CONFORMANCE_DIR + file, "utf8");
  text = text.replace(/^(join_keys\s*=\s*\[[^\]]*\])/gms, (m) => m.replace(/(?<=[[,\s])null(?=\s*[,\]])/g, '"null"'));
  const doc = parseToml(text) as unknown as { queries: SpecQuery[] };
  return doc.queries.map((q, i) => ({ ...q, name: q.name ?? `${file}#${i}` }));
}

/** The 102-event data set of test_queries.toml, with ES's epoch-millisecond `@timestamp`. */
export function readTestData(): Record<string, unknown>[] {
  const raw = JSON.parse(readFileSync(CONFORMANCE_DIR + "data/test_data.json", "utf8")) as Record<string, unknown>[];
  return raw.map((e) => ({
    ...e,
    "@timestamp": Number(BigInt(e.timestamp as number) / 10000n - 11644473600000n),
  }));
}

/** A `.data` file: a JSON array, possibly with `//` comment lines. */
export function readDataFile(name: string): Record<string, unknown>[] {
  const text = readFileSync(CONFORMANCE_DIR + "data/" + name, "utf8")
    .split("\n")
    .filter((l) => !/^\s*\/\//.test(l))
    .join("\n");
  return JSON.parse(text) as Record<string, unknown>[];
}

/** A `.mapping` file: an Elasticsearch mapping as JSON. */
export function readMapping(name: string): unknown {
  return JSON.parse(readFileSync(CONFORMANCE_DIR + "data/" + name, "utf8"));
}
