import { Injectable, OnModuleInit } from '@nestjs/common';
import * as z from 'zod';
import { DashboardService, LiveViewService } from '../../liveview/liveview.module';
import type { ToolContext } from '../tool-context';
import { definedOnce } from './tool-definition';
import { RECORDINGS_PERMISSION } from '../tool-permissions';
import { text } from './content';
import { ToolRunner } from './tool-runner';

const dashboardOutput = z.object({
  url: z.string().describe('Open it in a browser within expires_at; it works once.'),
  expires_at: z.string().describe('When the link stops working if unused (ISO 8601).'),
});

/**
 * dashboard: a link to a page that lists the caller's sessions live. It also hands every finished
 * tool call that addressed a session to the dashboard, which shows each session's last actions.
 */
@Injectable()
export class DashboardTools implements OnModuleInit {
  constructor(
    private readonly runner: ToolRunner,
    private readonly liveView: LiveViewService,
    private readonly dashboard: DashboardService,
  ) {}

  onModuleInit() {
    this.runner.events.on('call', (call) => {
      if (call.session) this.dashboard.noteToolCall(call.session, call);
    });
  }

  /** The tools' definitions, built once (tool-definition.ts). */
  private readonly definitions = definedOnce(() => ({
    dashboard: {
      title: 'Dashboard of your sessions',
      description:
        'Get a link to a page that lists all your sessions live, for a person to keep an eye on them: a small picture of each desktop ' +
        '(refreshed about once a second), its running tasks, who controls it and its last actions. One click on a session opens its ' +
        'live view in a new tab. The link works once, within a minute; give it to the person at once. The page shows only your sessions.',
      inputSchema: z.object({}).strict(),
      outputSchema: dashboardOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
  }));

  register(ctx: ToolContext) {
    if (!this.liveView.enabled) return;
    const tools = this.definitions();
    ctx.server.registerTool(
      'dashboard',
      tools.dashboard,
      (args, extra) =>
        this.runner.run('dashboard', ctx, extra, async () => {
          const link = await this.dashboard.link(ctx.principal, { recordings: ctx.identity.permissions.has(RECORDINGS_PERMISSION) });
          const expiresAt = new Date(link.expiresAt).toISOString();
          return {
            content: [text(`Dashboard of your sessions: ${link.url}\nIt works once, until ${expiresAt}.`)],
            structuredContent: { url: link.url, expires_at: expiresAt },
          };
        }, args),
    );
  }
}
