// Changed frames only: irregular frames piped with wall-clock timestamps; does the file keep real time, and what does an idle session cost?
import { spawn, execFileSync } from 'node:child_process';
import { rmSync, mkdirSync, readdirSync } from 'node:fs';
import { sleep, cpuTicks } from './common.mjs';
const W = 1280, H = 800;
const dir = '/tmp/lvr/rec/vfr'; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-use_wallclock_as_timestamps', '1', '-f', 'rawvideo', '-pix_fmt', 'bgr0', '-video_size', `${W}x${H}`, '-i', '-',
  '-fps_mode', 'cfr', '-r', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-crf', '28', '-pix_fmt', 'yuv420p', '-force_key_frames', 'expr:gte(t,n_forced*10)',
  '-f', 'segment', '-segment_time', '10', '-reset_timestamps', '1', '-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof', `${dir}/seg%03d.mp4`], { stdio: ['pipe', 'ignore', 'inherit'] });
const frame = (v) => Buffer.alloc(W * H * 4, v);
const t0 = performance.now();
const at = [0, 1, 1.2, 5, 12, 19.5, 25, 29.9];
for (const [i, t] of at.entries()) { const wait = t0 + t * 1000 - performance.now(); if (wait > 0) await sleep(wait); ff.stdin.write(frame((i * 37) % 255)); }
const ticks = cpuTicks(ff.pid);
ff.stdin.end(); await new Promise((r) => ff.once('exit', r));
console.log(`8 frames over ${((performance.now() - t0) / 1000).toFixed(1)} s: ffmpeg used ${(ticks / 100).toFixed(2)} s CPU in all`);
for (const f of readdirSync(dir).sort()) console.log(f, execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'csv=p=0', `${dir}/${f}`]).toString().trim().replace(/\n/g, ' / '));
