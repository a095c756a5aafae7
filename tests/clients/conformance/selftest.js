#!/usr/bin/env node
'use strict';
// Checks that the raw-JSON checks of rawjson.js catch what the real client
// would silently round or drop (clients.md §2.4), so a green conformance run
// means something. Run by run-clients.sh before the conformance run.
const { wireProblems } = require('./rawjson');

const cases = [
  // [raw body, number of problems expected]
  ['{"start":1700000000000000123,"end":1700000010000000123}', 0],
  ['{"start":1700000000000000123.0,"end":1}', 1],
  ['{"start":1.7e18,"end":1}', 1],
  ['{"start":"1700000000000000123","end":1}', 1],
  ['{"model":{"annotations":{"a":[{"time":1,"duration":1000000000.5,"entryId":1}]}}}', 1],
  ['{"model":{"entries":[{"id":1152921504606846976,"parentId":-1,"labels":[]}]}}', 1],
  ['{"model":{"entries":[{"id":"7","labels":[]}]}}', 1],
  ['[{"id":"org.example.output","parentId":"org.example.parent","name":"x"}]', 0],
  ['{"nbEvents":9007199254740993}', 1],
  ['{"model":{"series":[{"seriesId":1,"xValues":[1,2.5],"yValues":[0.30000000000000004,9007199254740993]}]}}', 2],
  ['{"model":{"series":[{"seriesId":1,"xValues":[1,2],"yValues":[1e300,9007199254740993.0]}]}}', 0],
  ['{"model":{"lowIndex":0,"size":3,"columnIds":[1,2,9007199254740993],"lines":[]}}', 1],
  ['{"properties":{"size":"big","start":"whenever"},"start":1,"end":2}', 0],
  ['{"model":{"rows":[{"entryId":1,"states":[{"start":1,"end":2,"tags":1.5}]}]}}', 1],
  ['{"model":{"series":[{"xRanges":[{"start":1,"end":2.0}]}]}}', 1],
  ['{"axisDomain":{"start":0,"end":1e3}}', 1],
];
let failed = 0;
for (const [body, want] of cases) {
  const got = wireProblems(body);
  if (got.length !== want) {
    failed++;
    console.log(`FAIL selftest ${body}: ${got.length} problems, expected ${want}: ${got.join('; ')}`);
  }
}
console.log(`selftest: ${cases.length - failed} of ${cases.length} raw-JSON cases as expected`);
process.exitCode = failed ? 1 : 0;
