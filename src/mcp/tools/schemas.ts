import * as z from 'zod';

export const sessionIdField = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'session_id may hold only letters, digits and . _ : @ -')
  .optional()
  .describe(
    "Which of your sessions (computers) to use. Omit it to use this connection's default session (ended when left without calls for a few minutes). " +
      'Any new id you choose is created on first use; ids from create_session start with "ses_".',
  );

export const MAX_TASK_CHARS = 20_000;
export const MAX_MULTI_TASKS = 16;

export const taskField = z
  .string()
  .trim()
  .min(1, 'task must not be empty: describe what to do on the computer')
  .max(MAX_TASK_CHARS, `task is at most ${MAX_TASK_CHARS} characters`);

export const modelField = z
  .string()
  .trim()
  .regex(/^[a-z][a-z0-9-]*\/\S+$/, 'model must look like provider/model, e.g. anthropic/claude-sonnet-5-5')
  .max(200)
  .optional()
  .describe('The computer-use model for this call, as provider/model. Omit it for the server default; others must be allowed by the server (AGENT_ALLOWED_MODELS).');
