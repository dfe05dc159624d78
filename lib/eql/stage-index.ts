import type { CompiledStage } from "./compile.js";
import { lower } from "./lower.js";
import { best, requirements } from "./requirements.js";
import { fieldGetter, type Event, type FieldGetter } from "./values.js";

/**
 * An index over many stage predicates, so that an event is tested only against the stages it
 * could match. Each stage's condition is analysed for a *required* equality: a conjunct such as
 * `process.name : ("a.exe", "b.exe")`, `event.action == "start"` or `dll.name in ("x.dll")` that
 * must hold for the stage to match. Stages are indexed by category and by the most selective
 * such conjunct; per event, the index looks up the event's category and the values of the few
 * indexed fields and returns the candidates. The candidates' full predicates are then evaluated,
 * so the index only has to be a superset: it never decides a match on its own.
 */

export interface IndexedStage<T> {
  readonly stage: CompiledStage;
  readonly value: T;
}

/** An entry with its position, for de-duplication by stamp instead of a Set per event. */
interface Slot<T> {
  readonly entry: IndexedStage<T>;
  readonly n: number;
}

interface FieldIndex<T> {
  readonly field: string;
  readonly get: FieldGetter;
  readonly cs: Map<string, Slot<T>[]>;
  readonly ci: Map<string, Slot<T>[]>;
}

interface CategoryBucket<T> {
  readonly fields: FieldIndex<T>[];
  /** Stages with no usable requirement: always candidates in this category. */
  readonly always: Slot<T>[];
}

export interface StageIndex<T> {
  /**
   * Stages the event could match (a superset of those it matches), each once. The event is in
   * each candidate's category (or the stage is `any`): its `condition` alone decides.
   */
  candidates(event: Event): IndexedStage<T>[];
  /** How the stages were indexed, for reports. */
  readonly stats: { readonly stages: number; readonly indexed: number; readonly always: number; readonly fields: number };
}

/**
 * Builds the index. `categoryField` must be the field every stage's category is tested on (stages
 * compiled with another category field, e.g. a rule's `event_category_override`, go to a separate
 * index or are listed as `always` by the caller).
 */
export function buildStageIndex<T>(entries: readonly IndexedStage<T>[], categoryField = "event.category"): StageIndex<T> {
  const buckets = new Map<string | null, CategoryBucket<T>>(); // null: `any where`
  const bucket = (c: string | null) => {
    let b = buckets.get(c);
    if (!b) buckets.set(c, (b = { fields: [], always: [] }));
    return b;
  };
  let indexed = 0;
  let always = 0;
  const fieldNames = new Set<string>();
  entries.forEach((entry, n) => {
    const slot: Slot<T> = { entry, n };
    const b = bucket(entry.stage.category);
    const req = best(requirements(entry.stage.filter.condition));
    if (!req) {
      b.always.push(slot);
      always++;
      return;
    }
    indexed++;
    fieldNames.add(req.field);
    let fi = b.fields.find((f) => f.field === req.field);
    if (!fi) {
      fi = { field: req.field, get: fieldGetter(req.field.split(".")), cs: new Map(), ci: new Map() };
      b.fields.push(fi);
    }
    const map = req.ci ? fi.ci : fi.cs;
    for (const v of req.values) {
      let list = map.get(v);
      if (!list) map.set(v, (list = []));
      list.push(slot);
    }
  });
  const categoryGet = fieldGetter(categoryField.split("."));
  const anyBucket = buckets.get(null);

  // An entry is a candidate once per event: marked with the stamp of the current call.
  const marks = new Uint32Array(entries.length);
  let stamp = 0;
  let out: IndexedStage<T>[] = [];
  const add = (list: readonly Slot<T>[]) => {
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (marks[s.n] !== stamp) {
        marks[s.n] = stamp;
        out.push(s.entry);
      }
    }
  };
  const lookup = (f: FieldIndex<T>, x: string | number | boolean) => {
    const text = typeof x === "string" ? x : String(x);
    const hits = f.cs.get(text);
    if (hits) add(hits);
    if (f.ci.size > 0) {
      const ciHits = f.ci.get(lower(text));
      if (ciHits) add(ciHits);
    }
  };
  const collect = (b: CategoryBucket<T>, event: Event) => {
    add(b.always);
    for (const f of b.fields) {
      const v = f.get(event);
      if (v === null) continue;
      if (typeof v === "object") for (const x of v) lookup(f, x);
      else lookup(f, v);
    }
  };

  return {
    candidates(event) {
      stamp = stamp === 0xffffffff ? 1 : stamp + 1;
      if (stamp === 1) marks.fill(0);
      out = [];
      if (anyBucket) collect(anyBucket, event);
      const cat = categoryGet(event);
      if (typeof cat === "string") {
        const b = buckets.get(cat);
        if (b) collect(b, event);
      } else if (cat !== null && typeof cat === "object") {
        for (const c of cat) {
          const b = typeof c === "string" ? buckets.get(c) : undefined;
          if (b) collect(b, event);
        }
      }
      return out;
    },
    stats: { stages: entries.length, indexed, always, fields: fieldNames.size },
  };
}

