/**
 * The event queries (no sequence, no sample) of the Elasticsearch spec files, run as filters over
 * their data set: this checks every operator and function against Elasticsearch's own
 * expectations. Sequences and samples are the batch evaluator's conformance suite.
 */
import { describe, expect, it } from "vitest";
import { compile } from "../lib/eql/index.js";
import { readSpec, readTestData } from "./helpers/conformance.js";

const events = readTestData();
// ES orders by @timestamp, then by the tiebreaker (serial_event_id).
const ordered = [...events].sort(
  (a, b) => (a["@timestamp"] as number) - (b["@timestamp"] as number) || (a.serial_event_id as number) - (b.serial_event_id as number),
);

function runEventQuery(query: string): number[] {
  const compiled = compile(query, { categoryField: "event_type" });
  if (!compiled.success) throw new Error(compiled.errors.map((e) => e.pretty()).join("\n"));
  const q = compiled.data;
  expect(q.kind).toBe("EventQuery");
  let hits = ordered.filter((e) => q.stages[0]!.matches(e));
  for (const pipe of q.pipes) hits = pipe.name === "head" ? hits.slice(0, pipe.count) : hits.slice(-pipe.count);
  return hits.map((e) => e.serial_event_id as number);
}

for (const file of ["test_queries.toml", "additional_test_queries.toml"]) {
  const eventQueries = readSpec(file).filter((q) => !/^\s*(sequence|sample|join)\b/.test(q.query));
  describe(`${file} event queries`, () => {
    it("has event queries to run", () => {
      expect(eventQueries.length).toBeGreaterThan(20);
    });
    for (const q of eventQueries) {
      it(q.name, () => {
        expect(runEventQuery(q.query)).toEqual(q.expected_event_ids);
      });
    }
  });
}
