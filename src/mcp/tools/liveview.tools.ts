import { Injectable } from '@nestjs/common';
import * as z from 'zod';
import { LiveViewService } from '../../liveview/liveview.module';
import type { ToolContext } from '../tool-context';
import { text } from './content';
import { sessionIdField } from './schemas';
import { ToolRunner } from './tool-runner';

const liveViewOutput = z.object({
  url: z.string().describe('Open it in a browser within expires_at; it works once.'),
  expires_at: z.string().describe('When the link stops working if unused (ISO 8601).'),
  session_id: z.string(),
  control: z.boolean().describe('Whether the page takes control as it opens.'),
});

/** live_view: a link to watch a session's desktop live in a browser, and take it over. */
@Injectable()
export class LiveViewTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly liveView: LiveViewService,
  ) {}

  register(ctx: ToolContext) {
    if (!this.liveView.enabled) return;
    ctx.server.registerTool(
      'live_view',
      {
        title: 'Watch a session live',
        description:
          "Get a link to a page that shows one of your sessions' desktop live in a browser, for a person to watch the agent work. " +
          'The link works once, within a minute; give it to the person at once. With control: true the page takes control as it opens: ' +
          "the person's mouse and keyboard reach the desktop, computer input and run_command are refused meanwhile, and a running " +
          'run_cua_task pauses until the person hands control back (a button on the page, or release_control). Without it the page only ' +
          'watches, and the person can take control with a button.',
        inputSchema: z
          .object({
            session_id: sessionIdField,
            control: z.boolean().optional().describe('Take control as the page opens (default false: watch only).'),
          })
          .strict(),
        outputSchema: liveViewOutput,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      (args, extra) =>
        this.runner.run('live_view', ctx, extra, async ({ session }) => {
          const s = await session(args.session_id);
          const control = args.control ?? false;
          const link = this.liveView.link(s, control);
          const expiresAt = new Date(link.expiresAt).toISOString();
          const how = control ? 'The page takes control as it opens.' : 'The page watches; the person can take control with its button.';
          return {
            content: [text(`Live view of session ${s.id}: ${link.url}\nIt works once, until ${expiresAt}. ${how}`)],
            structuredContent: { url: link.url, expires_at: expiresAt, session_id: s.id, control },
          };
        }, args),
    );
  }
}
