import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { ComputerAction, Coordinate, Screenshot } from '../../computer/computer.module';
import { toModelCallError } from '../model-errors';
import { CuaModel, ModelInput, ModelTurn, ScreenshotSize } from '../model.port';
import type { ChatFamily, FamilyPrompt, FamilyReading } from './chat-family';
import { dataUrl, resizeTo, SentImage, smartResize, SmartResize } from './image-sizing';

/** What a step keeps of a turn (StepRecord.state): the family's own record of the answer. */
interface FamilyState {
  kept: unknown;
}

/** A point the model gave that lies off the image it was shown: the text the model reads. */
class OffImage extends Error {}

/** The screenshot limits a family with its own sizing asks of the loop: its pixel budget, any long edge. */
function screenshotSizeFor(sizing: SmartResize | undefined): ScreenshotSize | undefined {
  return sizing ? { maxLongEdge: 16_384, maxPixels: sizing.maxPixels } : undefined;
}

/**
 * A model behind an OpenAI-compatible chat-completions endpoint, driven the way its family (ChatFamily)
 * says: the family writes each request and reads each answer; this class sizes the images the family
 * needs (its smart resize, within OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS), maps the family's points to the
 * screenshot the loop took (refusing points off the image with an error the model reads), and calls
 * the endpoint.
 */
export class FamilyModel extends CuaModel {
  override readonly screenshotSize?: ScreenshotSize;
  private readonly sent = new WeakMap<Screenshot, Promise<SentImage>>();

  constructor(
    readonly name: string,
    private readonly family: ChatFamily,
    private readonly sizing: SmartResize | undefined,
    private readonly client: OpenAI,
    private readonly model: string,
    private readonly secrets: (string | undefined)[],
  ) {
    super();
    this.screenshotSize = screenshotSizeFor(sizing);
  }

  async next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn> {
    const image = await this.imageOf(input.screenshot);
    const steps = await Promise.all(
      input.history.map(async (record, i) => {
        const shown = input.screens[i];
        return { kept: (record.state as FamilyState | undefined)?.kept, outcomes: record.outcomes, image: shown ? await this.imageOf(shown) : undefined };
      }),
    );
    const prompt: FamilyPrompt = { task: input.task, steps, image };
    let completion: ChatCompletion;
    try {
      completion = await this.client.chat.completions.create({ ...this.family.request(prompt), model: this.model, stream: false }, { signal });
    } catch (e) {
      throw toModelCallError(e, OpenAI, this.secrets);
    }
    const usage = completion.usage ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens } : undefined;
    const message = completion.choices?.[0]?.message;
    if (!message) return { actions: [], error: 'The server returned no answer (a completion without choices). Answer again.', usage, state: { kept: null } };
    const reading = this.family.read(message, image, prompt);
    return { ...this.turn(reading, image, input.screenshot), usage };
  }

  private turn(reading: FamilyReading, image: SentImage, shot: Screenshot): ModelTurn {
    const state: FamilyState = { kept: reading.kept };
    const thought = reading.thought || undefined;
    if (reading.error !== undefined) return { thought, actions: [], error: reading.error, state };
    let actions: ComputerAction[];
    try {
      actions = reading.actions.map((a) => this.onScreenshot(a, image, shot));
    } catch (e) {
      if (e instanceof OffImage) return { thought, actions: [], error: e.message, state };
      throw e;
    }
    return { thought, actions, done: reading.done, gaveUp: reading.gaveUp === undefined ? undefined : { reason: reading.gaveUp }, state };
  }

  /** The action with its points moved from the family's convention into the screenshot's pixels. */
  private onScreenshot(a: ComputerAction, image: SentImage, shot: Screenshot): ComputerAction {
    const convention = this.family.coordinates;
    if (convention === 'screenshot') return a;
    const map = (c: Coordinate): Coordinate => {
      const [x, y] = c;
      if (convention === 'grid-999') {
        // The model sees a 1000x1000 screen (0..999); the authors scale by /999. 1000 is taken as the far edge.
        if (!(x >= 0 && x <= 1000 && y >= 0 && y <= 1000)) {
          throw new OffImage(`The point (${x}, ${y}) is off the screen: x and y go from 0 to 999 (the screen is 1000x1000 to you). Nothing was done.`);
        }
        return [Math.min(shot.width - 1, Math.round((x * shot.width) / 999)), Math.min(shot.height - 1, Math.round((y * shot.height) / 999))];
      }
      if (!(x >= 0 && x < image.width && y >= 0 && y < image.height)) {
        throw new OffImage(
          `The point (${x}, ${y}) is off the screenshot: x must be 0..${image.width - 1} and y 0..${image.height - 1} (pixels of the ${image.width}x${image.height} image you were shown). Nothing was done.`,
        );
      }
      return [Math.min(shot.width - 1, Math.round((x * shot.width) / image.width)), Math.min(shot.height - 1, Math.round((y * shot.height) / image.height))];
    };
    return {
      ...a,
      ...(a.coordinate ? { coordinate: map(a.coordinate) } : {}),
      ...(a.start_coordinate ? { start_coordinate: map(a.start_coordinate) } : {}),
    };
  }

  /** The image the model is shown for a screenshot: resized by the family's smart resize, once per screenshot. */
  private imageOf(shot: Screenshot): Promise<SentImage> {
    let sent = this.sent.get(shot);
    if (!sent) {
      if (!this.sizing) {
        sent = Promise.resolve({ url: dataUrl(shot), width: shot.width, height: shot.height });
      } else {
        const size = smartResize(shot.width, shot.height, this.sizing);
        sent = resizeTo(shot, size.width, size.height);
      }
      this.sent.set(shot, sent);
    }
    return sent;
  }
}
