import { createRequire } from 'node:module';
import { startViewerServer } from './viewer-server.mjs';
import { median } from './common.mjs';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const vs = await startViewerServer({ socketFor: () => '/nonexistent' });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const r = { blank: [], novnc: [], bundle: [] };
for (let i = 0; i < 6; i++) for (const [k, path] of [['blank', '/blank.html'], ['novnc', '/view.html'], ['bundle', '/bundle.html']]) {
  const ctx = await browser.newContext(); const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${vs.port}${path}`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.t0, null, { polling: 5 });
  r[k].push(await page.evaluate(() => window.t0)); await ctx.close();
}
console.log(`module script runs at (ms after navigation start, cold context, median of 6): trivial page ${median(r.blank).toFixed(0)}, noVNC page (45 modules) ${median(r.novnc).toFixed(0)}, one-file bundle ${median(r.bundle).toFixed(0)}`);
await browser.close(); await vs.close();
