import { Injectable } from '@nestjs/common';
import type { ChatCompletionContentPart, ChatCompletionMessage, ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import type { ComputerAction } from '../../../../computer/computer.module';
import { ChatFamily, FamilyPrompt, FamilyReading, FamilyRequest, RegisterChatFamily } from '../../chat-family';
import { dataUrl, SentImage } from '../../image-sizing';
import { COMPUTER_FUNCTION } from './computer-function';

export const OMITTED = '[An older screenshot was here; only the most recent ones are kept (CUA_MAX_IMAGES).]';

/** What a step keeps of a chat turn: the assistant message, to send it back. */
interface Kept {
  content: string | null;
  tool_calls: ChatCompletionMessageToolCall[];
}

function screen(image: SentImage | undefined): ChatCompletionContentPart {
  if (!image) return { type: 'text', text: OMITTED };
  return { type: 'image_url', image_url: { url: image.url } };
}

function parseCall(call: ChatCompletionMessageToolCall): ComputerAction {
  if (call.type !== 'function' || call.function.name !== 'computer') return { action: (call.type === 'function' ? call.function.name : call.type) as ComputerAction['action'] };
  try {
    const args = JSON.parse(call.function.arguments || '{}') as unknown;
    if (args && typeof args === 'object' && typeof (args as { action?: unknown }).action === 'string') return args as ComputerAction;
  } catch {
    // reported back to the model below
  }
  return { action: `(invalid arguments: ${call.function.arguments.slice(0, 200)})` as ComputerAction['action'] };
}

/**
 * `generic`: any vision model with function calling (the default family). One `computer` function whose JSON schema
 * is this server's action set; points in the screenshot's own pixels; the screenshot as the server sizes it
 * (SCREENSHOT_MAX_LONG_EDGE, SCREENSHOT_MAX_PIXELS). An answer without a function call ends the task with its text.
 */
@Injectable()
@RegisterChatFamily()
export class GenericFamily extends ChatFamily {
  readonly name = 'generic';
  readonly coordinates = 'screenshot';

  request({ task, steps, image }: FamilyPrompt): FamilyRequest {
    const messages: ChatCompletionMessageParam[] = [
      {
        role: 'system',
        content:
          `You operate a Linux desktop for a user by calling the computer function. Screenshots are ${image.width}x${image.height} pixels; ` +
          'give coordinates in those pixels. After acting you get a new screenshot. When the task is done, or cannot be done, ' +
          'reply with the final answer in plain text and call no function.',
      },
      { role: 'user', content: [{ type: 'text', text: task }, { type: 'text', text: 'The screen now:' }, screen(steps.length ? steps[0].image : image)] },
    ];
    for (const [i, step] of steps.entries()) {
      const kept = step.kept as Kept;
      messages.push({ role: 'assistant', content: kept.content, tool_calls: kept.tool_calls });
      kept.tool_calls.forEach((call, j) => {
        const o = step.outcomes[j];
        messages.push({ role: 'tool', tool_call_id: call.id, content: !o ? 'not executed' : o.status === 'ok' ? o.text : `error: ${o.text}` });
      });
      // A screenshot the model asked for in the middle of its turn: the screen at that moment, before the one after the turn.
      const midTurn = step.outcomes.flatMap((o, j) =>
        o.image ? [{ type: 'text' as const, text: `The screen after call ${j + 1} of your turn:` }, { type: 'image_url' as const, image_url: { url: dataUrl(o.image) } }] : [],
      );
      messages.push({ role: 'user', content: [...midTurn, { type: 'text', text: 'The screen now:' }, screen(i + 1 < steps.length ? steps[i + 1].image : image)] });
    }
    return { messages, tools: [{ type: 'function', function: COMPUTER_FUNCTION }], tool_choice: 'auto' };
  }

  read(message: ChatCompletionMessage): FamilyReading {
    const text = message.content?.trim() ?? '';
    const calls = message.tool_calls ?? [];
    const kept: Kept = { content: message.content ?? null, tool_calls: calls };
    if (!calls.length) return { thought: text || undefined, actions: [], done: { answer: text || '(the model gave no answer)' }, kept };
    return { thought: text || undefined, actions: calls.map(parseCall), kept };
  }
}
