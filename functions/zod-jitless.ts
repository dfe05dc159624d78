/**
 * zod without its JIT, in every function. Import this module first in a function entry: zod reads
 * the setting when a schema is constructed (Powertools' SqsSchema included), and ESM evaluates
 * imports in order.
 *
 * zod 4 compiles each object schema into a parser with `new Function` on its first parse, which
 * only pays off over many parses of one schema. A container parses each schema rarely: a rule file
 * once per cold start, one SQS event per invocation, a secret or an API answer now and then. The
 * compilation is then pure cold-start cost: with the seed rule, the first rule parse took 13 ms
 * with it and 5 ms without, the first SqsSchema parse 2.4 ms and 0.6 ms; even all 1,024 production
 * rule files parse faster without it (~100 ms -> ~87 ms cold). The parse results are the same.
 */
import { config } from "zod";

config({ jitless: true });
