import { readUiTars } from './uitars.grammar';

/**
 * Real UI-TARS answers, copied from the authors' repositories:
 * - bytedance/UI-TARS README_deploy.md ("Expected Output" of UI-TARS-1.5-7B) and README.md (post-processing usage);
 * - bytedance/UI-TARS-desktop, the authors' client: its action-parser test fixtures
 *   (multimodal/gui-agent/action-parser/test/{defaultActionParser,index,hallucinationCases}.test.ts,
 *   packages/ui-tars/action-parser/test/actionParser.test.ts), which hold model outputs as they came.
 */
const DEPLOY_EXPECTED =
  'Thought: 我看到Preferences窗口已经打开了，但这里显示的都是系统资源相关的设置。要设置图片的颜色模式，我得先看看左侧的选项列表。嗯，"Color Management"这个选项看起来很有希望，应该就是处理颜色管理的地方。让我点击它看看里面有什么选项。\nAction: click(start_box=\'(177,549)\')';

const THINK_THEN_POINT = `<think>
Okay, let's see. The user wants to search news, but the current search bar has "hi" in it. First, I need to clear that. The search bar has an 'X' button on the right, so clicking that will remove the existing text. Then, I can type "news" into the search bar. Wait, but maybe after clearing, I should enter the new search term. Let's check the steps again. Clear the search bar, type "news", then press enter or click the search icon. That should initiate a news search. Let's do that step by step.
</think>
Thought: To search for news, first clear the existing text "hi" from the Google search bar by clicking the 'X' icon. Then, type "news" into the search bar and press Enter to perform the search. This will display news-related results.
Action: click(point='<point>510 150</point>')`;

const MULTIPLE = `Thought: To query the weather in Beijing, we need to first navigate to a search engine. Since the task specifies not to use Google but Baidu, the first step is to navigate to Baidu's homepage. Then, we can enter the query. 

First, navigate to Baidu: click the address bar, type "baidu.com", press Enter. Then, on Baidu's homepage, click the search input field, type "北京天气", press Enter. These actions will lead to the weather information for Beijing.
Action: click(point='<point>403 81</point>')

type(content='baidu.com')

hotkey(key='enter')

click(point='<point>403 431</point>')

type(content='北京天气')

hotkey(key='enter')`;

