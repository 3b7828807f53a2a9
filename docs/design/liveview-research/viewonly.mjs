// A viewer without control whose page still sends input (noVNC viewOnly=false): the bridge drops it; nothing reaches the desktop.
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { RUN, xauth, xArgs, startX, stopProc, sleep, desktop } from './common.mjs';
import { startViewerServer } from './viewer-server.mjs';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const auth = `${RUN}/xa-vo`; rmSync(auth, { force: true }); xauth(auth);
const sock = `${RUN}/vo.sock`; rmSync(sock, { force: true });
const x = await startX(xArgs('Xtigervnc', sock).map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
const env = { DISPLAY: `:${x.display}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin', HOME: '/tmp' };
const out = `${RUN}/typed.txt`; rmSync(out, { force: true });
const kids = await desktop(env, ['-geometry', '80x24+0+0', '-e', 'sh', '-c', `cat > ${out}`]);
const vs = await startViewerServer({ socketFor: () => sock });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
for (const q of ['rogue=1', 'control=1']) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`http://127.0.0.1:${vs.port}/view.html?${q}`);
  await page.waitForFunction(() => window.connectedAt);
  const before = { ...vs.stats };
  await page.mouse.click(200, 150); await page.keyboard.type(`typed-by-${q}\n`);
  await sleep(800);
  console.log(q, '→ desktop got', JSON.stringify(execFileSync('cat', [out]).toString()), '| dropped messages', vs.stats.dropped - before.dropped);
  await page.close();
}
console.log('message counts', JSON.stringify(vs.counts));
execFileSync('vncconfig', ['-display', env.DISPLAY, '-set', 'AcceptPointerEvents=0'], { env, stdio: 'inherit' });
await browser.close(); await vs.close(); for (const k of kids) k.kill(); await stopProc(x.proc);
