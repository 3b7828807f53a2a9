/* eslint-disable no-restricted-imports -- TRANSITIONAL facade, removed once every feature injects its own settings. */
import { AGENT_SETTINGS } from '../agent/agent.settings';
import { ANTHROPIC_SETTINGS } from '../agent/anthropic/anthropic.settings';
import { OPENAI_COMPATIBLE_SETTINGS } from '../agent/openai-compatible/openai-compatible.settings';
import { OPENAI_SETTINGS } from '../agent/openai/openai.settings';
import { SCRIPTED_SETTINGS } from '../agent/scripted/scripted.settings';
import { TRAJECTORY_SETTINGS } from '../agent/trajectory/trajectory.settings';
import { AUTH_SETTINGS } from '../auth/auth.settings';
import { LOG_SETTINGS } from '../common/log.settings';
import { COMPUTER_SERVER_SETTINGS } from '../computer-server/computer-server.settings';
import { COMPUTER_SETTINGS } from '../computer/computer.settings';
import { CUA_SETTINGS } from '../computer/cua/cua.settings';
import { FAKE_SETTINGS } from '../computer/fake/fake.settings';
import { KUBERNETES_SETTINGS } from '../computer/kubernetes/kubernetes.settings';
import { XVFB_SETTINGS } from '../computer/xvfb/xvfb.settings';
import { HTTP_SETTINGS } from '../http/http.settings';
import { LIFECYCLE_SETTINGS } from '../lifecycle/lifecycle.settings';
import { MCP_SETTINGS } from '../mcp/mcp.settings';
import { METRICS_SETTINGS } from '../metrics/metrics.settings';
import { POOL_SETTINGS } from '../pool/pool.settings';
import { SESSION_SETTINGS } from '../session/session.settings';
import { Settings } from './settings';

/**
 * TRANSITIONAL: the old aggregate view of the settings, assembled from the features' own
 * declarations while code moves to @InjectSettings. To be removed.
 */
export class AppConfig {
  readonly http;
  readonly auth;
  readonly metrics;
  readonly mcp;
  readonly log;
  readonly computer;
  readonly pool;
  readonly session;
  readonly agent;
  readonly shutdown;
  readonly computerServer;

  constructor(readonly settings: Settings) {
    this.http = settings.get(HTTP_SETTINGS);
    this.auth = settings.get(AUTH_SETTINGS);
    this.metrics = settings.get(METRICS_SETTINGS);
    this.mcp = settings.get(MCP_SETTINGS);
    this.log = settings.get(LOG_SETTINGS);
    const xvfb = settings.get(XVFB_SETTINGS);
    const cua = settings.get(CUA_SETTINGS);
    this.computer = {
      ...settings.get(COMPUTER_SETTINGS),
      ...xvfb,
      fakeCreateDelayMs: settings.get(FAKE_SETTINGS).createDelayMs,
      cua,
      kubernetes: settings.get(KUBERNETES_SETTINGS),
    };
    const pool = settings.get(POOL_SETTINGS);
    const computer = settings.get(COMPUTER_SETTINGS);
    this.pool = { ...pool, maxSize: computer.provider === 'cua' && cua.urls.length ? Math.min(pool.maxSize, cua.urls.length) : pool.maxSize };
    this.session = settings.get(SESSION_SETTINGS);
    const scripted = settings.get(SCRIPTED_SETTINGS);
    this.agent = {
      ...settings.get(AGENT_SETTINGS),
      scriptedSteps: scripted.steps,
      scriptedStepMs: scripted.stepMs,
      anthropic: settings.get(ANTHROPIC_SETTINGS),
      openai: settings.get(OPENAI_SETTINGS),
      openaiCompatible: settings.get(OPENAI_COMPATIBLE_SETTINGS),
      trajectories: settings.get(TRAJECTORY_SETTINGS),
    };
    this.shutdown = settings.get(LIFECYCLE_SETTINGS);
    this.computerServer = settings.get(COMPUTER_SERVER_SETTINGS);
  }

  static fromEnv(raw: Record<string, string | undefined>): AppConfig {
    return new AppConfig(Settings.load(raw));
  }
}
