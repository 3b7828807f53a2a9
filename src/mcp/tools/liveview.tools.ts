import { Injectable } from '@nestjs/common';
import * as z from 'zod';
import { LIVE_VIEW_APP_META, LIVE_VIEW_APP_URI, LiveViewService, MCP_APP_MIME_TYPE } from '../../liveview/liveview.module';
import type { ToolContext } from '../tool-context';
import { definedOnce } from './tool-definition';
import { text } from './content';
import { sessionIdField } from './schemas';
import { ToolRunner } from './tool-runner';

const liveViewOutput = z.object({
  url: z.string().describe('Open it in a browser within expires_at; it works once.'),
  expires_at: z.string().describe('When the link stops working if unused (ISO 8601).'),
  session_id: z.string(),
  control: z.boolean().describe('Whether the page takes control as it opens.'),
});

const liveViewState = z.object({
  session_id: z.string(),
  control: z.enum(['agent', 'you', 'someone-else']).describe('Who drives the desktop: the agent, this view, or another person.'),
  running_tasks: z.number().int(),
  ended: z.boolean(),
});

/**
 * live_view: a link to watch a session's desktop live in a browser, and take it over; in a host that
 * supports MCP Apps, the same view inside the conversation (the `ui://` resource its `_meta.ui` names),
 * whose buttons call live_view_control.
 */
@Injectable()
export class LiveViewTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly liveView: LiveViewService,
  ) {}

  /** The tools' definitions, built once (tool-definition.ts). */
  private readonly definitions = definedOnce(() => ({
    liveView: {
      title: 'Watch a session live',
      description:
        "Get a link to a page that shows one of your sessions' desktop live in a browser, for a person to watch the agent work. " +
        'The link works once, within a minute; give it to the person at once. With control: true the page takes control as it opens: ' +
        "the person's mouse and keyboard reach the desktop, computer input and run_command are refused meanwhile, and a running " +
        'run_cua_task pauses until the person hands control back (a button on the page, or release_control). Without it the page only ' +
        'watches, and the person can take control with a button. Clients that support MCP Apps also show the view inside the conversation.',
      inputSchema: z
        .object({
          session_id: sessionIdField,
          control: z.boolean().optional().describe('Take control as the page opens (default false: watch only).'),
        })
        .strict(),
      outputSchema: liveViewOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
      // MCP Apps: the host renders this resource with the result. The flat key is the extension's older
      // spelling, still read by some hosts (the extension's own registerAppTool sets both).
      _meta: { ui: { resourceUri: LIVE_VIEW_APP_URI }, 'ui/resourceUri': LIVE_VIEW_APP_URI },
    },
    liveViewControl: {
      title: 'Live view in the chat: take control, hand back, state',
      description:
        "The buttons of live_view's view inside the chat (an MCP App), called by that view, not by agents: take control of the session's " +
        'desktop for this view, hand it back to the agent, see who holds it, or get a new token to reconnect with. token: the one the view ' +
        'opened its WebSocket with.',
      inputSchema: z
        .object({
          token: z.string().max(64).describe('The token the view opened its WebSocket with (from the live_view result).'),
          action: z.enum(['state', 'take', 'release', 'reconnect']).describe('take / release: control for this view; reconnect: a new token for the WebSocket.'),
        })
        .strict(),
      outputSchema: liveViewState,
      annotations: { destructiveHint: false, openWorldHint: false },
      _meta: { ui: { resourceUri: LIVE_VIEW_APP_URI, visibility: ['app'] } },
    },
  }));

  register(ctx: ToolContext) {
    if (!this.liveView.enabled) return;
    const tools = this.definitions();
    ctx.server.registerTool(
      'live_view',
      tools.liveView,
      (args, extra) =>
        this.runner.run('live_view', ctx, extra, async ({ session }) => {
          const s = await session(args.session_id);
          const control = args.control ?? false;
          const link = await this.liveView.link(s, control);
          const expiresAt = new Date(link.expiresAt).toISOString();
          const how = control ? 'The page takes control as it opens.' : 'The page watches; the person can take control with its button.';
          return {
            content: [text(`Live view of session ${s.id}: ${link.url}\nIt works once, until ${expiresAt}. ${how}`)],
            structuredContent: { url: link.url, expires_at: expiresAt, session_id: s.id, control },
            // For the MCP App alone: a token of its own, so the link above stays the person's.
            _meta: { [LIVE_VIEW_APP_META]: await this.liveView.appTicket(s) },
          };
        }, args),
    );

    ctx.server.registerTool(
      'live_view_control',
      tools.liveViewControl,
      (args, extra) =>
        this.runner.run('live_view_control', ctx, extra, async () => {
          const grant = this.liveView.appView(ctx.principal, args.token);
          const state =
            args.action === 'take' ? this.liveView.takeControl(grant) : args.action === 'release' ? this.liveView.releaseControl(grant) : this.liveView.state(grant);
          const ticket = args.action === 'reconnect' ? { _meta: { [LIVE_VIEW_APP_META]: await this.liveView.appTicket(grant.session) } } : {};
          return { content: [text(`Session ${state.session_id}: control is with ${state.control === 'you' ? 'this view' : state.control}.`)], structuredContent: { ...state }, ...ticket };
        }, args),
    );

    ctx.server.registerResource(
      'live-view-app',
      LIVE_VIEW_APP_URI,
      {
        title: 'Live view (MCP App)',
        description: "live_view's view inside the conversation: the session's desktop, live, with take-over and fullscreen.",
        mimeType: MCP_APP_MIME_TYPE,
        _meta: { ui: { csp: this.liveView.appCsp(), prefersBorder: true } },
      },
      () => ({
        contents: [{ uri: LIVE_VIEW_APP_URI, mimeType: MCP_APP_MIME_TYPE, text: this.liveView.appHtml(), _meta: { ui: { csp: this.liveView.appCsp(), prefersBorder: true } } }],
      }),
    );
  }
}
