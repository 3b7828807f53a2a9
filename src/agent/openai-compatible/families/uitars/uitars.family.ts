import { Injectable } from '@nestjs/common';
import type { ChatCompletionContentPart, ChatCompletionMessage, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ChatFamily, FamilyPrompt, FamilyReading, FamilyRequest, FamilyStep, RegisterChatFamily } from '../../chat-family';
import type { SentImage } from '../../image-sizing';
import { readUiTars, UiTarsKept } from './uitars.grammar';

export const UITARS_OMITTED = '(An older screenshot was here; only the most recent ones are kept.)';

/**
 * The computer-use prompt. The headings, the output format, the action signatures and the two notes are those of
 * the authors' UI-TARS-1.5 computer-use prompt (COMPUTER_USE in bytedance/UI-TARS codes/ui_tars/prompt.py; the model
 * was trained on them), with call_user() from UI-TARS-desktop's 1.5 prompt; the comments on each action are ours.
 */
export function uiTarsPrompt(task: string): string {
  return `You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.

## Output Format
\`\`\`
Thought: ...
Action: ...
\`\`\`

## Action Space

click(point='<point>x1 y1</point>')
left_double(point='<point>x1 y1</point>')
right_single(point='<point>x1 y1</point>')
drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')
hotkey(key='ctrl c') # keys in lowercase, separated by spaces; at most 3 keys
type(content='xxx') # escape \\', \\" and \\n as in a Python string; end with \\n to submit what you typed
scroll(point='<point>x1 y1</point>', direction='down or up or right or left') # brings what lies in that direction into view
wait() # pauses 5 s, then you see the screen again
finished(content='xxx') # the task is done; content is your answer or a short summary, escaped as in type()
call_user() # stop and hand over to the user: the task cannot be done, or needs their help


## Note
- Use English in \`Thought\` part.
- Write a small plan and finally summarize your next action (with its target element) in one sentence in \`Thought\` part.

## User Instruction
${task}
`;
}

const screen = (image: SentImage | undefined): ChatCompletionContentPart =>
  image ? { type: 'image_url', image_url: { url: image.url } } : { type: 'text', text: UITARS_OMITTED };

/** What the model reads about a step before the next screenshot: only what went wrong (the screenshot shows the rest). */
function feedback(step: FamilyStep): ChatCompletionContentPart[] {
  const failed = step.outcomes.filter((o) => o.status === 'error');
  return failed.length ? [{ type: 'text', text: `Your last action was not carried out as planned: ${failed.map((o) => o.text).join(' ')}` }] : [];
}

/**
 * `uitars`: ByteDance's UI-TARS-1.5 (Qwen2.5-VL based) and later UI-TARS checkpoints that keep its grammar.
 * "Thought: …\nAction: click(point='<point>x y</point>')" in plain text; points are pixels of the image it
 * was shown, which is the screenshot smart-resized as its processor would (factor 28, 100·28² to 16384·28² pixels);
 * the instruction and prompt in the first user turn, then the screenshots and its own answers in turn.
 */
@Injectable()
@RegisterChatFamily()
export class UiTarsFamily extends ChatFamily {
  readonly name = 'uitars';
  readonly coordinates = 'image';
  override readonly sizing = { factor: 28, minPixels: 100 * 28 * 28, maxPixels: 16384 * 28 * 28 };

  request({ task, steps, image }: FamilyPrompt): FamilyRequest {
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: [{ type: 'text', text: uiTarsPrompt(task) }, screen(steps.length ? steps[0].image : image)] }];
    for (const [i, step] of steps.entries()) {
      messages.push({ role: 'assistant', content: (step.kept as UiTarsKept).text });
      messages.push({ role: 'user', content: [...feedback(step), screen(i + 1 < steps.length ? steps[i + 1].image : image)] });
    }
    // The authors' examples decode greedily; an answer is a thought and one or a few actions.
    return { messages, temperature: 0, max_tokens: 1000 };
  }

  read(message: ChatCompletionMessage): FamilyReading {
    return readUiTars(message.content ?? '');
  }
}
