import { AtomTable } from "./atoms.js";
import type { CompiledStage } from "./compile.js";
import { bestClause, clauseScore, emitProgram, necessaryClauses, programTree, runProgram } from "./stage-program.js";
import { fieldGetter, type Event, type FieldGetter } from "./values.js";

/**
 * An index over many stage predicates, so that an event is tested only against the stages it
 * could match, and those tests share their work.
 *
 * Each stage's condition is compiled into a program over atoms (stage-program.ts, atoms.ts):
 * distinct tests shared by all stages and evaluated at most once per event. From the program come
 * its necessary clauses: disjunctions of field tests that must hold for the stage to match, such
 * as `process.name : ("a.exe", "b.exe")`, `event.action == "start"`, `file.path : "*\\temp\\*"`
 * or the two-field `process.name : "x.exe" or process.pe.original_file_name == "x.exe"`. Stages
 * are indexed by category and by their most selective clause (the anchor): per event, the index
 * reads the event's category, walks the event once (field-scan.ts), and the tests that the values
 * of the anchor fields it found pass lead to the stages anchored on them (`AtomTable.forEachHit`).
 *
 * - `candidates(event)`: the stages reached through an anchor whose other clauses hold as well: a
 *   superset of the stages the event matches, each of which the caller tests with its `condition`.
 * - `matches(event)`: exactly the stages the event matches (category and condition), with each
 *   candidate's program evaluated on the shared atoms.
 *
 * The per-stage data are typed arrays (stage -> bucket, program offset; atom -> anchored stages),
 * so that visiting a stage touches a few integers rather than a graph of objects.
 */

export interface IndexedStage<T> {
  readonly stage: CompiledStage;
  readonly value: T;
}

interface CategoryBucket {
  readonly id: number;
  /** Fields of the atoms the bucket's stages are anchored on. */
  readonly anchorFields: number[];
  /** Stages with no usable clause: always candidates in this category. */
  readonly always: number[];
}

/** The buckets of the stages whose category is read from one field. */
interface CategoryGroup {
  readonly get: FieldGetter;
  readonly buckets: Map<string, CategoryBucket>;
}

export interface StageIndex<T> {
  /**
   * Stages the event could match (a superset of those it matches), each once. The event is in
   * each candidate's category (or the stage is `any`): its `condition` alone decides.
   */
  candidates(event: Event): IndexedStage<T>[];
  /** The stages the event matches (`stage.matches(event)` is true), each once. */
  matches(event: Event): IndexedStage<T>[];
  /** How the stages were indexed, for reports. */
  readonly stats: { readonly stages: number; readonly indexed: number; readonly always: number; readonly fields: number; readonly atoms: number };
}

const NONE = new Int32Array(0);

/**
 * Builds the index. Each stage's category is read from the stage's own `categoryField` (a rule's
 * `event_category_override` included); the second argument is accepted for compatibility and not
 * needed.
 */
