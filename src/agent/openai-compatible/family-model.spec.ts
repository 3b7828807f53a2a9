import type OpenAI from 'openai';
import sharp from 'sharp';
import type { ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { Screenshot } from '../../computer/computer.module';
import type { ModelInput } from '../model.port';
import { ChatFamily, CoordinateConvention, FamilyPrompt, FamilyReading, FamilyRequest } from './chat-family';
import { FamilyModel } from './family-model';

/** A family whose every answer the test decides, pointing in the convention the test gives. */
class FakeFamily extends ChatFamily {
  readonly name = 'fake';
  prompts: FamilyPrompt[] = [];
  constructor(
    readonly coordinates: CoordinateConvention,
    private readonly reading: FamilyReading,
  ) {
    super();
  }
  request(prompt: FamilyPrompt): FamilyRequest {
    this.prompts.push(prompt);
    return { messages: [{ role: 'user', content: 'go' }] };
  }
  read(): FamilyReading {
    return this.reading;
  }
}

/** A fake chat-completions client: one canned answer, whatever is asked. */
const fakeClient = { chat: { completions: { create: async () => ({ choices: [{ message: { role: 'assistant', content: 'x', refusal: null } as ChatCompletionMessage }], usage: { prompt_tokens: 3, completion_tokens: 2 } }) } } } as unknown as OpenAI;

async function screenshot(width: number, height: number): Promise<Screenshot> {
  const data = await sharp({ create: { width, height, channels: 3, background: '#336699' } }).png().toBuffer();
  return { data, mimeType: 'image/png', width, height, screenWidth: width, screenHeight: height, scale: 1 };
}

async function turnFor(convention: CoordinateConvention, coordinate: [number, number], shot: Screenshot) {
  const family = new FakeFamily(convention, { actions: [{ action: 'left_click', coordinate }], kept: 'k' });
  const sizing = convention === 'screenshot' ? undefined : { factor: 28, minPixels: 3136, maxPixels: 12_845_056 };
  const sut = new FamilyModel('openai-compatible/fake', family, sizing, fakeClient, 'fake', []);
  const input: ModelInput = { task: 't', step: 1, screenshot: shot, history: [], screens: [shot] };
  return { turn: await sut.next(input, new AbortController().signal), family };
}

describe(FamilyModel.name, () => {
  it('sends the screenshot smart-resized and maps image pixels back to the screenshot', async () => {
    const shot = await screenshot(1280, 800);
    const { turn, family } = await turnFor('image', [1287, 811], shot);
    expect(family.prompts[0].image).toMatchObject({ width: 1288, height: 812 });
    const sent = Buffer.from(family.prompts[0].image.url.split(',')[1], 'base64');
    expect(await sharp(sent).metadata()).toMatchObject({ width: 1288, height: 812, format: 'png' });
    expect(turn).toMatchObject({ actions: [{ action: 'left_click', coordinate: [1279, 799] }], usage: { inputTokens: 3, outputTokens: 2 }, state: { kept: 'k' } });
    expect((await turnFor('image', [644, 406], shot)).turn.actions).toEqual([{ action: 'left_click', coordinate: [640, 400] }]);
  });

  it('refuses a point off the image the model saw, naming the range, and clicks nothing', async () => {
    const shot = await screenshot(1280, 800);
    for (const p of [[1288, 10], [10, 812], [-1, 5], [Number.NaN, 5]] as [number, number][]) {
      const { turn } = await turnFor('image', p, shot);
      expect(turn.actions).toEqual([]);
      expect(turn.error).toMatch(/is off the screenshot: x must be 0\.\.1287 and y 0\.\.811 \(pixels of the 1288x812 image you were shown\)\. Nothing was done\./);
    }
  });

  it('maps the 0-999 grid across the screenshot (/999, as Qwen scales it); 1000 is the far edge, beyond is refused', async () => {
    const shot = await screenshot(640, 400);
    expect((await turnFor('grid-999', [0, 0], shot)).turn.actions).toEqual([{ action: 'left_click', coordinate: [0, 0] }]);
    expect((await turnFor('grid-999', [500, 500], shot)).turn.actions).toEqual([{ action: 'left_click', coordinate: [320, 200] }]);
    expect((await turnFor('grid-999', [999, 999], shot)).turn.actions).toEqual([{ action: 'left_click', coordinate: [639, 399] }]);
    expect((await turnFor('grid-999', [1000, 1000], shot)).turn.actions).toEqual([{ action: 'left_click', coordinate: [639, 399] }]);
    const off = (await turnFor('grid-999', [1001, 10], shot)).turn;
    expect(off).toMatchObject({ actions: [], error: expect.stringMatching(/off the screen: x and y go from 0 to 999/) });
  });

  it('leaves screenshot-pixel points to the action runner (the generic form), sending the screenshot as it is', async () => {
    const shot = await screenshot(640, 400);
    const { turn, family } = await turnFor('screenshot', [5000, 5], shot);
    expect(family.prompts[0].image).toEqual({ url: `data:image/png;base64,${shot.data.toString('base64')}`, width: 640, height: 400 });
    expect(turn.actions).toEqual([{ action: 'left_click', coordinate: [5000, 5] }]);
  });
});
