import { readOpenCua } from './opencua.grammar';

/**
 * Real OpenCUA answers and action code, from the authors' repository xlang-ai/OpenCUA:
 * - model/README.md: OpenCUA-7B's expected grounding result, "```python\npyautogui.click(x=1443, y=343)\n```";
 * - evaluation/agentnetbench/sample_data/s_5473959e0f6e21f7.json and its siblings: the thoughts, action
 *   instructions and pyautogui code of AgentNet trajectories (what the models are trained to write), put in the
 *   "## Thought / ## Action / ## Code" layout of the L2 response template (evaluation/agentnetbench/agent/opencua.py).
 *   AgentNet stores points as fractions of the screen, which the reader takes as fractions of the image.
 */
const l2 = (thought: string, action: string, code: string) => `## Thought:\n${thought}\n\n## Action:\n${action}\n\n## Code:\n\`\`\`python\n${code}\n\`\`\`\n`;

const image = { width: 1288, height: 812 };

describe(readOpenCua.name, () => {
  it('reads OpenCUA-7B\'s documented grounding answer: a click at (1443, 343) of the image it saw', () => {
    const big = { width: 1932, height: 1092 };
    expect(readOpenCua('```python\npyautogui.click(x=1443, y=343)\n```', big)).toMatchObject({ actions: [{ action: 'left_click', coordinate: [1443, 343] }] });
  });

  it('a step of thought, action and code: a hotkey chord', () => {
    const thought =
      'The progress towards the goal includes having opened the relevant section of the document in Overleaf and selecting the intended block of text related to accounts and transactions for editing. These steps align with preparing the text for copying and subsequent editing outside of Overleaf. There are no apparent errors or issues in the current state; the document file is open, and the intended text is correctly highlighted. Given this setup, the logical next step is to copy the selected text so it can be pasted into ChatGPT for further editing. Upon copying, the clipboard will hold this text, enabling pasting it into a different application or interface.';
    const r = readOpenCua(l2(thought, 'Press Ctrl + C to copy the selected text.', "pyautogui.hotkey(keys=['ctrl', 'c'])"), image);
    expect(r.actions).toEqual([{ action: 'key', text: 'ctrl+c' }]);
    expect(r.thought).toBe(`${thought}\nPress Ctrl + C to copy the selected text.`);
    expect(r.kept).toEqual({ text: expect.any(String), thought, action: 'Press Ctrl + C to copy the selected text.' });
  });

  it('several lines of code run in order: moveTo then dragTo (a fraction of the image), write then press', () => {
    const drag = readOpenCua(
      l2('The next logical action is to execute a drag operation to select the desired block of text.', 'Click and drag from the start of the text discussing accounts and transactions in the editor to extend the selection, selecting the intended block of text for editing.', "pyautogui.moveTo(x=0.328, y=0.4697)\npyautogui.dragTo(x=0.5025, y=0.6039, button='left')"),
      image,
    );
    expect(drag.actions).toEqual([
      { action: 'mouse_move', coordinate: [0.328 * 1288, 0.4697 * 812] },
      { action: 'left_click_drag', coordinate: [0.5025 * 1288, 0.6039 * 812] },
    ]);
    const typed = readOpenCua(l2('t', 'Type SPOTIFY and press Enter.', "pyautogui.write(message='SPOTIFY')\npyautogui.press(keys=['enter'])"), image);
    expect(typed.actions).toEqual([{ action: 'type', text: 'SPOTIFY' }, { action: 'key', text: 'enter' }]);
    expect(readOpenCua(l2('t', 'a', 'pyautogui.write(message="help me polish this: \'")'), image).actions).toEqual([{ action: 'type', text: "help me polish this: '" }]);
  });

  it('scroll (negative is down), a right click, presses, a triple click, a write ending in a newline', () => {
    expect(readOpenCua(l2('t', 'a', 'pyautogui.moveTo(x=0.4496, y=0.7349)\npyautogui.scroll(-54)'), image).actions).toEqual([
      { action: 'mouse_move', coordinate: [0.4496 * 1288, 0.7349 * 812] },
      { action: 'scroll', scroll_direction: 'down', scroll_amount: 54 },
    ]);
    expect(readOpenCua(l2('t', 'a', 'pyautogui.rightClick(x=0.6152, y=0.5337)'), image).actions).toEqual([{ action: 'right_click', coordinate: [0.6152 * 1288, 0.5337 * 812] }]);
    expect(readOpenCua(l2('t', 'a', "pyautogui.press('tab', presses=3)\npyautogui.click(x=10, y=20, clicks=2)"), image).actions).toEqual([
      { action: 'key', text: 'tab', repeat: 3 },
      { action: 'double_click', coordinate: [10, 20] },
    ]);
    expect(readOpenCua(l2('t', 'a', 'computer.triple_click(x=300, y=400)'), image).actions).toEqual([{ action: 'triple_click', coordinate: [300, 400] }]);
    expect(readOpenCua(l2('t', 'a', "pyautogui.write('ls\\n')"), image).actions).toEqual([{ action: 'type', text: 'ls' }, { action: 'key', text: 'Return' }]);
  });

  it("computer.terminate ends the task: success with the step's action, failure as giving up", () => {
    const thought =
      'The task involves pasting polished text into Overleaf. The previous step was pasting copied text into Overleaf, suggesting completion of the main goal.';
    const done = readOpenCua(`${l2(thought, 'Terminate the running process successfully to complete the task.', '').replace(/```python\n\n```/, "```code\ncomputer.terminate(status='success')\n```")}`, image);
    expect(done).toMatchObject({ actions: [], done: { answer: 'Terminate the running process successfully to complete the task.' } });
    expect(readOpenCua(l2('The file does not exist anywhere.', 'Give up.', "computer.terminate(status='failure')"), image)).toMatchObject({
      actions: [],
      gaveUp: 'The model ended the task as failed (computer.terminate with status "failure"): The file does not exist anywhere.',
    });
  });

  it('no code, unreadable code, an unknown call, bad arguments: an error the model reads, and nothing runs', () => {
    const cases: [string, RegExp][] = [
      ['', /The answer was empty/],
      ['## Thought:\nI will click the button.\n\n## Action:\nClick it.', /no code block/],
      [l2('t', 'a', 'pyautogui.click(x=10, y=20'), /could not be read/],
      [l2('t', 'a', "import os\nos.system('rm -rf /')"), /could not be read/],
      [l2('t', 'a', "pyautogui.keyDown('shift')"), /Unknown call pyautogui\.keyDown\(\)\. The calls are: pyautogui\.click\(\)/],
      [l2('t', 'a', 'pyautogui.moveTo()'), /pyautogui\.moveTo needs x and y/],
      [l2('t', 'a', "pyautogui.click(x='left', y=3)"), /x and y must be numbers/],
      [l2('t', 'a', 'pyautogui.scroll(0)'), /whole number of wheel clicks from 1 to 100/],
      [l2('t', 'a', "computer.terminate(status='maybe')"), /status='success' or status='failure'/],
      [l2('t', 'a', "pyautogui.click(x=1, y=2)\npyautogui.hotkey()"), /needs key names/],
    ];
    for (const [answer, why] of cases) {
      const r = readOpenCua(answer, image);
      expect({ answer, actions: r.actions, error: r.error }).toEqual({ answer, actions: [], error: expect.stringMatching(why) });
    }
  });
});
