import { Injectable } from '@nestjs/common';
import type { ChatCompletionMessage, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ChatFamily, FamilyPrompt, FamilyReading, FamilyRequest, RegisterChatFamily } from '../../chat-family';
import type { SmartResize } from '../../image-sizing';
import { OpenCuaKept, readOpenCua } from './opencua.grammar';

/** The two functions OpenCUA's prompt offers beside pyautogui (names and parameters as the authors declare them). */
const FUNCTIONS = [
  {
    name: 'computer.triple_click',
    description: 'Triple click on the screen',
    parameters: {
      type: 'object',
      properties: { x: { type: 'number', description: 'The x coordinate of the triple click' }, y: { type: 'number', description: 'The y coordinate of the triple click' } },
      required: ['x', 'y'],
    },
  },
  {
    name: 'computer.terminate',
    description: 'Terminate the current task and report its completion status',
    parameters: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['success', 'failure'], description: 'The status of the task' } },
      required: ['status'],
    },
  },
];

/**
 * The system prompt: the opening sentence, the Thought/Action layout and the function list are those of
 * OpenCUA's "L2" prompt (the reflective chain of thought its agent uses by default, xlang-ai/OpenCUA
 * evaluation/agentnetbench/agent/opencua.py); the guidance under each heading is ours.
 */
export const OPENCUA_SYSTEM_PROMPT = `You are a GUI agent. You are given a task and a screenshot of the screen. You need to perform a series of pyautogui actions to complete the task.

For each step, provide your response in this format:

Thought:
  - Progress so far: what the earlier steps achieved towards the goal, and whether the last one went wrong (if so, how to recover).
  - Next action: the options the screen offers now, the most sensible one, and what it should change.
  - For typing: where the cursor is, and the text expected once typed.

Action:
  One clear instruction for this step: name the target element (its label, in its own language, or its look and place when it has none), without coordinates; for keys, say which and how many times.

Finally, output the action as PyAutoGUI code or the following functions:
${FUNCTIONS.map((f) => `- ${JSON.stringify(f)}`).join('\n')}`;

/** The task, with the current screenshot (OpenCUA's instruction template). */
const instruction = (task: string) =>
  `\n# Task Instruction:\n${task}\n\nPlease generate the next move according to the screenshot, task instruction and previous steps (if provided).\n`;

/**
 * `opencua`: OpenCUA-7B and -32B (Qwen2.5-VL based; vLLM serves them natively). "## Thought / ## Action /
 * ## Code" answers with pyautogui calls; points are pixels of the image shown, the screenshot smart-resized as
 * in their training (factor 28, 3136 to 12845056 pixels). Earlier steps come back as "# Step n: ## Action: …",
 * with their screenshots for the most recent ones (the authors' agent keeps 3 images: CUA_MAX_IMAGES=3).
 */
@Injectable()
@RegisterChatFamily()
export class OpenCuaFamily extends ChatFamily {
  readonly name = 'opencua';
  readonly coordinates = 'image';
  override readonly sizing: SmartResize = { factor: 28, minPixels: 3136, maxPixels: 12_845_056 };

  request({ task, steps, image }: FamilyPrompt): FamilyRequest {
    const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: OPENCUA_SYSTEM_PROMPT }];
    for (const [i, step] of steps.entries()) {
      const kept = step.kept as OpenCuaKept;
      if (step.image) messages.push({ role: 'user', content: [{ type: 'image_url', image_url: { url: step.image.url } }] });
      messages.push({ role: 'assistant', content: `# Step ${i + 1}:\n## Action:\n${kept.action ?? kept.text.trim()}\n` });
      const failed = step.outcomes.filter((o) => o.status === 'error');
      if (failed.length) messages.push({ role: 'user', content: `Step ${i + 1} was not carried out as planned: ${failed.map((o) => o.text).join(' ')}` });
    }
    messages.push({ role: 'user', content: [{ type: 'image_url', image_url: { url: image.url } }, { type: 'text', text: instruction(task) }] });
    // The authors' agent decodes greedily; its reflective thoughts are long.
    return { messages, temperature: 0, max_tokens: 2048 };
  }

  read(message: ChatCompletionMessage, image: { width: number; height: number }): FamilyReading {
    return readOpenCua(message.content ?? '', image);
  }
}
