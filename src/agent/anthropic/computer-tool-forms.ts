/** The computer-use forms of the Anthropic Messages API. */
export const ANTHROPIC_TOOL_FORMS = ['computer_toolset_20260801', 'computer_20251124', 'computer_20250124'] as const;
export type AnthropicToolForm = (typeof ANTHROPIC_TOOL_FORMS)[number];

/** The beta flag each versioned single tool needs (the GA toolset needs none). */
export const BETA_FLAG: Record<Exclude<AnthropicToolForm, 'computer_toolset_20260801'>, string> = {
  computer_20251124: 'computer-use-2025-11-24',
  computer_20250124: 'computer-use-2025-01-24',
};

/**
 * Which form each model family gets (Anthropic's computer use tool documentation, "Compatibility" and "Earlier tool
 * versions", November 2026). The longest matching prefix wins; a model not listed (a newer one) gets the toolset.
 * docs/models.md ("Anthropic") shows the same table. ANTHROPIC_COMPUTER_TOOL overrides it.
 */
export const MODEL_TOOL_FORMS: readonly [prefix: string, form: AnthropicToolForm][] = [
  ['claude-opus-5', 'computer_toolset_20260801'],
  ['claude-sonnet-5', 'computer_toolset_20260801'],
  ['claude-haiku-5', 'computer_toolset_20260801'],
  ['claude-fable-5', 'computer_toolset_20260801'],
  ['claude-mythos-5', 'computer_toolset_20260801'],
  ['claude-opus-4-8', 'computer_toolset_20260801'],
  ['claude-opus-4-7', 'computer_20251124'],
  ['claude-opus-4-6', 'computer_20251124'],
  ['claude-sonnet-4-6', 'computer_20251124'],
  ['claude-opus-4-5', 'computer_20251124'],
  ['claude-sonnet-4-5', 'computer_20250124'],
  ['claude-haiku-4-5', 'computer_20250124'],
  ['claude-opus-4-1', 'computer_20250124'],
  ['claude-sonnet-4', 'computer_20250124'],
  ['claude-opus-4', 'computer_20250124'],
];

export function toolFormFor(model: string, override: string): AnthropicToolForm {
  if ((ANTHROPIC_TOOL_FORMS as readonly string[]).includes(override)) return override as AnthropicToolForm;
  let best: [string, AnthropicToolForm] | undefined;
  for (const row of MODEL_TOOL_FORMS) if (model.startsWith(row[0]) && (!best || row[0].length > best[0].length)) best = row;
  return best?.[1] ?? 'computer_toolset_20260801';
}
