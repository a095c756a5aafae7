// The canvas page: opens a trace through tsp-typescript-client (as the
// viewers do) and draws every TIME_GRAPH output of the server with
// timeline-chart (Canvas2D), one section per output: entry labels on the
// left, the time axis and the chart on the right.
//
// URL parameters: trace=<absolute path on the server> (required),
// tsp=<TSP base URL> (default: this origin + /tsp/api), rows=<max rows per
// view> (default 40), width=<chart width in px> (default 1100).
//
// It reports its state in <body data-harness="...">: "mounted <ids>" once
// every view has drawn, or "error: <reason>"; window.vmtraceHarness holds
// what the screenshot check needs (the server's state colours and the pixel
// area each one should cover).
import { HttpTspClient, Query, QueryHelper } from 'tsp-typescript-client';
import { TimeGraphContainer } from 'timeline-chart/lib/time-graph-container';
import { TimeGraphUnitController } from 'timeline-chart/lib/time-graph-unit-controller';
import { TimeGraphRowController } from 'timeline-chart/lib/time-graph-row-controller';
import { TimeGraphAxis } from 'timeline-chart/lib/layer/time-graph-axis';
import { TimeGraphChart } from 'timeline-chart/lib/layer/time-graph-chart';
import { TimeGraphChartGrid } from 'timeline-chart/lib/layer/time-graph-chart-grid';

const params = new URLSearchParams(location.search);
const tracePath = params.get('trace');
const tspUrl = params.get('tsp') || `${location.origin}/tsp/api`;
const maxRows = Number(params.get('rows') || 40);
const WIDTH = Number(params.get('width') || 1100);
const ROW_HEIGHT = 20;
const AXIS_HEIGHT = 30;

const client = new HttpTspClient(tspUrl);
const harness = { views: [], pending: 0, fetches: 0 };
window.vmtraceHarness = harness;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const setStatus = (s) => { document.getElementById('status').textContent = s; };

function report(state) {
  document.body.setAttribute('data-harness', state);
}

async function model(what, promise) {
  const resp = await promise;
  const m = resp.getModel();
  if (!resp.isOk() || m === undefined) {
    throw new Error(`${what} gave no model (HTTP ${resp.getStatusCode()})`);
  }
  return m;
}

// Seconds.nanoseconds from BigInt, so the ns digits show on the axis.
function formatTime(t) {
  const neg = t < 0n;
  const a = neg ? -t : t;
  const ns = (a % 1000000000n).toString().padStart(9, '0');
  return `${neg ? '-' : ''}${a / 1000000000n}.${ns.slice(0, 3)} ${ns.slice(3, 6)} ${ns.slice(6)}`;
}

// Merge a style with its parentKey chain (the server's /style map).
function resolveStyle(style, styles) {
  const chain = [];
  let s = style;
  for (let depth = 0; s && depth < 10; depth++) {
    chain.unshift(s.values || {});
    s = s.parentKey !== undefined ? styles[s.parentKey] : undefined;
  }
  return Object.assign({}, ...chain);
}

function colorOf(values) {
  const c = values['background-color'] || values.color;
  if (typeof c !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(c)) return undefined;
  return parseInt(c.slice(1), 16);
}

