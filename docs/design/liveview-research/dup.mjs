// Idle session, server-side CFR: the same frame written again at each tick (no capture). What does ffmpeg spend?
import { spawn } from 'node:child_process';
import { rmSync, mkdirSync } from 'node:fs';
import { sleep, cpuTicks } from './common.mjs';
const W = 1280, H = 800, SECS = 20;
for (const enc of ['h264', 'vp8']) for (const fps of [2, 5]) {
  const dir = `/tmp/lvr/rec/dup-${enc}-${fps}`; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
  const codec = enc === 'h264' ? ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-crf', '28', '-pix_fmt', 'yuv420p'] : ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '10', '-b:v', '1M'];
  const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'bgr0', '-video_size', `${W}x${H}`, '-framerate', String(fps), '-i', '-', ...codec, '-g', String(fps * 10), '-f', 'segment', '-segment_time', '10', `${dir}/seg%03d.${enc === 'h264' ? 'mp4' : 'webm'}`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const buf = Buffer.alloc(W * H * 4); for (let i = 0; i < buf.length; i += 4) buf[i] = (i >> 10) & 255;
  const t0 = performance.now(); let n = 0; const self0 = process.cpuUsage();
  while (performance.now() - t0 < SECS * 1000) { const due = t0 + (n * 1000) / fps; if (performance.now() < due) await sleep(due - performance.now()); ff.stdin.write(buf); n++; }
  const dt = (performance.now() - t0) / 1000; const ticks = cpuTicks(ff.pid); const u = process.cpuUsage(self0);
  ff.stdin.end(); await new Promise((r) => ff.once('exit', r));
  console.log(`${enc} ${fps} fps, identical frames: ffmpeg ${((ticks / 100 / dt) * 100).toFixed(1)}% of a core (incl. start), writer ${(((u.user + u.system) / 1e6 / dt) * 100).toFixed(1)}%`);
}
