import { DiscoveryService } from '@nestjs/core';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { ComputerAction } from '../../computer/computer.module';
import type { ActionResult } from '../model.port';
import type { SentImage, SmartResize } from './image-sizing';

/**
 * Where a family's points are measured:
 * - `screenshot`: pixels of the screenshot exactly as the loop sized it (the generic function form);
 * - `image`: pixels of the image sent, which the family sizes itself (`sizing`), as Qwen2.5-VL-based models
 *   (UI-TARS-1.5, OpenCUA-7B/32B, Qwen2.5-VL) point on the image their processor resized;
 * - `grid-999`: a relative grid, 0 to 999 across the image's width and height whatever its size (Qwen3-VL).
 */
export type CoordinateConvention = 'screenshot' | 'image' | 'grid-999';

/** One earlier step of the task, as a family reads it back to build the next request. */
export interface FamilyStep {
  /** What the family kept of that step's answer (its reading's `kept`). */
  kept: unknown;
  /** What became of each action of that step, in order; one error when the answer could not be carried out. */
  outcomes: readonly ActionResult[];
  /** The screen the model saw at that step, or undefined when it is older than the CUA_MAX_IMAGES most recent. */
  image?: SentImage;
}

export interface FamilyPrompt {
  task: string;
  /** The steps so far, oldest first. */
  steps: readonly FamilyStep[];
  /** The screen now. */
  image: SentImage;
}

/** What a family read in one answer. Points are in the family's own convention; the model maps them to the screen. */
export interface FamilyReading {
  thought?: string;
  actions: ComputerAction[];
  /** The task is done; `answer` is what the model reported. */
  done?: { answer: string };
  /** The model ended the task without doing it; a sentence naming what it said. */
  gaveUp?: string;
  /** The answer cannot be carried out: why, written for the model to read on its next turn. */
  error?: string;
  /** Handed back with this step in FamilyStep.kept (JSON-serialisable, e.g. the answer's text); also stored in the trajectory. */
  kept: unknown;
}

/** The parts of a chat-completions request a family decides (the model name and the transport are the endpoint's). */
export type FamilyRequest = Omit<ChatCompletionCreateParamsNonStreaming, 'model' | 'stream'>;

/**
 * A model family: how one kind of open GUI-agent model is prompted on an OpenAI-compatible chat endpoint,
 * how its screenshots are sized, and how its answers are read. A family only translates; the agent loop
 * and the model around it do the rest (sizing images, mapping points to the screen, retries, history).
 * Register one from any Nest module with @RegisterChatFamily(); OPENAI_COMPATIBLE_MODEL_FAMILY picks it by name.
 */
export abstract class ChatFamily {
  /** The name OPENAI_COMPATIBLE_MODEL_FAMILY uses, e.g. `uitars`. */
  abstract readonly name: string;
  abstract readonly coordinates: CoordinateConvention;
  /**
   * How the screenshot is resized before it is sent, for families whose processor resizes images (required for
   * the `image` and `grid-999` conventions; OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS may lower `maxPixels`).
   */
  readonly sizing?: SmartResize;
  /** The request for the next answer. */
  abstract request(prompt: FamilyPrompt): FamilyRequest;
  /** Reads one answer; never throws for what the model wrote (an unreadable answer is a reading with `error`). */
  abstract read(message: ChatCompletionMessage, image: { width: number; height: number }, prompt: FamilyPrompt): FamilyReading;
}

/** Marks a ChatFamily subclass (listed in some module's providers) as a model family. */
export const RegisterChatFamily = DiscoveryService.createDecorator<void>();
