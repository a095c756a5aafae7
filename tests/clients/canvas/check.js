#!/usr/bin/env node
'use strict';
// Screenshot check of the canvas page (app/) in Debian's headless Chromium,
// driven by playwright-core.
//
//   node check.js <server origin, e.g. http://127.0.0.1:8080> <absolute trace path> <out.png>
//   node check.js --serve <server origin> [port]   (only serve the page, for a look in a browser)
//
// It serves dist/ on a loopback port and forwards /tsp/api/* to the server
// (same origin, as Theia's backend proxy does), loads the page, and fails on
// page errors, console errors, failed requests, HTTP >= 400, the page
// reporting an error, a missing canvas, or a state colour of the server's
// styles that should cover a visible area but is missing from the chart's
// pixels in the screenshot. Prints PASS/FAIL lines and "N passed, N failed".

const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');

const DIST = path.resolve(process.env.CANVAS_DIST || path.join(__dirname, 'dist'));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' };

function serve(origin, port) {
  const target = new URL(origin);
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/tsp/api')) {
      const fwd = http.request({
        host: target.hostname, port: target.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: target.host },
      }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
      fwd.on('error', (e) => { res.writeHead(502, { 'Content-Type': 'text/plain' }); res.end(String(e)); });
      req.pipe(fwd);
      return;
    }
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(DIST, p === '/' ? 'index.html' : p);
    if (!file.startsWith(DIST) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port || 0, '127.0.0.1', () => resolve(server)));
}

// Chromium screenshots are 8-bit RGB(A), non-interlaced PNGs.
function decodePng(buf) {
  let pos = 8;
  let width = 0; let height = 0; let colorType = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (!bpp) throw new Error(`PNG colour type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, bpp, px };
}

function countColor(img, rgb, box) {
  const [r, g, b] = rgb;
  let n = 0;
  const x0 = Math.max(0, Math.floor(box.x)); const x1 = Math.min(img.width, Math.ceil(box.x + box.width));
  const y0 = Math.max(0, Math.floor(box.y)); const y1 = Math.min(img.height, Math.ceil(box.y + box.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * img.bpp;
      if (Math.abs(img.px[i] - r) <= 7 && Math.abs(img.px[i + 1] - g) <= 7 && Math.abs(img.px[i + 2] - b) <= 7) n++;
    }
  }
  return n;
}

const hex = (c) => `#${c.toString(16).padStart(6, '0')}`;

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--serve') {
    const s = await serve(args[1], Number(args[2] || 0));
    console.log(`page on http://127.0.0.1:${s.address().port}/?trace=<absolute trace path>`);
    return;
  }
  const [origin, tracePath, outPng] = args;
  if (!origin || !tracePath || !outPng) {
    console.error('usage: node check.js <server origin> <trace path> <out.png>');
    process.exit(2);
  }
  let passed = 0; let failed = 0;
  const pass = (n, note) => { passed++; console.log(`PASS ${n}${note ? ` (${note})` : ''}`); };
  const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };

  const { chromium } = require('playwright-core');
  const server = await serve(origin);
  const pageUrl = `http://127.0.0.1:${server.address().port}/?trace=${encodeURIComponent(tracePath)}`;
  const profile = fs.mkdtempSync(path.join(require('os').tmpdir(), 'vmtrace-chromium-'));
  const problems = [];
  let browser;
  try {
    // Debian's chromium, never a downloaded one; playwright passes the fresh
    // profile as --user-data-dir itself (it refuses it in args).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
      deviceScaleFactor: 1,
    });
    const page = browser.pages()[0] || await browser.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
      if (/^Error (normalizing|parsing)/.test(m.text())) problems.push(`client dropped a model: ${m.text()}`);
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure() && r.failure().errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`); });

    const t0 = Date.now();
    await page.goto(pageUrl);
    await page.waitForSelector('body[data-harness]', { timeout: 60000 });
    const state = await page.getAttribute('body', 'data-harness');
    if (!state.startsWith('mounted')) fail('page', state);
    else pass('page mounted', `${state.slice(8)}; ${Date.now() - t0} ms`);
    await page.waitForLoadState('networkidle');
    // Let the fine-resolution fetches (debounced in timeline-chart) land.
    for (let k = 0; k < 100; k++) {
      await page.waitForTimeout(250);
      const pending = await page.evaluate(() => window.vmtraceHarness.pending);
      if (!pending && k >= 5) break;
    }
    await page.waitForTimeout(500);
    await page.screenshot({ path: outPng, fullPage: true });
    pass('screenshot', outPng);

    const views = await page.evaluate(() => window.vmtraceHarness.views.map((v) => {
      const canvas = document.querySelectorAll('.chart canvas')[2 * window.vmtraceHarness.views.indexOf(v) + 1];
      const r = canvas ? canvas.getBoundingClientRect() : null;
      // The pixel area each style should cover, from the states drawn.
      const area = {};
      const len = Number(v.viewEnd - v.viewStart);
      for (const states of v.rows.values()) {
        for (const s of states) {
          const key = s.data.style && s.data.style.parentKey;
          if (!key || !v.styles[key]) continue;
          const x0 = Math.max(0, Number(s.range.start - v.viewStart) / len * v.width);
          const x1 = Math.min(v.width, Number(s.range.end - v.viewStart) / len * v.width);
          if (x1 - x0 < 2) continue;
          area[key] = (area[key] || 0) + (Math.floor(x1) - Math.ceil(x0)) * Math.floor(16 * v.styles[key].height);
        }
      }
      return { id: v.id, styles: v.styles, area,
        box: r && { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height } };
    }));
    const img = decodePng(fs.readFileSync(outPng));
    for (const v of views) {
      if (!v.box || v.box.width === 0 || v.box.height === 0) { fail(`${v.id} canvas`, 'no chart canvas'); continue; }
      const expected = Object.entries(v.area).filter(([, a]) => a >= 200);
      if (!expected.length) { fail(`${v.id} colours`, 'no state wide enough to check'); continue; }
      const missing = [];
      const seen = [];
      for (const [key, a] of expected) {
        const st = v.styles[key];
        const o = Math.max(0, Math.min(1, st.opacity));
        const rgb = [16, 8, 0].map((sh) => Math.round(((st.color >> sh) & 0xff) * o + 255 * (1 - o)));
        const n = countColor(img, rgb, v.box);
        const need = Math.min(50, Math.floor(a / 4));
        (n >= need ? seen : missing).push(`${key} ${hex(st.color)}${o < 1 ? `@${o}` : ''}: ${n} px${n >= need ? '' : ` (expected about ${a})`}`);
      }
      if (missing.length) fail(`${v.id} state colours in the screenshot`, `missing ${missing.join(', ')}; found ${seen.join(', ')}`);
      else pass(`${v.id} state colours in the screenshot`, seen.join(', '));
    }
    const shot = await page.evaluate(() => document.querySelectorAll('canvas').length);
    if (!shot) fail('canvas', 'no canvas on the page');
  } catch (e) {
    fail('screenshot run', e && e.stack ? e.stack.split('\n').slice(0, 3).join(' ') : String(e));
  } finally {
    if (browser) await browser.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length) fail('page errors and requests', [...new Set(problems)].slice(0, 8).join(' | '));
  else pass('no page error, console error or failed request');
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
