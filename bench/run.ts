/**
 * The benchmarks' one entry point: `npm run bench -- <name>`. Each prints medians and ratios
 * measured side by side in one run; none passes or fails on an absolute time.
 */
const BENCHES: Record<string, { what: string; load: () => Promise<{ main: () => Promise<void> }> }> = {
  desktop: {
    what: 'xvfb desktops: screenshot through MCP vs xwd|convert vs in-process capture+encode; XTEST input vs xdotool; action→settled screenshot vs a fixed 2 s wait, stale screenshots; 8 computers start→first screenshot',
    load: () => import('./desktop.bench'),
  },
  mcp: {
    what: 'MCP overhead: trivial call and fake screenshot through the full server vs a bare-SDK server, latency p50/p99 and throughput',
    load: () => import('./mcp.bench'),
  },
  tasks: {
    what: 'run_multi_cua_tasks concurrent vs sequential (8 tasks, pool of 8); SIGTERM during 20 running tasks',
    load: () => import('./tasks.bench'),
  },
  scale: {
    what: 'up to 1,000 concurrent MCP sessions on fake computers: latency p50/p99 at 10/100/1000 and memory per session',
    load: () => import('./scale.bench'),
  },
  soak: {
    what: 'sessions churning for SOAK_MS (10 min) with screenshots, actions and tasks; RSS, heap, fds, children, displays over time; verdict on growth',
    load: () => import('./soak'),
  },
  liveview: {
    what: 'live view of an xvfb desktop in chromium: first frame, key → screen in control mode, CPU and bandwidth per viewer on a busy terminal, against polling screenshot_cua',
    load: () => import('./liveview.bench'),
  },
  replicas: {
    what: 'replicas sharing Redis (fake computers that survive their replica): call latency in memory vs Redis, through the owner vs forwarded, 1,000 sessions over 3 replicas, a killed replica\'s sessions taken over',
    load: () => import('./replicas.bench'),
  },
  pool: {
    what: 'warm vs cold session starts: N sessions at once, time to first screenshot, on fake (with a start delay) and xvfb',
    load: () => import('./pool.bench'),
  },
};

async function run() {
  const name = process.argv[2];
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) {
    console.log('usage: npm run bench -- <name>\n');
    for (const [n, b] of Object.entries(BENCHES)) console.log(`  ${n.padEnd(10)} ${b.what}`);
    process.exit(name ? 2 : 0);
  }
  await (await bench.load()).main();
}

run().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
