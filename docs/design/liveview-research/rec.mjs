// Recording a 1280x800 desktop for 30 s: ffmpeg x11grab vs our in-process MIT-SHM frames piped to ffmpeg; VP8/WebM vs H.264/MP4; 2 and 5 fps.
import { spawn, execFileSync } from 'node:child_process';
import { rmSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RUN, xauth, xArgs, startX, stopProc, sleep, cpuTicks, desktop } from './common.mjs';
const reqp = createRequire('/work/wt-lvresearch/package.json');
const x11 = reqp('x11');
const { createBuiltinProvider } = reqp('x11/lib/shm-provider.js');
const SECS = Number(process.env.SECS ?? 30);
const W = 1280, H = 800;
const auth = `${RUN}/xa-rec`; rmSync(auth, { force: true }); const cookie = xauth(auth);
const x = await startX(xArgs('Xvfb').map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
const env = { DISPLAY: `:${x.display}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin', HOME: '/tmp' };
const kids = await desktop(env);

// in-process capture, as src/computer/xvfb/x11-connection.ts does (MIT-SHM GetImage of the root window)
const { client, root, seg } = await new Promise((res, rej) => {
  const c = x11.createClient({ display: env.DISPLAY, auth: { name: 'MIT-MAGIC-COOKIE-1', data: cookie.toString('latin1') }, shm: createBuiltinProvider() }, (err, d) => {
    if (err) return rej(err);
    d.client.require('shm', (e, ext) => { if (e) return rej(e); ext.createSegment(W * H * 4, (e2, s) => (e2 ? rej(e2) : res({ client: d.client, root: d.screen[0].root, seg: s }))); });
  });
  c.on('error', rej);
});
const grab = () => new Promise((res, rej) => seg.getImage(root, 0, 0, W, H, 0xffffffff, 2, 0, (e) => (e ? rej(e) : res(seg.buffer))));

const ENC = {
  vp8: { ext: 'webm', args: (fps) => ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '10', '-b:v', '1M', '-g', String(fps * 10)] },
  h264: { ext: 'mp4', args: (fps) => ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-crf', '28', '-pix_fmt', 'yuv420p', '-g', String(fps * 10)], seg: ['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof'] },
};
const WORK = {
  idle: ['-geometry', '40x5+900+700'],
  moderate: ['-geometry', '80x24+400+300', '-e', 'sh', '-c', 'while :; do date +%T.%N; sleep 0.1; done'],
  heavy: ['-geometry', '200x58+0+0', '-e', 'sh', '-c', 'while :; do od -An -tx1 -N2400 /dev/urandom; sleep 0.05; done'],
};
const only = (process.env.ONLY ?? '').split(',').filter(Boolean);
for (const work of Object.keys(WORK)) {
  const wl = spawn('xterm', WORK[work], { env, stdio: 'ignore' });
  await sleep(1500);
  for (const src of ['x11grab', 'pipe']) for (const enc of ['vp8', 'h264']) for (const fps of [2, 5]) {
    const tag = `${work}-${src}-${enc}-${fps}fps`;
    if (only.length && !only.some((o) => tag.includes(o))) continue;
    const dir = `/tmp/lvr/rec/${tag}`; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
    const input = src === 'x11grab' ? ['-f', 'x11grab', '-framerate', String(fps), '-video_size', `${W}x${H}`, '-i', env.DISPLAY] : ['-f', 'rawvideo', '-pix_fmt', 'bgr0', '-video_size', `${W}x${H}`, '-framerate', String(fps), '-i', '-'];
    const e = ENC[enc];
    const args = ['-hide_banner', '-loglevel', 'error', ...input, ...e.args(fps), '-f', 'segment', '-segment_time', '10', '-reset_timestamps', '1', ...(e.seg ?? []), `${dir}/seg%03d.${e.ext}`];
    const ff = spawn('ffmpeg', args, { env, stdio: [src === 'pipe' ? 'pipe' : 'ignore', 'ignore', 'inherit'] });
    const t0 = performance.now(); const x0 = cpuTicks(x.proc.pid); const self0 = process.cpuUsage();
    let ffTicks = 0; const poll = setInterval(() => { try { ffTicks = cpuTicks(ff.pid); } catch {} }, 500);
    let frames = 0;
    if (src === 'pipe') {
      const period = 1000 / fps;
      while (performance.now() - t0 < SECS * 1000) {
        const due = t0 + frames * period;
        if (performance.now() < due) await sleep(due - performance.now());
        const buf = await grab();
        if (!ff.stdin.write(buf)) await new Promise((r) => ff.stdin.once('drain', r));
        frames++;
      }
      ff.stdin.end();
    } else await sleep(SECS * 1000);
    const dt = (performance.now() - t0) / 1000;
    const xcpu = ((cpuTicks(x.proc.pid) - x0) / 100 / dt) * 100;
    const self = process.cpuUsage(self0); const ncpu = ((self.user + self.system) / 1e6 / dt) * 100;
    try { ffTicks = cpuTicks(ff.pid); } catch {}
    clearInterval(poll);
    if (src === 'x11grab') ff.kill('SIGINT');
    await new Promise((r) => ff.once('exit', r));
    const files = readdirSync(dir).sort();
    const bytes = files.reduce((a, f) => a + statSync(`${dir}/${f}`).size, 0);
    const probe = files.map((f) => execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'csv=p=0', `${dir}/${f}`]).toString().trim().replace(/\n/g, '/'));
    console.log(JSON.stringify({ tag, ffmpeg: ((ffTicks / 100 / dt) * 100).toFixed(1) + '%', node: src === 'pipe' ? ncpu.toFixed(1) + '%' : '-', X: xcpu.toFixed(1) + '%', KB: Math.round(bytes / 1024), KBperMin: Math.round(bytes / 1024 / (dt / 60)), segments: files.length, probe }));
  }
  wl.kill(); await sleep(300);
}
client.terminate();
for (const k of kids) k.kill();
await stopProc(x.proc);
