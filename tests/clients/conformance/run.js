#!/usr/bin/env node
'use strict';
// TSP conformance run with the real tsp-typescript-client 0.9.0 (the client
// of the VS Code Trace Viewer and Theia). It opens a trace the way the
// viewers do (tsp.md d.2) and replays, for every output the server lists,
// that output type's viewer call sequence (d.4-d.8), checking every model
// the client hands back, the raw JSON the server wrote, and the checklist (e)
// items the C++ HTTP tests (tests/tsp/) do not cover.
//
//   node run.js http://127.0.0.1:PORT/tsp/api /abs/path/of/trace
//
// Prints PASS/FAIL lines, then "N passed, N failed"; exit 1 on any failure.

const path = require('path');
const { HttpTspClient, Query, QueryHelper } = require('tsp-typescript-client');
const { wireProblems } = require('./rawjson');

const [baseUrl, tracePath] = process.argv.slice(2);
if (!baseUrl || !tracePath) {
  console.error('usage: node run.js <TSP base URL> <absolute trace path>');
  process.exit(2);
}

const client = new HttpTspClient(baseUrl);
let passed = 0;
let failed = 0;
const pass = (name, note) => { passed++; console.log(`PASS ${name}${note ? ` (${note})` : ''}`); };
const fail = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The client swallows parse and normalisation errors with console.log and
// returns an undefined model; keep those messages to report them.
const swallowed = [];
const realLog = console.log;
console.log = (...args) => {
  const s = args.map(String).join(' ');
  if (s.startsWith('Error normalizing') || s.startsWith('Error parsing')) swallowed.push(s);
  else realLog(...args);
};

const STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const TYPES = ['TABLE', 'TREE_TIME_XY', 'TREE_GENERIC_XY', 'TIME_GRAPH', 'DATA_TREE', 'NONE', 'GANTT_CHART'];
const isBig = (v) => typeof v === 'bigint';
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const isInt = (v) => Number.isSafeInteger(v);

class Check extends Error {}
const need = (cond, why) => { if (!cond) throw new Check(why); };

