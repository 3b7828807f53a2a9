import { Injectable } from '@nestjs/common';
import { McpServer, type LoggingLevel, type McpServerOptions } from '@modelcontextprotocol/server';
import { packageVersion } from '../common/version';
import { RecordingResources } from './recording.resources';
import { TrajectoryResources } from './trajectory.resources';
import type { ToolContext } from './tool-context';
import { DashboardTools } from './tools/dashboard.tools';
import { LiveViewTools } from './tools/liveview.tools';
import { ScreenTools } from './tools/screen.tools';
import { SessionTools } from './tools/session.tools';
import { TaskTools } from './tools/task.tools';
import { ToolRunner, type Extra } from './tools/tool-runner';
import { registerRefusingUnknownTools } from './unknown-tools';

const version = packageVersion();

const INSTRUCTIONS =
  'This server gives you your own computer (a virtual desktop) per session. See it with screenshot_cua, drive it with the computer tool, ' +
  'or hand a whole task in plain words to run_cua_task. Calls without session_id use your default session (one per MCP session, or ' +
  'one per API key where the protocol has no MCP sessions), which ends when left without calls for a few minutes (the next call gets a ' +
  'fresh computer); the results name it. Pass a session_id of your choice, or use create_session, to keep a computer through longer ' +
  'pauses or to have several. End sessions you no longer need with cleanup_session. When the server keeps trajectories, each ' +
  'run_cua_task can be replayed from the resources trajectory://{session_id}/{task_id}; when it records sessions, each session\'s ' +
  'action log and video are the resources recording://{session_id}/{recording_id}.';

/** What one server instance serves: whom, under which connection key, in which era. */
export interface McpServerScope extends Omit<ToolContext, 'server'> {
  /**
   * 2025 era over HTTP: stores the level of a logging/setLevel on the MCP session's record (the instance is thrown
   * away after this request). Unset: the SDK keeps the level itself (a stdio connection's one instance).
   */
  setLogLevel?: (level: LoggingLevel) => Promise<void>;
}

/**
 * More tools, prompts or resources for every server instance, registered after the product's own. The product has
 * none (NoMcpServerExtras), and no setting or environment variable can add any: only a test that overrides this
 * provider can. The e2e test of the official conformance suite does, with the fixture tools the suite calls by name
 * (test/support/conformance-fixtures.ts), so that its scenarios run through the real endpoint and transports.
 */
export abstract class McpServerExtras {
  /** How each instance verifies the `requestState` a client echoes in a multi-round-trip call (the product mints none). */
  readonly requestState?: McpServerOptions['requestState'];
  abstract register(ctx: ToolContext): void;
}

/** The product's extras: none. */
@Injectable()
export class NoMcpServerExtras extends McpServerExtras {
  register(): void {}
}

/**
 * Builds McpServer instances, one per serving unit: per HTTP request in both eras, per stdio connection (sharing
 * one across clients leaks data between them). One definition of the tools and resources serves both eras.
 */
@Injectable()
export class McpServerFactory {
  constructor(
    private readonly screen: ScreenTools,
    private readonly tasks: TaskTools,
    private readonly sessionTools: SessionTools,
    private readonly liveViewTools: LiveViewTools,
    private readonly dashboardTools: DashboardTools,
    private readonly trajectories: TrajectoryResources,
    private readonly recordings: RecordingResources,
    private readonly runner: ToolRunner,
    private readonly extras: McpServerExtras,
  ) {}

  create(scope: McpServerScope): McpServer {
    const { setLogLevel, ...context } = scope;
    // The tools capability is declared by the SDK when the first tool is registered (see unknown-tools.ts).
    const server = new McpServer(
      { name: 'cua-mcp-server', title: 'Computer-use MCP server', version },
      { capabilities: { logging: {} }, instructions: INSTRUCTIONS, requestState: this.extras.requestState },
    );
    const ctx: ToolContext = { ...context, server };
    if (setLogLevel) {
      server.server.setRequestHandler('logging/setLevel', async (req) => {
        await setLogLevel(req.params.level);
        ctx.logLevel = req.params.level;
        return {};
      });
    }
    registerRefusingUnknownTools(server, () => {
      this.screen.register(ctx);
      this.tasks.register(ctx);
      this.sessionTools.register(ctx);
      this.liveViewTools.register(ctx);
      this.dashboardTools.register(ctx);
      this.extras.register(ctx);
    }, (request, extra, startedAt) => this.runner.answeredBeforeRun(request.params.name, ctx, extra as Extra, request.params.arguments, startedAt));
    this.trajectories.register(ctx);
    this.recordings.register(ctx);
    // The SDK promises list_changed notifications as it registers tools and resources. This server sends none: its
    // tools are fixed while it runs (settings decide them), and a new trajectory or recording shows in the next list.
    // So clients need not listen for them (in the 2026 era, a subscriptions/listen stream held open each).
    const declared = server.server.getCapabilities();
    server.server.registerCapabilities({ tools: { listChanged: false }, ...(declared.resources && { resources: { ...declared.resources, listChanged: false } }) });
    return server;
  }
}
