/**
 * The cua computer-server protocol (see the protocol reference), shared by our client (the `cua`
 * computer provider) and our server (`computer-server` mode). Plain types, one schema per
 * command, the key table and the framing helpers; no I/O and no Nest here. This file is the
 * folder's only door.
 *
 * Conventions settled here (where the public protocol leaves room):
 * - Coordinates are screen pixels of the desktop; `scroll(x, y)` amounts are wheel clicks,
 *   positive `y` scrolls down and positive `x` scrolls right (as the OpenAI `scroll` action).
 * - `duration` (drag) and `timeout` (run_command) are seconds.
 * - `read_bytes`/`write_bytes` carry base64; `read_bytes(offset, length)` counts bytes.
 * - Key names are pyautogui-style ("enter", "ctrl", "cmd", "pagedown", "f5", "a"); a server
 *   that does not know a key answers `success: false` naming it.
 */
export * from './wire';
export * from './framing';
export * from './commands';
export * from './keys';