// One client call: must not throw, must be 200, must give a model, the raw
// body must have bare integer times and safe ids, then `check(model)` runs.
// Returns the model (or undefined on failure).
async function call(name, fn, check, opts = {}) {
  swallowed.length = 0;
  let resp;
  try {
    resp = await fn();
  } catch (e) {
    fail(name, `the client threw ${e && e.stack ? e.stack.split('\n')[0] : e}`);
    return undefined;
  }
  try {
    if (!resp.isOk()) {
      throw new Check(`HTTP ${resp.getStatusCode()} ${resp.getStatusMessage()}: ${resp.getText().slice(0, 200)}`);
    }
    const model = resp.getModel();
    if (model === undefined) {
      throw new Check(swallowed.length ? `model dropped by the client: ${swallowed.join(' | ')}`
        : 'model undefined (Content-Type not exactly application/json?)');
    }
    if (!opts.skipWire) {
      const problems = wireProblems(resp.getText());
      if (problems.length) throw new Check(`raw JSON: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3})` : ''}`);
    }
    if (opts.generic) {
      need(STATUSES.includes(model.status), `GenericResponse status ${JSON.stringify(model.status)}`);
      need(typeof model.statusMessage === 'string', 'GenericResponse without statusMessage');
      need(model.model !== null && model.model !== undefined, 'GenericResponse model is null');
    }
    const note = check ? await check(model) : undefined;
    pass(name, note);
    return model;
  } catch (e) {
    if (e instanceof Check) fail(name, e.message);
    else fail(name, `check crashed: ${e && e.stack ? e.stack.split('\n').slice(0, 2).join(' ') : e}`);
    return undefined;
  }
}

// An error path: the client must report `status` with a TSP error body
// ({title, detail}) whose title starts with `title` when given.
async function expectError(name, fn, status, title) {
  swallowed.length = 0;
  try {
    const resp = await fn();
    need(resp.getStatusCode() === status, `HTTP ${resp.getStatusCode()}, expected ${status}: ${resp.getText().slice(0, 160)}`);
    const err = resp.getErrorResponse();
    need(err && typeof err.title === 'string', `no TSP error body (${resp.getText().slice(0, 120)})`);
    need(err.detail === undefined || err.detail === null || typeof err.detail === 'string', 'detail is not a string or null');
    if (title) need(err.title === title, `title ${JSON.stringify(err.title)}, expected ${JSON.stringify(title)}`);
    pass(name);
  } catch (e) {
    fail(name, e instanceof Check ? e.message : `threw ${e}`);
  }
}

function checkRange(o, what) {
  need(isBig(o.start) && isBig(o.end), `${what}: start/end are not BigInt (${typeof o.start}/${typeof o.end})`);
  need(o.start <= o.end, `${what}: start ${o.start} > end ${o.end}`);
}

// Tree checks shared by every tree endpoint; returns a note.
function checkTree(model, { timeGraph, xy }) {
  const m = model.model;
  need(Array.isArray(m.entries), 'entries is not an array');
  need(m.headers === undefined || Array.isArray(m.headers), 'headers is not an array');
  const ids = new Set();
  for (const e of m.entries) {
    need(isInt(e.id), `entry id ${e.id} is not a safe integer`);
    need(!ids.has(e.id), `duplicate entry id ${e.id}`);
    ids.add(e.id);
    need(Array.isArray(e.labels) && e.labels.every((l) => typeof l === 'string'), `entry ${e.id}: labels is not an array of strings`);
    if (e.style) need(e.style.values && typeof e.style.values === 'object', `entry ${e.id}: style without values`);
    if (timeGraph) checkRange(e, `entry ${e.id}`);
    if (xy) need(typeof e.isDefault === 'boolean', `entry ${e.id}: isDefault is not a boolean`);
  }
  for (const e of m.entries) {
    need(e.parentId === undefined || e.parentId === -1 || ids.has(e.parentId), `entry ${e.id}: parentId ${e.parentId} is not in the tree`);
  }
  return `${m.entries.length} entries`;
}

// The tree loop of the viewers: repeat while status is RUNNING (500 ms x factor).
async function pollTree(name, fetch, kind) {
  const t0 = Date.now();
  for (let factor = 1; ; factor = Math.min(factor + 1, 11)) {
    swallowed.length = 0;
    const resp = await fetch();
    const model = resp.getModel();
    if (resp.isOk() && model && model.status === 'RUNNING' && Date.now() - t0 < 60000) {
      await sleep(500 * Math.min(factor, 2));
      continue;
    }
    return call(name, async () => resp, (m) => {
      need(m.status === 'COMPLETED', `tree status ${m.status} after ${Date.now() - t0} ms`);
      return checkTree(m, kind);
    }, { generic: true });
  }
}

function checkStyleRef(style, styles, what) {
  if (!style) return;
  need(style.values && typeof style.values === 'object', `${what}: style without values`);
  if (style.parentKey !== undefined) {
    need(Object.prototype.hasOwnProperty.call(styles, style.parentKey), `${what}: parentKey ${JSON.stringify(style.parentKey)} is not in /style`);
  }
}

function checkStates(m, requested, styles, tag) {
  const rows = m.model.rows;
  need(Array.isArray(rows), 'rows is not an array');
  const req = new Set(requested);
  let n = 0;
  for (const r of rows) {
    need(isInt(r.entryId), `row entryId ${r.entryId} is not a safe integer`);
    need(req.has(r.entryId), `row ${r.entryId} was not requested`);
    need(Array.isArray(r.states), `row ${r.entryId}: states is not an array`);
    let prevEnd = null;
    for (const s of r.states) {
      checkRange(s, `${tag} row ${r.entryId} state`);
      need(prevEnd === null || s.start >= prevEnd, `row ${r.entryId}: state at ${s.start} overlaps the previous one (ends ${prevEnd})`);
      prevEnd = s.end;
      need(s.tags === undefined || isInt(s.tags), `row ${r.entryId}: tags ${s.tags}`);
      need(s.label === undefined || typeof s.label === 'string', `row ${r.entryId}: label is not a string`);
      checkStyleRef(s.style, styles, `row ${r.entryId} state at ${s.start}`);
      n++;
    }
  }
  return n;
}

function checkAnnotations(m, styles) {
  const a = m.model.annotations;
  need(a && typeof a === 'object' && !Array.isArray(a), 'annotations is not an object');
  let n = 0;
  for (const [cat, list] of Object.entries(a)) {
    need(Array.isArray(list), `category ${cat} is not an array`);
    for (const x of list) {
      need(isBig(x.time) && isBig(x.duration), `${cat}: time/duration not BigInt`);
      need(x.duration >= 0n, `${cat}: negative duration`);
      need(isInt(x.entryId), `${cat}: entryId ${x.entryId}`);
      need(x.type === 'CHART' || x.type === 'TREE', `${cat}: type ${x.type}`);
      checkStyleRef(x.style, styles, `annotation ${cat}`);
      n++;
    }
  }
  return n;
}

// ---- TIME_GRAPH (d.4), also used for GANTT_CHART -------------------------
async function timeGraph(exp, out) {
  const id = out.id;
  const tag = `${out.type} ${id}`;
  const S = exp.start;
  const E = exp.end;
  const stylesModel = await call(`${tag} style`, () => client.fetchStyles(exp.UUID, id, QueryHelper.query()), (m) => {
    const st = m.model.styles;
    need(st && typeof st === 'object' && !Array.isArray(st), 'styles is not an object');
    for (const [k, v] of Object.entries(st)) {
      need(v && v.values && typeof v.values === 'object', `style ${k} has no values`);
      if (v.parentKey !== undefined) need(st[v.parentKey], `style ${k}: parentKey ${v.parentKey} undefined`);
    }
    return `${Object.keys(st).length} styles`;
  }, { generic: true });
  const styles = stylesModel ? stylesModel.model.styles : {};

  const tree = await pollTree(`${tag} tree (polled)`, () => client.fetchTimeGraphTree(exp.UUID, id, QueryHelper.timeRangeQuery(S, E)), { timeGraph: true });
  if (!tree) return;
  const entries = tree.model.entries;
  if (!entries.length) {
    fail(`${tag} tree`, 'empty tree: the viewer would show nothing');
    return;
  }
  const ids = entries.map((e) => e.id);

  // States and annotations go out together, for the whole range at a
  // realistic resolution (the real viewer sent nbTimes 1189 for 1189 px).
  const nbTimes = 1189;
  let statesModel;
  await Promise.all([
    call(`${tag} states (${ids.length} rows, nbTimes ${nbTimes})`,
      () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(S, E, nbTimes, ids)),
      (m) => {
        statesModel = m;
        const n = checkStates(m, ids, styles, 'full');
        need(n > 0, 'no state at all in the full range');
        return `${m.model.rows.length} rows, ${n} states`;
      }, { generic: true }),
    call(`${tag} annotations`,
      () => client.fetchAnnotations(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(S, E, nbTimes, ids)),
      (m) => `${checkAnnotations(m, styles)} annotations`, { generic: true }),
  ]);

  // Zoom into the middle tenth, as a user does; states must still match the tree.
  const span = E - S;
  const zS = S + span * 45n / 100n;
  const zE = S + span * 55n / 100n;
  await call(`${tag} states zoomed to the middle tenth`,
    () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(zS, zE, nbTimes, ids)),
    (m) => {
      const n = checkStates(m, ids, styles, 'zoom');
      for (const r of m.model.rows) for (const s of r.states) need(s.end >= zS && s.start <= zE, `row ${r.entryId}: state [${s.start}, ${s.end}] outside the window`);
      return `${n} states`;
    }, { generic: true });

  // Sampled coverage: a state returned for the full range must come back,
  // identical, when the window is that state itself.
  let picked;
  if (statesModel) {
    const cands = [];
    for (const r of statesModel.model.rows) for (const s of r.states) if (s.end > s.start) cands.push({ row: r.entryId, s });
    cands.sort((a, b) => Number((b.s.end - b.s.start) - (a.s.end - a.s.start)));
    picked = cands[0];
    if (cands.length) {
      const few = [cands[0], cands[Math.floor(cands.length / 2)], cands[cands.length - 1]];
      for (const [k, c] of few.entries()) {
        await call(`${tag} states window = one returned state (#${k + 1})`,
          () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(c.s.start, c.s.end, 2, [c.row])),
          (m) => {
            checkStates(m, [c.row], styles, 'window');
            const row = m.model.rows.find((r) => r.entryId === c.row);
            need(row, `row ${c.row} missing`);
            const same = row.states.find((s) => s.start === c.s.start && s.end === c.s.end);
            need(same, `state [${c.s.start}, ${c.s.end}] of row ${c.row} is not returned for its own window`);
            need((same.style && same.style.parentKey) === (c.s.style && c.s.style.parentKey), 'different style for the same state');
          }, { generic: true });
      }
    }
  }

  await call(`${tag} arrows`, () => client.fetchTimeGraphArrows(exp.UUID, id, QueryHelper.timeRangeQuery(S, E, nbTimes)), (m) => {
    need(Array.isArray(m.model), 'model is not an array');
    const idset = new Set(ids);
    for (const a of m.model) {
      need(isInt(a.sourceId) && isInt(a.targetId), 'sourceId/targetId');
      need(idset.has(a.sourceId) && idset.has(a.targetId), `arrow ${a.sourceId}->${a.targetId} refers to an entry not in the tree`);
      checkRange(a, 'arrow');
      checkStyleRef(a.style, styles, 'arrow');
    }
    return `${m.model.length} arrows`;
  }, { generic: true });

  if (picked) {
    const t = picked.s.start + (picked.s.end - picked.s.start) / 2n;
    for (const elementType of ['state', 'STATE']) {
      await call(`${tag} tooltip on a returned state (elementType ${elementType})`,
        () => client.fetchTimeGraphTooltip(exp.UUID, id, new Query({
          requested_times: [t], requested_items: [picked.row],
          requested_element: { elementType, time: picked.s.start, duration: picked.s.end - picked.s.start },
        })),
        (m) => {
          need(m.model && typeof m.model === 'object' && !Array.isArray(m.model), 'model is not an object');
          for (const [k, v] of Object.entries(m.model)) need(typeof v === 'string', `tooltip ${k} is not a string`);
          return `${Object.keys(m.model).length} keys`;
        }, { generic: true, skipWire: true });
    }
  } else {
    fail(`${tag} tooltip`, 'no state to hover');
  }

  await call(`${tag} annotation categories`, () => client.fetchAnnotationsCategories(exp.UUID, id), (m) => {
    const c = m.model.annotationCategories;
    need(Array.isArray(c) && c.every((x) => typeof x === 'string'), 'annotationCategories is not an array of strings');
    return `${c.length} categories`;
  }, { generic: true });
  await call(`${tag} annotations with requested_marker_categories`,
    () => client.fetchAnnotations(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(S, E, nbTimes, ids, { requested_marker_categories: ['vmtrace-no-such-category'] })),
    (m) => {
      checkAnnotations(m, styles);
      const keys = Object.keys(m.model.annotations).filter((k) => m.model.annotations[k].length);
      need(keys.every((k) => k === 'vmtrace-no-such-category'), `unrequested categories returned: ${keys.join(', ')}`);
    }, { generic: true });

  // Filters (the viewer's search box): tag bit 1 on states whose label or
  // style name matches, others untagged.
  if (picked) {
    const pk = picked.s.style && picked.s.style.parentKey;
    const word = picked.s.label || (pk && styles[pk] && styles[pk].values['style-name']) || pk;
    if (word) {
      const re = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await call(`${tag} states with filter_expressions_map {"1": [${JSON.stringify(word)}]}`,
        () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(picked.s.start, picked.s.end, 2, [picked.row],
          { filter_query_parameters: { strategy: 'SAMPLED', filter_expressions_map: { 1: [re] } } })),
        (m) => {
          const row = m.model.rows.find((r) => r.entryId === picked.row);
          need(row, 'row missing');
          const s = row.states.find((x) => x.start === picked.s.start);
          need(s, 'state missing');
          need(s.tags !== undefined && (s.tags & 1) === 1, `matching state has tags ${s.tags}`);
        }, { generic: true });
    }
  }

  // Checklist (e) error paths of the time-graph routes.
  await expectError(`${tag} states with {} is 400`, () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.query()), 400, 'Missing query parameters: requested_timerange');
  await expectError(`${tag} states without requested_items is 400`, () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.timeRangeQuery(S, E, 10)), 400, 'Missing query parameters: requested_items');
  await expectError(`${tag} states with requested_items 5 is 400`, () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.timeRangeQuery(S, E, 10, { requested_items: 5 })), 400, 'Invalid query parameters: requested_items');
  await call(`${tag} states with requested_items [] is empty`, () => client.fetchTimeGraphStates(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(S, E, 10, [])),
    (m) => need(Array.isArray(m.model.rows) && m.model.rows.length === 0, `rows ${JSON.stringify(m.model.rows && m.model.rows.length)}`), { generic: true });
  await expectError(`${tag} tooltip without requested_element is 400`,
    () => client.fetchTimeGraphTooltip(exp.UUID, id, new Query({ requested_times: [S], requested_items: [ids[0]] })), 400, 'Missing query parameters: requested_element');
  await expectError(`${tag} tree with requested_times of length 1 is 400`,
    () => client.fetchTimeGraphTree(exp.UUID, id, QueryHelper.timeQuery([S])), 400);
  await call(`${tag} tree with no parameters is the full tree`, () => client.fetchTimeGraphTree(exp.UUID, id, QueryHelper.query()),
    (m) => { checkTree(m, { timeGraph: true }); need(m.model.entries.length === entries.length, `${m.model.entries.length} entries, full range gave ${entries.length}`); },
    { generic: true });
}