async function drawOutput(exp, out, index) {
  const styleModel = await model(`${out.id} style`, client.fetchStyles(exp.UUID, out.id, QueryHelper.query()));
  const styles = styleModel.model.styles || {};
  let tree;
  for (let factor = 1; ; factor++) {
    tree = await model(`${out.id} tree`, client.fetchTimeGraphTree(exp.UUID, out.id, QueryHelper.timeRangeQuery(exp.start, exp.end)));
    if (tree.status !== 'RUNNING' || factor > 60) break;
    await sleep(500);
  }
  if (tree.status !== 'COMPLETED') throw new Error(`${out.id} tree status ${tree.status}`);
  const entries = tree.model.entries;
  if (!entries.length) throw new Error(`empty time-graph tree for ${out.id}`);

  // Depth-first order as in the viewer's tree, all nodes expanded.
  const children = new Map();
  const ids = new Set(entries.map((e) => e.id));
  for (const e of entries) {
    const p = e.parentId !== undefined && ids.has(e.parentId) ? e.parentId : -1;
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(e);
  }
  const rows = [];
  (function walk(p, depth) {
    for (const e of children.get(p) || []) {
      rows.push({ entry: e, depth });
      walk(e.id, depth + 1);
    }
  })(-1, 0);
  const shown = rows.slice(0, maxRows);
  const rowIds = shown.map((r) => r.entry.id);

  const section = document.createElement('section');
  section.innerHTML = `<h2></h2><div class="view"><div class="labels"><div class="axis-pad"></div></div><div class="chart"></div></div>`;
  section.querySelector('h2').textContent = `${out.name} (${out.id}) — ${shown.length} of ${rows.length} rows`;
  const labels = section.querySelector('.labels');
  for (const r of shown) {
    const d = document.createElement('div');
    d.className = 'row';
    d.style.paddingLeft = `${4 + 12 * r.depth}px`;
    d.textContent = r.entry.labels.join(' | ');
    labels.appendChild(d);
  }
  document.getElementById('views').appendChild(section);

  const start = exp.start;
  const total = exp.end - exp.start;
  const unit = new TimeGraphUnitController(total, { start: 0n, end: total });
  unit.numberTranslator = (n) => formatTime(n + start);
  const rowController = new TimeGraphRowController(ROW_HEIGHT, shown.length * ROW_HEIGHT);
  const axis = new TimeGraphContainer({ id: `axis-${index}`, width: WIDTH, height: AXIS_HEIGHT, backgroundColor: 0xffffff, forceCanvasRenderer: true }, unit);
  axis.addLayers([new TimeGraphAxis(`axis-layer-${index}`, { color: 0xffffff, lineColor: 0x000000 })]);

  const view = { id: out.id, name: out.name, styles: {}, rows: new Map(), viewStart: 0n, viewEnd: total, width: WIDTH };
  for (const [key, st] of Object.entries(styles)) {
    const v = resolveStyle(st, styles);
    const color = colorOf(v);
    if (color !== undefined) view.styles[key] = { color, opacity: v.opacity === undefined ? 1 : Number(v.opacity), height: v.height === undefined ? 1 : Number(v.height) };
  }
  harness.views.push(view);

  const providers = {
    rowProvider: () => ({ rowIds }),
    dataProvider: async (range, resolution, fetchArrows, requested) => {
      const wanted = requested && requested.length ? requested : rowIds;
      const s = range.start < 0n ? 0n : range.start;
      const e = range.end > total ? total : range.end;
      const nbTimes = Math.ceil(Number(e - s) / resolution) + 1;
      harness.pending++;
      harness.fetches++;
      try {
        const m = await model(`${out.id} states`, client.fetchTimeGraphStates(exp.UUID, out.id,
          QueryHelper.selectionTimeRangeQuery(start + s, start + e, nbTimes, wanted)));
        const byId = new Map(m.model.rows.map((r) => [r.entryId, r]));
        // One row model per requested id, or every row below shifts.
        const result = wanted.map((id) => {
          const r = byId.get(id);
          const entry = entries.find((x) => x.id === id);
          const states = (r ? r.states : []).map((st, k) => ({
            id: `${id}-${k}`,
            range: { start: st.start - start, end: st.end - start },
            label: st.label,
            data: { style: st.style, tags: st.tags },
          }));
          view.rows.set(id, states);
          return {
            id,
            name: entry ? entry.labels[0] : String(id),
            range: { start: entry ? entry.start - start : 0n, end: entry ? entry.end - start : total },
            states,
            annotations: [],
            prevPossibleState: 0n,
            nextPossibleState: total,
          };
        });
        return { rows: result, range: { start: s, end: e }, resolution };
      } finally {
        harness.pending--;
      }
    },
    stateStyleProvider: (state) => {
      const st = state.data && state.data.style;
      if (!st) return undefined;
      const v = resolveStyle(st, styles);
      const color = colorOf(v);
      return {
        color: color === undefined ? 0x888888 : color,
        opacity: v.opacity === undefined ? 1 : Number(v.opacity),
        height: ROW_HEIGHT * 0.8 * (v.height === undefined ? 1 : Number(v.height)),
      };
    },
  };
  const chartContainer = new TimeGraphContainer({ id: `chart-${index}`, width: WIDTH, height: shown.length * ROW_HEIGHT, backgroundColor: 0xffffff, forceCanvasRenderer: true }, unit);
  chartContainer.addLayers([
    new TimeGraphChartGrid(`grid-${index}`, ROW_HEIGHT),
    new TimeGraphChart(`chart-layer-${index}`, providers, rowController),
  ]);
  const chartEl = section.querySelector('.chart');
  chartEl.appendChild(axis.canvas);
  chartEl.appendChild(chartContainer.canvas);
}

async function main() {
  if (!tracePath) throw new Error('no trace= parameter');
  const health = await model('health', client.checkHealth());
  if (health.status !== 'UP') throw new Error(`server status ${health.status}`);
  const name = tracePath.split('/').filter(Boolean).pop();
  const trace = await model('openTrace', client.openTrace(new Query({ name, uri: tracePath })));
  let exp = await model('createExperiment', client.createExperiment(new Query({ name, traces: [trace.UUID] })));
  for (let k = 0; exp.indexingStatus === 'RUNNING' && k < 240; k++) {
    setStatus(`indexing ${exp.name}: ${exp.nbEvents} events`);
    await sleep(500);
    exp = await model('fetchExperiment', client.fetchExperiment(exp.UUID));
  }
  if (exp.indexingStatus !== 'COMPLETED') throw new Error(`indexing ${exp.indexingStatus}`);
  setStatus(`${exp.name}: ${exp.nbEvents} events, ${formatTime(exp.start)} – ${formatTime(exp.end)}`);
  const outputs = await model('experimentOutputs', client.experimentOutputs(exp.UUID));
  const tg = outputs.filter((o) => o.type === 'TIME_GRAPH');
  if (!tg.length) throw new Error('no TIME_GRAPH output');
  for (const [k, out] of tg.entries()) await drawOutput(exp, out, k);
  // Wait until every chart has fetched and nothing is in flight.
  for (let k = 0; k < 200 && (harness.pending > 0 || harness.views.some((v) => v.rows.size === 0)); k++) await sleep(50);
  report(`mounted ${tg.map((o) => o.id).join(' ')}`);
}

main().catch((e) => {
  setStatus(`error: ${e.message}`);
  report(`error: ${e.message}`);
});
