import type { BetaToolResultBlockParam, BetaToolUseBlock } from '@anthropic-ai/sdk/resources/beta';
import { BetaAbstractComputerToolset20260801, ToolError } from '@anthropic-ai/sdk/helpers/beta/toolsets';
import type { Screenshot } from '../../computer/computer.module';
import type { ActionResult } from '../model.port';

interface Replay {
  outcome: ActionResult;
  screen?: Screenshot;
}
type Ctx = { toolUse?: { id?: string } };

/**
 * The SDK's computer toolset (`computer_toolset_20260801`), used as the translator for this server's loop: the
 * loop has already carried out each action on the computer, and this toolset answers the model's member call with
 * what happened, through the SDK's own pipeline (its acknowledgments, `toolset_name`, error shape). It serves every
 * member of the toolset, `zoom` included (the loop crops and enlarges the region; the image comes back here).
 */
export class ReplayedComputerToolset extends BetaAbstractComputerToolset20260801 {
  private readonly replays = new Map<string, Replay>();

  constructor() {
    // The calls were approved by whoever asked the server for the task, and have already run.
    super({ confirm: () => true });
  }

  /** The tool_result for one member call, given what became of it (and, for screenshot, the screen to show). */
  async answer(toolUse: BetaToolUseBlock, outcome: ActionResult, screen?: Screenshot): Promise<BetaToolResultBlockParam> {
    this.replays.set(toolUse.id, { outcome, screen });
    try {
      return await this.toolResult(toolUse);
    } finally {
      this.replays.delete(toolUse.id);
    }
  }

  private replay(ctx: Ctx): Replay {
    const r = ctx.toolUse?.id ? this.replays.get(ctx.toolUse.id) : undefined;
    if (!r) throw new ToolError('This action was not carried out.');
    if (r.outcome.status !== 'ok') throw new ToolError(r.outcome.text);
    return r;
  }

  private done(ctx: Ctx): void {
    this.replay(ctx);
  }

  protected override key(ctx: Ctx) { return this.done(ctx); }
  protected override hold_key(ctx: Ctx) { return this.done(ctx); }
  protected override type_(ctx: Ctx) { return this.done(ctx); }
  protected override mouse_move(ctx: Ctx) { return this.done(ctx); }
  protected override left_mouse_down(ctx: Ctx) { return this.done(ctx); }
  protected override left_mouse_up(ctx: Ctx) { return this.done(ctx); }
  protected override left_click(ctx: Ctx) { return this.done(ctx); }
  protected override left_click_drag(ctx: Ctx) { return this.done(ctx); }
  protected override right_click(ctx: Ctx) { return this.done(ctx); }
  protected override middle_click(ctx: Ctx) { return this.done(ctx); }
  protected override double_click(ctx: Ctx) { return this.done(ctx); }
  protected override triple_click(ctx: Ctx) { return this.done(ctx); }
  protected override scroll(ctx: Ctx) { return this.done(ctx); }
  protected override wait(ctx: Ctx) { return this.done(ctx); }

  protected override cursor_position(ctx: Ctx) {
    const [x, y] = this.replay(ctx).outcome.coordinate ?? [0, 0];
    return { x, y };
  }

  protected override screenshot(ctx: Ctx) {
    return this.image(ctx);
  }

  protected override zoom(ctx: Ctx) {
    return this.image(ctx);
  }

  private image(ctx: Ctx) {
    const screen = this.replay(ctx).screen;
    if (!screen) throw new ToolError('The image is no longer available.');
    return { data: screen.data.toString('base64'), mediaType: screen.mimeType };
  }
}
