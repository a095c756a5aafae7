'use strict';
// A small JSON reader that keeps every number as its literal text, so the
// runner can check what the server wrote (clients.md §2.4): bare integer
// times, ids that fit in 2^53, large yValues written with '.' or an exponent.
// The client's own parser (json-bigint) cannot tell us that: it rounds
// `1.7e18` silently and turns large integers into BigInt.

class RawNumber {
  constructor(text) { this.text = text; }
  isInteger() { return /^-?\d+$/.test(this.text); }
  bigint() { return BigInt(this.text); }
}

function parse(text) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++; };
  const fail = (what) => { throw new SyntaxError(`${what} at offset ${i}`); };
  function value() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = {};
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        obj[k] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) fail('unexpected character');
    i += m[0].length;
    return new RawNumber(m[0]);
  }
  function string() {
    // JSON.parse does the unescaping once the closing quote is found.
    const begin = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(begin, i));
  }
  const v = value();
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

const TIME_KEYS = new Set(['start', 'end', 'time', 'duration']);
const TIME_ARRAY_KEYS = new Set(['xValues']);
const ID_KEYS = new Set(['id', 'parentId', 'entryId', 'sourceId', 'targetId', 'seriesId',
  'index', 'lowIndex', 'size', 'tags', 'nbEvents', 'autoExpandLevel']);
// Free-form maps: their keys are names chosen by the server, not model fields.
const OPAQUE_KEYS = new Set(['properties', 'metadata', 'values', 'parameters', 'configuration']);
const MAX_SAFE = 9007199254740991n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkTime(v, path, problems) {
  if (!(v instanceof RawNumber)) {
    problems.push(`${path} is ${JSON.stringify(v)}, not a bare integer`);
  } else if (!v.isInteger()) {
    problems.push(`${path} is ${v.text}, not a bare integer`);
  } else if (v.bigint() < INT64_MIN || v.bigint() > INT64_MAX) {
    problems.push(`${path} = ${v.text} is outside int64`);
  }
}

function checkId(v, path, problems) {
  if (v === null || v === undefined) return;
  // Output descriptors (the outputs list, one descriptor) have string ids
  // and parentIds; everything deeper (entries, rows, series) has numbers.
  if (typeof v === 'string' && /^\$(\[\d+\])?\.(id|parentId)$/.test(path)) return;
  if (!(v instanceof RawNumber) || !v.isInteger()) {
    problems.push(`${path} is ${v instanceof RawNumber ? v.text : JSON.stringify(v)}, not an integer`);
  } else {
    const b = v.bigint();
    if (b > MAX_SAFE || b < -MAX_SAFE) problems.push(`${path} = ${v.text} is above 2^53`);
  }
}

// Walks the raw tree and returns a list of problems (empty when fine).
function wireProblems(text) {
  let tree;
  try {
    tree = parse(text);
  } catch (e) {
    return [`body is not JSON: ${e.message}`];
  }
  const problems = [];
  (function walk(v, path) {
    if (Array.isArray(v)) {
      v.forEach((x, k) => walk(x, `${path}[${k}]`));
      return;
    }
    if (!v || typeof v !== 'object' || v instanceof RawNumber) return;
    for (const [k, x] of Object.entries(v)) {
      const p = `${path}.${k}`;
      if (OPAQUE_KEYS.has(k)) continue;
      if (TIME_KEYS.has(k) && !(x && typeof x === 'object' && !(x instanceof RawNumber))) {
        checkTime(x, p, problems);
      } else if (TIME_ARRAY_KEYS.has(k) && Array.isArray(x)) {
        x.forEach((t, j) => checkTime(t, `${p}[${j}]`, problems));
      } else if (k === 'xRanges' && Array.isArray(x)) {
        x.forEach((r, j) => { checkTime(r && r.start, `${p}[${j}].start`, problems); checkTime(r && r.end, `${p}[${j}].end`, problems); });
      } else if (ID_KEYS.has(k) && !Array.isArray(x) && !(x && typeof x === 'object' && !(x instanceof RawNumber))) {
        checkId(x, p, problems);
      } else if (k === 'columnIds' && Array.isArray(x)) {
        x.forEach((t, j) => checkId(t, `${p}[${j}]`, problems));
      } else if (k === 'yValues' && Array.isArray(x)) {
        x.forEach((y, j) => {
          if (!(y instanceof RawNumber)) problems.push(`${p}[${j}] is ${JSON.stringify(y)}, not a number`);
          else if (y.isInteger() && (y.bigint() > MAX_SAFE || y.bigint() < -MAX_SAFE)) {
            problems.push(`${p}[${j}] = ${y.text} is an integer literal above 2^53`);
          }
        });
      } else {
        walk(x, p);
      }
    }
  })(tree, '$');
  return problems;
}

module.exports = { parse, RawNumber, wireProblems };