export function buildStageIndex<T>(entries: readonly IndexedStage<T>[], _categoryField?: string): StageIndex<T> {
  const atoms = new AtomTable();
  const code: number[] = [];
  const checkCode: number[] = [];
  const groups = new Map<string, CategoryGroup>();
  const buckets: CategoryBucket[] = [];
  const newBucket = (): CategoryBucket => {
    const b: CategoryBucket = { id: buckets.length, anchorFields: [], always: [] };
    buckets.push(b);
    return b;
  };
  const anyBucket = newBucket();
  const bucketOf = (stage: CompiledStage): CategoryBucket => {
    if (stage.category === null) return anyBucket;
    let g = groups.get(stage.categoryField);
    if (!g) groups.set(stage.categoryField, (g = { get: fieldGetter(stage.categoryField.split(".")), buckets: new Map() }));
    let b = g.buckets.get(stage.category);
    if (!b) g.buckets.set(stage.category, (b = newBucket()));
    return b;
  };
  const n = entries.length;
  const slotBucket = new Int32Array(n);
  const slotPc = new Int32Array(n);
  /** Offset of each stage's clauses besides the anchor in `checks`: [count, (length, atom ids...)*]. */
  const slotChecks = new Int32Array(n);
  /** Stages anchored on each atom. */
  const anchoredLists: number[][] = [];
  /**
   * Per field, the stages anchored on one of its atoms that a hash lookup may not find (anything
   * but an indexable equality): visited when the field's value is seen for the first time (its
   * entry is not complete). Their programs test cheap atoms first (`host.os.type`,
   * `event.action`), so this costs less than testing those atoms (mostly wildcards) on the value:
   * measured, 12-24% less with all rules, where first-seen values are mostly file paths.
   */
  const lazyLists: number[][] = [];
  let indexed = 0;
  let always = 0;
  const anchorFieldSet = new Set<number>();
  entries.forEach((entry, s) => {
    const tree = programTree(entry.stage.filter.condition, entry.stage.mappings, atoms);
    slotPc[s] = emitProgram(tree, code);
    const clauses = necessaryClauses(tree, atoms);
    const best = bestClause(clauses, atoms);
    const anchor = best !== null && clauseScore(best, atoms) < Infinity ? best : null;
    slotChecks[s] = checkCode.length;
    const rest = clauses.filter((c) => c !== anchor);
    checkCode.push(rest.length);
    for (const c of rest) checkCode.push(c.length, ...c);
    const b = bucketOf(entry.stage);
    slotBucket[s] = b.id;
    if (!anchor) {
      b.always.push(s);
      always++;
      return;
    }
    indexed++;
    for (const id of anchor) {
      const f = atoms.fieldOfAtom(id);
      anchorFieldSet.add(f);
      if (!b.anchorFields.includes(f)) b.anchorFields.push(f);
      (anchoredLists[id] ??= []).push(s);
      if (!atoms.isIndexable(id)) {
        const lazy = (lazyLists[f] ??= []);
        if (!lazy.includes(s)) lazy.push(s);
      }
    }
  });
  atoms.seal();
  const anchored: Int32Array[] = [];
  for (let id = 0; id < atoms.size; id++) anchored.push(anchoredLists[id] ? Int32Array.from(anchoredLists[id]!) : NONE);
  const program = Int32Array.from(code);
  const checkArr = Int32Array.from(checkCode);
  const groupList = [...groups.values()];
  /** 1 for the fields some stage is anchored on. */
  const anchorOf = new Uint8Array(atoms.fieldCount);
  for (const f of anchorFieldSet) anchorOf[f] = 1;
  /** Per bucket, the anchor fields read outside the walk (backquoted dotted names and the like). */
  const directAnchorFields = buckets.map((b) => b.anchorFields.filter((f) => atoms.isDirectField(f)));
  /** Per bucket, 1 for the fields its stages are anchored on. */
  const anchorIn = buckets.map((b) => {
    const m = new Uint8Array(atoms.fieldCount);
    for (const f of b.anchorFields) m[f] = 1;
    return m;
  });

  // Per call, stamps mark the visited stages, the event's buckets and the anchor fields read.
  const marks = new Uint32Array(n);
  const bucketMarks = new Uint32Array(buckets.length);
  const fieldMarks = new Uint32Array(anchorFieldSet.size === 0 ? 0 : Math.max(...anchorFieldSet) + 1);
  let stamp = 0;
  let out: IndexedStage<T>[] = [];
  let exact = false;
  const active: CategoryBucket[] = [];

  /** The stage's clauses besides the anchor all hold (each has a true atom). */
  const checksHold = (at: number): boolean => {
    const count = checkArr[at]!;
    let p = at + 1;
    for (let c = 0; c < count; c++) {
      const len = checkArr[p]!;
      let ok = false;
      for (let k = p + 1; k <= p + len; k++) {
        if (atoms.truth(checkArr[k]!)) {
          ok = true;
          break;
        }
      }
      if (!ok) return false;
      p += len + 1;
    }
    return true;
  };
  const visit = (s: number) => {
    if (marks[s] === stamp || bucketMarks[slotBucket[s]!] !== stamp) return;
    marks[s] = stamp;
    if (exact ? runProgram(program, slotPc[s]!, atoms) : checksHold(slotChecks[s]!)) out.push(entries[s]!);
  };
  const visitAll = (list: Int32Array | readonly number[]) => {
    for (let i = 0; i < list.length; i++) visit(list[i]!);
  };
  const onHit = (atom: number) => visitAll(anchored[atom]!);
  const lazy: Int32Array[] = [];
  for (const f of anchorFieldSet) lazy[f] = lazyLists[f] ? Int32Array.from(lazyLists[f]!) : NONE;
  const onIncomplete = (f: number) => visitAll(lazy[f]!);
  // A complete value entry leads to the same stages every time: listed once, kept in the entry.
  atoms.setAnchoredStages((trueAtoms) => {
    const set = new Set<number>();
    for (const id of trueAtoms) for (const s of anchored[id]!) set.add(s);
    return [...set];
  });
  const onStages = (list: Int32Array, from: number) => {
    for (let i = from; i < list.length; i++) visit(list[i]!);
  };
  /** Visits the stages the field's value leads to (in any of the event's buckets). */
  const anchorField = (f: number) => {
    if (fieldMarks[f] === stamp) return;
    fieldMarks[f] = stamp;
    atoms.forEachHit(f, onHit, onStages, onIncomplete);
  };
  const activate = (b: CategoryBucket) => {
    if (bucketMarks[b.id] === stamp) return;
    bucketMarks[b.id] = stamp;
    active.push(b);
  };
  const run = (event: Event, wantExact: boolean): IndexedStage<T>[] => {
    stamp = stamp === 0xffffffff ? 1 : stamp + 1;
    if (stamp === 1) {
      marks.fill(0);
      bucketMarks.fill(0);
      fieldMarks.fill(0);
    }
    out = [];
    exact = wantExact;
    atoms.begin(event);
    active.length = 0;
    activate(anyBucket);
    for (const g of groupList) {
      const cat = g.get(event);
      if (typeof cat === "string") {
        const b = g.buckets.get(cat);
        if (b) activate(b);
      } else if (cat !== null && typeof cat === "object") {
        for (const c of cat) {
          const b = typeof c === "string" ? g.buckets.get(c) : undefined;
          if (b) activate(b);
        }
      }
    }
    for (const b of active) visitAll(b.always);
    // The anchor fields of the event's buckets: those the walk of the event found (a field it
    // did not find is missing, and leads nowhere), and those read outside the walk.
    const present = atoms.presentFields();
    if (present === null) {
      for (const b of active) for (const f of b.anchorFields) anchorField(f);
    } else {
      const fields = present.fields;
      for (let i = 0; i < present.count; i++) {
        const f = fields[i]!;
        if (anchorOf[f] === 0) continue;
        for (let k = 0; k < active.length; k++) {
          if (anchorIn[active[k]!.id]![f] === 1) {
            anchorField(f);
            break;
          }
        }
      }
      for (const b of active) for (const f of directAnchorFields[b.id]!) anchorField(f);
    }
    return out;
  };

  return {
    candidates: (event) => run(event, false),
    matches: (event) => run(event, true),
    stats: { stages: n, indexed, always, fields: anchorFieldSet.size, atoms: atoms.size },
  };
}
