import { DomainError, DomainErrorCode } from '../common/domain-error';
import { parseKeyCombo } from '../computer/computer.module';
import { keysymOfCuaKey } from '../cua-protocol';

/**
 * The desktop's key names for one key a cua client sent (pyautogui style: "enter", "ctrl",
 * "cmd", "pagedown", "f5", "a", "A", "\n"): the protocol's key table first, then the desktop's
 * own names, so a chord written with "+" ("ctrl+c") or a keysym name ("Page_Down") works too.
 * Throws INVALID_ARGUMENT naming the key when neither knows it.
 */
export function desktopKeysOf(key: string): string[] {
  const keysym = keysymOfCuaKey(key);
  if (keysym) return [keysym];
  try {
    return parseKeyCombo(key);
  } catch {
    throw new DomainError(
      DomainErrorCode.INVALID_ARGUMENT,
      `Unknown key: ${JSON.stringify(key)}. Use pyautogui-style names such as "enter", "ctrl", "alt", "cmd", "pagedown", "f5" or one character.`,
    );
  }
}
