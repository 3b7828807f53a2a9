import { Injectable } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { COMPUTER_ACTIONS, describeSettle, MAX_DURATION_S, MAX_TYPE_CHARS, settleJson } from '../../computer/computer.module';
import { ControlService } from '../../control/control.module';
import { InjectSettings } from '../../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../../computer/computer.settings';
import type { ToolContext } from '../tool-context';
import { definedOnce } from './tool-definition';
import { describeShot, imageBlock, text } from './content';
import { sessionIdField } from './schemas';
import { ToolRunner } from './tool-runner';

const coordinate = z.tuple([z.number().finite(), z.number().finite()]).describe('[x, y] in screenshot pixels');
const format = z.enum(['png', 'jpeg']).optional().describe('Image format: png (default) or jpeg (smaller).');

/** screenshot_cua, the low-level `computer` tool and run_command (ControlService). */
@Injectable()
export class ScreenTools {
  constructor(
    private readonly runner: ToolRunner,
    private readonly control: ControlService,
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
  ) {}

  /** The tools' definitions, built once (tool-definition.ts). */
  private readonly definitions = definedOnce(() => ({
    screenshotCua: {
      title: 'Screenshot',
      description:
        "Take a screenshot of your session's computer (its virtual desktop). Returns the image and a line with its size and " +
        'scale. Use it to see the screen before and after acting. Without session_id it shows the default session of this connection.',
      inputSchema: z.object({ session_id: sessionIdField, format }).strict(),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    computer: {
      title: 'Use the computer',
      description:
        "Act on your session's computer directly: one action per call, with coordinates in the pixels of the latest screenshot. " +
        'Actions: screenshot; left_click/right_click/middle_click/double_click/triple_click (coordinate; optional text = modifier keys held, e.g. "shift"); ' +
        'mouse_move (coordinate); left_click_drag (start_coordinate, coordinate); left_mouse_down/left_mouse_up (optional coordinate); ' +
        'scroll (coordinate, scroll_direction up|down|left|right, scroll_amount wheel clicks); type (text); ' +
        'key (text: xdotool-style key or chord like "Return", "ctrl+s", "alt+F4"; optional repeat); hold_key (text, duration seconds); wait (duration seconds); cursor_position; ' +
        'zoom (region [x0, y0, x1, y1]: returns that part of the screen enlarged, to read small text; later coordinates still refer to the full screenshot). ' +
        'Actions that change the screen return a fresh screenshot unless screenshot is false, taken once the screen has settled ' +
        '(nothing changed for a short moment, or a cap reached); the text says how long that took and whether the cap was hit.',
      inputSchema: z
        .object({
          action: z.enum(COMPUTER_ACTIONS),
          coordinate: coordinate.optional(),
          start_coordinate: coordinate.optional(),
          text: z.string().max(MAX_TYPE_CHARS).optional(),
          scroll_direction: z.enum(['up', 'down', 'left', 'right']).optional(),
          scroll_amount: z.number().int().min(1).max(100).optional(),
          duration: z.number().min(0).max(MAX_DURATION_S).optional(),
          repeat: z.number().int().min(1).max(100).optional().describe('key: how many times to press it (default 1).'),
          region: z
            .tuple([z.number(), z.number(), z.number(), z.number()])
            .optional()
            .describe('zoom: [x0, y0, x1, y1] in screenshot pixels (x1, y1 exclusive).'),
          screenshot: z.boolean().optional().describe('Return a screenshot after the action (default true for actions that change the screen).'),
          format,
          session_id: sessionIdField,
        })
        .strict(),
      annotations: { destructiveHint: true, openWorldHint: false },
    },
    runCommand: {
      title: 'Run a shell command',
      description:
        "Run a shell command (/bin/sh -c) inside your session's computer, isolated from the server and from other sessions: its own home and " +
        'temp folders, its own display ($DISPLAY), a network as the operator set it (by default the internet, never this server or other services of its host). Returns stdout, stderr and the exit code; ' +
        'a command past its timeout is killed with everything it started; long output is cut and the result says so. ' +
        'Programs a command leaves in the background end with it: to open an application (a browser, an editor) that should keep its ' +
        'window, pass background=true, which starts the command and returns once the screen has settled (its window drawn, or a cap of ' +
          `${this.computer.settle.maxMs} ms reached; it runs until it exits or the session ends).`,
      inputSchema: z
        .object({
          command: z.string().min(1, 'command must not be empty').max(100_000),
          timeout_ms: z.number().int().min(100).max(3_600_000).optional().describe(`Kill the command after this long (default ${this.computer.commandTimeoutMs} ms).`),
          background: z
            .boolean()
            .optional()
            .describe('Start the command and return at once, leaving it running (e.g. to open an application); its output is not kept. Default false.'),
          session_id: sessionIdField,
        })
        .strict(),
      annotations: { destructiveHint: true, openWorldHint: false },
    },
  }));

  register(ctx: ToolContext) {
    const tools = this.definitions();
    ctx.server.registerTool(
      'screenshot_cua',
      tools.screenshotCua,
      (args, extra) =>
        this.runner.run('screenshot_cua', ctx, extra, async (scope) => {
          const { signal } = scope;
          const session = await scope.session(args.session_id);
          const shot = await this.control.screenshot(session, args.format ?? 'png', signal);
          return { content: [imageBlock(shot), text(`session ${session.id}: ${describeShot(shot)}`)] };
        }, args),
    );

    ctx.server.registerTool(
      'computer',
      tools.computer,
      (args, extra) =>
        this.runner.run('computer', ctx, extra, async (scope) => {
          const { signal } = scope;
          const session = await scope.session(args.session_id);
          const { screenshot, format, session_id: _s, ...action } = args;
          const { outcome, settled, screenshot: shot } = await this.control.act(session, action, { signal, screenshot, format });
          const content: CallToolResult['content'] = [text(`session ${session.id}: ${outcome.summary}`)];
          if (outcome.image) content.push(imageBlock(outcome.image));
          if (shot) content.push(imageBlock(shot), text(describeShot(shot) + (settled ? `\n${describeSettle(settled)}` : '')));
          const structured = { ...(outcome.coordinate ? { coordinate: outcome.coordinate } : {}), ...(settled ? { settle: settleJson(settled) } : {}) };
          return { content, ...(Object.keys(structured).length ? { structuredContent: structured } : {}) };
        }, args),
    );

    ctx.server.registerTool(
      'run_command',
      tools.runCommand,
      (args, extra) =>
        this.runner.run('run_command', ctx, extra, async (scope) => {
          const { signal } = scope;
          if (args.background && args.timeout_ms !== undefined) {
            throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'timeout_ms applies to commands that are waited for; leave it out with background=true.');
          }
          const session = await scope.session(args.session_id);
          if (args.background) {
            const { pid, settled } = await this.control.launch(session, args.command, signal);
            return {
              content: [
                text(
                  `session ${session.id}: started in the background${pid ? ` (pid ${pid})` : ''}; it runs until it exits or the session's computer is released.` +
                    (settled ? `\n${describeSettle(settled)}` : ''),
                ),
              ],
              structuredContent: { background: true, ...(pid ? { pid } : {}), ...(settled ? { settle: settleJson(settled) } : {}) },
            };
          }
          const r = await this.control.runCommand(session, args.command, { timeoutMs: args.timeout_ms, signal });
          const status = r.timedOut ? `killed after ${r.timeoutMs} ms (timeout)` : r.exitCode === null ? 'killed' : `exit code ${r.exitCode}`;
          const body = `session ${session.id}: ${status}${r.truncated ? ' (output cut at the output limit)' : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
          return {
            content: [text(body)],
            structuredContent: { exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, timed_out: r.timedOut, truncated: r.truncated },
          };
        }, args),
    );
  }
}
