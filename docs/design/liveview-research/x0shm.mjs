// X0tigervnc in its own sandbox (own IPC and network namespaces): does it still get MIT-SHM from the sandboxed Xvfb, and what does it log?
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { RUN, xauth, sandboxed, xArgs, startX, waitRfb, stopProc, sleep } from './common.mjs';
const auth = `${RUN}/xa-shm`; rmSync(auth, { force: true }); xauth(auth);
const vdir = `${RUN}/vnc-shm`; mkdirSync(vdir, { recursive: true }); rmSync(`${vdir}/x0.sock`, { force: true });
const x = await startX(sandboxed(xArgs('Xvfb'), auth));
for (const sb of [true, false]) {
  rmSync(`${vdir}/x0.sock`, { force: true });
  const argv = ['/usr/bin/X0tigervnc', '-display', `:${x.display}`, '-rfbunixpath', sb ? '/run/cua/vnc/x0.sock' : `${vdir}/x0.sock`, '-rfbport', '-1', '-SecurityTypes', 'None', '-Log', '*:stderr:100'];
  // own network namespace too: bwrap --unshare-all without --share-net (sandboxed() shares it; drop that flag here)
  const line = sb ? sandboxed(argv, auth, vdir).filter((a) => a !== '--share-net') : argv;
  let log = '';
  const t0 = performance.now();
  const p = spawn(line[0], line.slice(1), { env: { XAUTHORITY: sb ? '/run/cua/Xauthority' : auth, PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => (log += d));
  await waitRfb(`${vdir}/x0.sock`, t0);
  (await import('node:child_process')).execFileSync('python3', ['/tmp/lvr/rfbprobe.py', `${vdir}/x0.sock`]); await sleep(500);
  console.log(sb ? 'sandboxed (own ipc+net ns):' : 'plain (host ns):', log.split('\n').filter((l) => l.trim() && !/Listening|accepted|closing|closed/.test(l)).map((l) => l.trim()).join(' | ') || '(no SHM/DAMAGE lines)');
  await stopProc(p);
}
await stopProc(x.proc);
