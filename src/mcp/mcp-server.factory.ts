import { Injectable } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SetLevelRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { packageVersion } from '../common/version';
import { RecordingResources } from './recording.resources';
import { TrajectoryResources } from './trajectory.resources';
import type { ToolContext } from './tool-context';
import { DashboardTools } from './tools/dashboard.tools';
import { LiveViewTools } from './tools/liveview.tools';
import { ScreenTools } from './tools/screen.tools';
import { SessionTools } from './tools/session.tools';
import { TaskTools } from './tools/task.tools';
import { registerRefusingUnknownTools } from './unknown-tools';

const version = packageVersion();

const INSTRUCTIONS =
  'This server gives you your own computer (a virtual desktop) per session. See it with screenshot_cua, drive it with the computer tool, ' +
  'or hand a whole task in plain words to run_cua_task. Calls without session_id use this connection\'s default session, which ends when ' +
  'left without calls for a few minutes (the next call gets a fresh computer); pass a session_id of your choice, or use create_session, to keep ' +
  'a computer through longer pauses or to have several. End sessions you no longer need with cleanup_session. When the server keeps ' +
  'trajectories, each run_cua_task can be replayed from the resources trajectory://{session_id}/{task_id}; when it records sessions, ' +
  'each session\'s action log and video are the resources recording://{session_id}/{recording_id}.';

/** Builds one McpServer per MCP connection (sharing one across clients leaks data between them). */
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
  ) {}

  create(principal: string, connectionId: string): ToolContext {
    // The tools capability is declared by the SDK when the first tool is registered (see unknown-tools.ts).
    const server = new McpServer({ name: 'cua-mcp-server', title: 'Computer-use MCP server', version }, { capabilities: { logging: {} }, instructions: INSTRUCTIONS });
    const ctx: ToolContext = { principal, connectionId, server };
    // Own the log level: messages are sent on each request's stream and filtered here.
    server.server.setRequestHandler(SetLevelRequestSchema, (req) => {
      ctx.logLevel = req.params.level;
      return {};
    });
    registerRefusingUnknownTools(server, () => {
      this.screen.register(ctx);
      this.tasks.register(ctx);
      this.sessionTools.register(ctx);
      this.liveViewTools.register(ctx);
      this.dashboardTools.register(ctx);
    });
    this.trajectories.register(ctx);
    this.recordings.register(ctx);
    return ctx;
  }
}