// ---- TREE_TIME_XY (d.6) and TREE_GENERIC_XY ---------------------------------
async function xy(exp, out, generic) {
  const id = out.id;
  const tag = `${out.type} ${id}`;
  const S = exp.start;
  const E = exp.end;
  const fetchTree = generic ? client.fetchGenericXYTree.bind(client) : client.fetchXYTree.bind(client);
  const fetchXY = generic ? client.fetchGenericXY.bind(client) : client.fetchXY.bind(client);
  const tree = await pollTree(`${tag} tree (polled)`, () => fetchTree(exp.UUID, id, QueryHelper.timeRangeQuery(S, E)), { xy: true });
  if (!tree) return;
  const entries = tree.model.entries;
  if (!entries.length) {
    fail(`${tag} tree`, 'empty tree: the viewer would show nothing');
    return;
  }
  let checked = entries.filter((e) => e.isDefault).map((e) => e.id);
  let note = `${checked.length} isDefault series`;
  if (!checked.length) {
    // Nothing checked by default: the viewer shows an empty chart until the
    // user ticks a series; tick the first one that has data.
    const e = entries.find((x) => x.hasData !== false && x.parentId !== undefined && x.parentId !== -1) || entries[0];
    checked = [e.id];
    note = `no isDefault entry; ticked ${e.id}`;
  }
  const ranges = [['full range', S, E], ['middle tenth', S + (E - S) * 45n / 100n, S + (E - S) * 55n / 100n]];
  for (const [what, a, b] of ranges) {
    const width = 1000; // chart width in px
    await call(`${tag} xy ${what} (${note})`, () => fetchXY(exp.UUID, id, QueryHelper.selectionTimeRangeQuery(a, b, width, checked)), (m) => {
      const series = m.model.series;
      need(Array.isArray(series), 'series is not an array');
      need(series.length > 0, 'no series for the checked entries');
      const req = new Set(checked);
      let first;
      for (const s of series) {
        need(isInt(s.seriesId) && req.has(s.seriesId), `seriesId ${s.seriesId} was not requested`);
        need(typeof s.seriesName === 'string', 'seriesName');
        need(s.style && s.style.values, `series ${s.seriesId}: no style.values`);
        need(['line', 'scatter', 'bar', 'area'].includes(s.style.values['series-type']), `series ${s.seriesId}: series-type ${s.style.values['series-type']}`);
        need(Array.isArray(s.yValues) && s.yValues.every(isNum), `series ${s.seriesId}: yValues not all numbers`);
        if (!generic) {
          need(Array.isArray(s.xValues) && s.xValues.every(isBig), `series ${s.seriesId}: xValues not all BigInt`);
          need(s.xValues.length === s.yValues.length, `series ${s.seriesId}: ${s.xValues.length} xValues, ${s.yValues.length} yValues`);
          need(s.xValues.length === 0 || (s.xValues[0] >= a && s.xValues[s.xValues.length - 1] <= b), `series ${s.seriesId}: xValues outside the requested range`);
          for (let k = 1; k < s.xValues.length; k++) need(s.xValues[k] > s.xValues[k - 1], `series ${s.seriesId}: xValues not increasing`);
          // The viewer labels the axis with the last series' xValues.
          if (first) need(first.length === s.xValues.length && first.every((x, k) => x === s.xValues[k]), 'series do not share the same xValues');
          first = first || s.xValues;
        }
      }
      return `${series.length} series, ${first ? first.length : '?'} points`;
    }, { generic: true });
  }
}