describe(readUiTars.name, () => {
  it('reads UI-TARS-1.5-7B\'s documented answer: the thought, and a click at (177, 549) of the image it saw', () => {
    expect(readUiTars(DEPLOY_EXPECTED)).toEqual({
      thought: expect.stringMatching(/^我看到Preferences窗口已经打开了.*让我点击它看看里面有什么选项。$/),
      actions: [{ action: 'left_click', coordinate: [177, 549] }],
      kept: { text: DEPLOY_EXPECTED },
    });
  });

  it('reads the <point>x y</point> grammar of the 1.5 computer-use prompt, after a <think> block', () => {
    const r = readUiTars(THINK_THEN_POINT);
    expect(r.actions).toEqual([{ action: 'left_click', coordinate: [510, 150] }]);
    expect(r.thought).toMatch(/^To search for news, first clear the existing text "hi"/);
    expect(r.error).toBeUndefined();
  });

  it('runs several actions of one answer in order; "hotkey(key=\'enter\')" presses Enter', () => {
    expect(readUiTars(MULTIPLE).actions).toEqual([
      { action: 'left_click', coordinate: [403, 81] },
      { action: 'type', text: 'baidu.com' },
      { action: 'key', text: 'enter' },
      { action: 'left_click', coordinate: [403, 431] },
      { action: 'type', text: '北京天气' },
      { action: 'key', text: 'enter' },
    ]);
  });

  it('a content ending in a newline (written as a real line break) types the text, then presses Return', () => {
    const answer = "Thought: 我已经点击了地址栏，现在需要输入网址doubao.com。地址栏已经被激活，可以直接输入网址。\nAction: type(content='doubao.com\n')";
    expect(readUiTars(answer).actions).toEqual([{ action: 'type', text: 'doubao.com' }, { action: 'key', text: 'Return' }]);
    // ... and written as the escape the prompt asks for.
    expect(readUiTars("Thought: go\nAction: type(content='doubao.com\\n')").actions).toEqual([{ action: 'type', text: 'doubao.com' }, { action: 'key', text: 'Return' }]);
  });

  it('reads "hotkey(key=\'ctrl v\')" as the chord ctrl+v, after an Action_Summary', () => {
    const r = readUiTars("Action_Summary: 粘贴使用 ctrl+v。\nAction: hotkey(key='ctrl v')");
    expect(r).toMatchObject({ thought: '粘贴使用 ctrl+v。', actions: [{ action: 'key', text: 'ctrl+v' }] });
  });

  it('takes the last "Action:" when an answer repeats it, as the authors\' parser does', () => {
    const answer = "Thought: 在当前的界面中，我看到有多个窗口和文件，包括一个浏览器窗口和一个终端窗口。\nAction: click(start_box='(100,100)')\n\nAction: type(content='doubao.com')";
    expect(readUiTars(answer).actions).toEqual([{ action: 'type', text: 'doubao.com' }]);
  });

  it('points written as a box (its centre), <bbox>, or with <|box_start|> tokens; a full-width colon after Action', () => {
    const chinese = '我看到当前屏幕显示的是一个电子表格软件和一个聊天窗口，而任务要求我需要在浏览器中搜索北京明天天气。我需要先点击任务栏上的浏览器图标来启动浏览器。';
    expect(readUiTars(`Thought: ${chinese}\nAction: click(start_box='[637,964,637,964]')`).actions).toEqual([{ action: 'left_click', coordinate: [637, 964] }]);
    expect(readUiTars(`Thought: ${chinese}\nAction: click(start_box='<bbox>637 964 637 964</bbox>')`).actions).toEqual([{ action: 'left_click', coordinate: [637, 964] }]);
    expect(readUiTars("Thought: I need to click on this element\nAction: click(start_box='[348, 333, 928, 365]')").actions).toEqual([{ action: 'left_click', coordinate: [638, 349] }]);
    expect(readUiTars("Thought: I need to click this button\nAction：click(start_box='(100,200)')").actions).toEqual([{ action: 'left_click', coordinate: [100, 200] }]);
    expect(readUiTars("Action: click(start_box='<|box_start|>(10,20)<|box_end|>')").actions).toEqual([{ action: 'left_click', coordinate: [10, 20] }]);
    // A bare call without "Action:", as the authors' client also reads it.
    expect(readUiTars('click(start_box="(100,200)")').actions).toEqual([{ action: 'left_click', coordinate: [100, 200] }]);
  });

  it('drag, double and right clicks, scroll (5 wheel clicks) and wait (5 s)', () => {
    expect(readUiTars("Thought: I need to click on this element\nAction: drag(start_box='[130,226]', end_box='[200,226]')").actions).toEqual([
      { action: 'left_click_drag', start_coordinate: [130, 226], coordinate: [200, 226] },
    ]);
    const r = readUiTars(
      "Thought: t\nAction: left_double(point='<point>1 2</point>')\n\nright_single(point='<point>3 4</point>')\n\nscroll(point='<point>5 6</point>', direction='down')\n\nwait()",
    );
    expect(r.actions).toEqual([
      { action: 'double_click', coordinate: [1, 2] },
      { action: 'right_click', coordinate: [3, 4] },
      { action: 'scroll', scroll_direction: 'down', scroll_amount: 5, coordinate: [5, 6] },
      { action: 'wait', duration: 5 },
    ]);
  });

  it("finished(content=…) ends the task with that answer; call_user() gives up with the model's thought", () => {
    expect(readUiTars("Action: finished(content='The answer to 1+1 is 2.')")).toMatchObject({ actions: [], done: { answer: 'The answer to 1+1 is 2.' } });
    expect(readUiTars('Thought: All set.\nAction: finished()')).toMatchObject({ done: { answer: 'All set.' } });
    expect(readUiTars('Thought: The page asks for a password I do not have.\nAction: call_user()')).toMatchObject({
      actions: [],
      gaveUp: "The model stopped and asked for a person's help (call_user()): The page asks for a password I do not have.",
    });
  });

  it('an unreadable answer, an empty action, an unknown action or a missing point is an error the model reads, never a click', () => {
    const cases: [string, RegExp][] = [
      ['', /The answer was empty/],
      ['I think I should click the button.', /no "Action:" line/],
      ['Thought: Empty action\nAction:', /holds no action/],
      ["Thought: I need to click on this element\nAction: click(start_box='')", /click: start_box must be a point/],
      ["Thought: I need to click on this element\nAction: click(start_box='[]')", /click: start_box must be a point/],
      ['Thought: t\nAction: click()', /click needs point=/],
      ['Thought: t\nAction: open_computer()', /Unknown action "open_computer"\. The actions are: click\(\), left_double\(\)/],
      ["Thought: t\nAction: scroll(point='<point>5 6</point>', direction='sideways')", /direction='up', 'down', 'left' or 'right'/],
      ["Thought: t\nAction: click(point='<point>5 6</point>'", /could not be read/],
    ];
    for (const [answer, why] of cases) {
      const r = readUiTars(answer);
      expect({ answer, actions: r.actions, error: r.error }).toEqual({ answer, actions: [], error: expect.stringMatching(why) });
      expect(r.error).toMatch(/Nothing was done\.$/);
    }
  });
});
