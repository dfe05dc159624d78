// The baseline of the replay benchmark: read an NDJSON file the way `triage replay` does (a
// stream decoded as UTF-8, split into lines) and JSON.parse every line; nothing else.
import { createReadStream } from "node:fs";

let rest = "";
let events = 0;
for await (const chunk of createReadStream(process.argv[2], { encoding: "utf8" })) {
  const text = rest + chunk;
  let start = 0;
  for (;;) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) break;
    if (nl > start && typeof JSON.parse(text.slice(start, nl)) === "object") events++;
    start = nl + 1;
  }
  rest = text.slice(start);
}
if (rest.trim().length > 0 && typeof JSON.parse(rest) === "object") events++;
console.log(`${events} events`);