// ---- TABLE (d.7) -------------------------------------------------------------
async function table(exp, out) {
  const id = out.id;
  const tag = `TABLE ${id}`;
  const cols = await call(`${tag} columns`, () => client.fetchTableColumns(exp.UUID, id, QueryHelper.query()), (m) => {
    need(Array.isArray(m.model) && m.model.length > 0, 'no columns');
    const seen = new Set();
    for (const c of m.model) {
      need(isInt(c.id) && !seen.has(c.id), `column id ${c.id} not a unique integer`);
      seen.add(c.id);
      need(typeof c.name === 'string', 'column name');
      need(c.description === undefined || c.description === null || typeof c.description === 'string', 'column description');
      need(typeof c.type === 'string', `column ${c.name}: type`);
    }
    return `${m.model.length} columns`;
  }, { generic: true });
  if (!cols) return;
  const colIds = cols.model.map((c) => c.id);
  const nsCol = cols.model.findIndex((c) => c.name === 'Timestamp ns');
  // An events table has a line per event; an analysis table (statistics,
  // breakdowns) has its own size, learnt from its first page.
  const isEvents = nsCol >= 0;
  let size = exp.nbEvents;
  if (!isEvents) {
    const first = await call(`${tag} size (analysis table)`,
      () => client.fetchTableLines(exp.UUID, id, QueryHelper.tableQuery(colIds, 0, 1)),
      (m) => { need(isInt(m.model.size), `size ${m.model.size}`); return `${m.model.size} lines`; },
      { generic: true });
    if (!first) return;
    size = first.model.size;
  }
  const page = 200;
  const pages = {};
  const checkPage = (m, index, count) => {
    const t = m.model;
    need(isInt(t.lowIndex) && isInt(t.size), 'lowIndex/size');
    need(t.size === size, `size ${t.size}, experiment nbEvents ${size}`);
    need(Array.isArray(t.columnIds) && t.columnIds.length === colIds.length, 'columnIds');
    const expect = Math.max(0, Math.min(count, size - index));
    need(t.lines.length === expect, `${t.lines.length} lines, expected ${expect}`);
    need(t.lines.length === 0 || t.lowIndex === index, `lowIndex ${t.lowIndex}`);
    t.lines.forEach((l, k) => {
      need(l.index === index + k, `line ${k} has index ${l.index}`);
      need(Array.isArray(l.cells) && l.cells.length === colIds.length, `line ${l.index}: ${l.cells && l.cells.length} cells`);
      need(l.cells.every((c) => typeof c.content === 'string'), `line ${l.index}: cell content not a string`);
    });
    if (nsCol >= 0) {
      let prev = null;
      for (const l of t.lines) {
        const ts = l.cells[nsCol].content;
        need(/^-?\d+$/.test(ts), `line ${l.index}: Timestamp ns ${JSON.stringify(ts)}`);
        need(prev === null || BigInt(ts) >= prev, `line ${l.index}: timestamps go back`);
        prev = BigInt(ts);
        need(prev >= exp.start && prev <= exp.end, `line ${l.index}: timestamp outside the experiment`);
      }
    }
    return `${t.lines.length} lines`;
  };
  const starts = [['first', 0], ['middle', Math.floor(size / 2)], ['last', Math.max(0, size - 50)]];
  for (const [what, index] of starts) {
    pages[what] = await call(`${tag} lines ${what} page (index ${index}, count ${page})`,
      () => client.fetchTableLines(exp.UUID, id, QueryHelper.tableQuery(colIds, index, page, { table_search_expressions: {} })),
      (m) => checkPage(m, index, page), { generic: true });
  }
  const mid = pages.middle && pages.middle.model.lines[0];
  if (mid && nsCol >= 0) {
    const t = BigInt(mid.cells[nsCol].content);
    await call(`${tag} time sync (requested_times [${t}])`,
      () => client.fetchTableLines(exp.UUID, id, new Query({ requested_times: [t], requested_table_count: 1 })),
      (m) => {
        const l = m.model.lines[0];
        need(l, 'no line');
        need(l.index <= mid.index, `index ${l.index} after the line ${mid.index} that has that time`);
        if (l.cells.length === colIds.length) need(BigInt(l.cells[nsCol].content) === t, `first event at or after ${t} has time ${l.cells[nsCol].content}`);
        return `index ${l.index}`;
      }, { generic: true });
  } else if (isEvents) {
    fail(`${tag} time sync`, 'no middle page');
  }
  // Events tables are searched on their event type, analysis tables on
  // their first column.
  const typeCol = isEvents ? cols.model.findIndex((c) => /event type/i.test(c.name)) : 0;
  if (mid && typeCol >= 0) {
    const value = mid.cells[typeCol].content;
    const expr = `^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
    const search = { [colIds[typeCol]]: expr };
    await call(`${tag} search NEXT ${JSON.stringify(expr)} from 0`,
      () => client.fetchTableLines(exp.UUID, id, QueryHelper.tableQuery(colIds, 0, 1, { table_search_expressions: search, table_search_direction: 'NEXT' })),
      (m) => {
        const l = m.model.lines[0];
        need(l, 'no match found');
        need(l.index <= mid.index, `first match at ${l.index}, but line ${mid.index} matches`);
        need(l.cells[typeCol].content === value, `match has ${l.cells[typeCol].content}`);
        return `index ${l.index}`;
      }, { generic: true });
    await call(`${tag} search NEXT from the middle line`,
      () => client.fetchTableLines(exp.UUID, id, QueryHelper.tableQuery(colIds, mid.index, 1, { table_search_expressions: search, table_search_direction: 'NEXT' })),
      (m) => { need(m.model.lines[0] && m.model.lines[0].index === mid.index, `index ${m.model.lines[0] && m.model.lines[0].index}, expected ${mid.index}`); },
      { generic: true });
    await call(`${tag} search NEXT with no match is empty`,
      () => client.fetchTableLines(exp.UUID, id, QueryHelper.tableQuery(colIds, 0, 1, { table_search_expressions: { [colIds[typeCol]]: '^vmtrace-no-such-event$' }, table_search_direction: 'NEXT' })),
      (m) => need(m.model.lines.length === 0, `${m.model.lines.length} lines`), { generic: true });
  } else if (isEvents || size > 0) {
    fail(`${tag} search`, 'no "Event type" column or no middle page');
  }
  await expectError(`${tag} lines with requested_table_count "10" is 400`,
    () => client.fetchTableLines(exp.UUID, id, new Query({ requested_table_index: 0, requested_table_count: '10' })), 400);
}

// ---- DATA_TREE (d.8) ---------------------------------------------------------
async function dataTree(exp, out) {
  await pollTree(`DATA_TREE ${out.id} tree (polled)`, () => client.fetchDataTree(exp.UUID, out.id, QueryHelper.timeRangeQuery(exp.start, exp.end)), {});
}

// ---- d.2: open a trace as the viewers do ----------------------------------------
async function main() {
  const t0 = Date.now();
  await call('GET /health', () => client.checkHealth(), (m) => need(m.status === 'UP', `status ${m.status}`));
  await call('GET /identifier', () => client.fetchIdentifier(), (m) => need(typeof m.version === 'string', 'no version'));

  // POST /traces, retrying name(1), name(2)... on 409, as the viewers do.
  const base = path.basename(tracePath);
  let trace;
  for (let k = 0; k < 10 && !trace; k++) {
    const name = k ? `${base}(${k})` : base;
    const resp = await client.openTrace(new Query({ name, uri: tracePath }));
    if (resp.getStatusCode() === 409) continue;
    trace = await call(`POST /traces ${name}`, async () => resp, (m) => {
      need(typeof m.UUID === 'string', 'UUID');
      need(isInt(m.nbEvents), `nbEvents ${m.nbEvents}`);
      checkRange(m, 'trace');
      for (const f of ['name', 'path', 'indexingStatus']) need(typeof m[f] === 'string', `trace.${f}`);
    });
    if (!trace) return;
  }
  if (!trace) { fail('POST /traces', 'still 409 after 10 names'); return; }
  await call('POST /traces again (same name and path)', () => client.openTrace(new Query({ name: trace.name, uri: tracePath })),
    (m) => need(m.UUID === trace.UUID, `UUID ${m.UUID} != ${trace.UUID}`));
  await call('GET /traces', () => client.fetchTraces(), (m) => need(Array.isArray(m) && m.some((t) => t.UUID === trace.UUID), 'opened trace not listed'));

  let exp;
  for (let k = 0; k < 10 && !exp; k++) {
    const name = k ? `${base}(${k})` : base;
    const resp = await client.createExperiment(new Query({ name, traces: [trace.UUID] }));
    if (resp.getStatusCode() === 409) continue;
    exp = await call(`POST /experiments ${name}`, async () => resp, (m) => {
      need(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(m.UUID), `UUID ${m.UUID}`);
      need(Array.isArray(m.traces) && m.traces.length === 1 && m.traces[0].UUID === trace.UUID, 'traces');
      checkRange(m, 'experiment');
    });
    if (!exp) return;
  }
  if (!exp) { fail('POST /experiments', 'still 409 after 10 names'); return; }

  // Poll every 500 ms while indexing, as TraceContextComponent does.
  let prev = exp;
  let polls = 0;
  const tPoll = Date.now();
  for (;;) {
    const resp = await client.fetchExperiment(exp.UUID);
    const m = resp.getModel();
    polls++;
    if (!resp.isOk() || !m || m.indexingStatus !== 'RUNNING' || Date.now() - tPoll > 120000) {
      exp = await call('GET /experiments/{uuid} polled until COMPLETED', async () => resp, (x) => {
        need(x.UUID === exp.UUID, 'UUID');
        need(x.indexingStatus === 'COMPLETED', `indexingStatus ${x.indexingStatus}`);
        checkRange(x, 'experiment');
        need(x.nbEvents > 0, 'nbEvents is 0');
        need(x.nbEvents >= prev.nbEvents && x.end >= prev.end, 'nbEvents or end went back');
        return `${polls} polls, ${x.nbEvents} events`;
      });
      if (!exp) return;
      break;
    }
    if (m.nbEvents < prev.nbEvents || m.end < prev.end) { fail('indexing progress', 'nbEvents or end went back while RUNNING'); }
    prev = m;
    await sleep(500);
  }
  await call('GET /experiments', () => client.fetchExperiments(), (m) => need(m.some((e) => e.UUID === exp.UUID), 'experiment not listed'));
  await call('GET markerSets', () => client.fetchMarkerSets(exp.UUID), (m) => need(Array.isArray(m.model), 'model is not an array'), { generic: true });

  const outputs = await call('GET outputs', () => client.experimentOutputs(exp.UUID), (m) => {
    need(Array.isArray(m) && m.length > 0, 'no outputs');
    const ids = new Set(m.map((o) => o.id));
    need(ids.size === m.length, 'duplicate output ids');
    for (const o of m) {
      for (const f of ['id', 'name', 'description', 'type']) need(typeof o[f] === 'string', `output ${o.id}: ${f}`);
      need(TYPES.includes(o.type), `output ${o.id}: type ${o.type}`);
      need(o.parentId === undefined || o.parentId === null || ids.has(o.parentId), `output ${o.id}: parentId ${o.parentId} not listed`);
    }
    return m.map((o) => `${o.type}:${o.name}`).join(', ');
  });
  if (!outputs) return;

  // Every output the server lists, by type; the checks extend themselves.
  for (const out of outputs) {
    // Adding an output to the view fetches its annotation categories.
    if (out.type !== 'TIME_GRAPH' && out.type !== 'GANTT_CHART' && out.type !== 'NONE') {
      await call(`${out.type} ${out.id} annotation categories`, () => client.fetchAnnotationsCategories(exp.UUID, out.id), (m) => {
        need(Array.isArray(m.model.annotationCategories), 'annotationCategories is not an array');
      }, { generic: true });
    }
    const t = Date.now();
    switch (out.type) {
      case 'TIME_GRAPH': case 'GANTT_CHART': await timeGraph(exp, out); break;
      case 'TREE_TIME_XY': await xy(exp, out, false); break;
      case 'TREE_GENERIC_XY': await xy(exp, out, true); break;
      case 'TABLE': await table(exp, out); break;
      case 'DATA_TREE': await dataTree(exp, out); break;
      case 'NONE': pass(`NONE ${out.id}`, 'not openable, nothing to call'); break;
      default: fail(`${out.type} ${out.id}`, 'unknown output type');
    }
    realLog(`     ${out.type} ${out.id}: ${Date.now() - t} ms`);
  }
  for (const type of ['TIME_GRAPH', 'TREE_TIME_XY', 'TABLE']) {
    if (!outputs.some((o) => o.type === type)) fail(`${type} output`, 'none advertised');
  }

  // d.9 remove: the trace is in use, then the experiment goes, then the trace.
  await expectError('DELETE /traces/{uuid} while used by the experiment is 409', () => client.deleteTrace(trace.UUID), 409);
  await call('DELETE /experiments/{uuid}', () => client.deleteExperiment(exp.UUID), (m) => need(m.UUID === exp.UUID, 'UUID'));
  await expectError('GET /experiments/{uuid} after delete is 404', () => client.fetchExperiment(exp.UUID), 404);
  await call('DELETE /traces/{uuid}', () => client.deleteTrace(trace.UUID), (m) => need(m.UUID === trace.UUID, 'UUID'));
  realLog(`     total ${Date.now() - t0} ms`);
}

main().catch((e) => fail('runner', e && e.stack ? e.stack : String(e))).finally(() => {
  realLog(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
});
