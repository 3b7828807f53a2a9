import { DiscoveryService } from '@nestjs/core';

/** How a desktop shows it is ready for a first screenshot. */
export type DesktopReady =
  /** The window manager has made some window active (e.g. a terminal opened at start). */
  | { kind: 'active-window' }
  /** A top-level window of this WM_CLASS exists (e.g. the panel). */
  | { kind: 'window-class'; windowClass: string };

/**
 * What runs on an xvfb desktop: the session started in its sandbox, the files that configure it,
 * and the programs it needs. A profile is chosen by DESKTOP_PROFILE; a team adds its own by
 * extending this class, decorating it with @RegisterDesktopProfile() and listing it in a module
 * the app imports (see docs/extending.md and docs/desktops.md).
 */
export abstract class DesktopProfile {
  abstract readonly name: string;
  /** One line for the docs and errors. */
  abstract readonly description: string;
  /** Programs the profile runs, each with the Debian package that ships it (checked at start). */
  abstract readonly programs: Readonly<Record<string, string>>;
  /** The desktop session: a /bin/sh script run in the computer's sandbox; its end ends the desktop. */
  abstract readonly session: string;
  abstract readonly ready: DesktopReady;
  /** Read-only files the sandbox sees below /etc: path relative to /etc → contents. */
  readonly etcFiles: Readonly<Record<string, string>> = {};
  /** Files a new computer's home starts with: path relative to the home → contents. */
  readonly homeFiles: Readonly<Record<string, string>> = {};
}

/** Marks a DesktopProfile subclass (listed in some module's providers) as a profile DESKTOP_PROFILE may name. */
export const RegisterDesktopProfile = DiscoveryService.createDecorator<void>();

/**
 * xterm's multi-click time on our desktops, in ms (xterm's own default is 250). xterm counts a
 * press that comes within this time of the last release (by the X server's timestamps) as the
 * next click of a double or triple click. The input code sends each press of one multi-click
 * once the window manager has passed the previous one on, which under load can take a while:
 * 600 ms absorbs that. XtestInput keeps separate click actions further apart than this.
 */
export const XTERM_MULTI_CLICK_MS = 600;
// The backslash keeps the shells the command passes through (openbox's --startup sh, tint2's
// launcher) from reading `*` as a file pattern: xterm gets `XTerm*multiClickTime:600`.
const TERMINAL = `xterm -u8 -fa Monospace -fs 11 -xrm XTerm\\*multiClickTime:${XTERM_MULTI_CLICK_MS}`;

/** Today's lightest desktop: openbox and one terminal that comes back when closed. */
export class MinimalDesktop extends DesktopProfile {
  readonly name = 'minimal';
  readonly description = 'openbox and one terminal (xterm) that comes back when closed; the lightest footprint';
  readonly programs = { openbox: 'openbox', xterm: 'xterm' };
  // openbox starts the terminal once it manages the screen, so the terminal gets focus.
  readonly session = `openbox --sm-disable --startup 'sh -c "while :; do ${TERMINAL} -geometry 100x30+40+40 -title Terminal; sleep 1; done"'`;
  readonly ready: DesktopReady = { kind: 'active-window' };
}

/** Panel buttons of the standard desktop: the words a model looks for, and what each starts. */
export const STANDARD_LAUNCHERS: readonly { text: string; icon: string; command: string }[] = [
  { text: 'Browser', icon: 'firefox-esr', command: 'x-www-browser' },
  { text: 'Editor', icon: 'org.xfce.mousepad', command: 'mousepad' },
  { text: 'Files', icon: 'system-file-manager', command: 'pcmanfm' },
  { text: 'Terminal', icon: 'xterm', command: `${TERMINAL} -title Terminal` },
];

function tint2rc(): string {
  const buttons = STANDARD_LAUNCHERS.map((l) =>
    [
      'button = new',
      `button_icon = ${l.icon}`,
      `button_text = ${l.text}`,
      `button_tooltip = Open the ${l.text.toLowerCase()}`,
      `button_lclick_command = ${l.command}`,
      'button_padding = 6 2 6',
      'button_font = DejaVu Sans Bold 11',
      'button_font_color = #ffffff 100',
      'button_background_id = 2',
      'button_centered = 1',
      'button_max_icon_size = 22',
    ].join('\n'),
  ).join('\n\n');
  return `# The standard desktop's panel (tint2): labelled launchers (P: push buttons), the open windows (T), a clock (C).
rounded = 0
border_width = 0
background_color = #20242c 100
border_color = #000000 0

rounded = 3
border_width = 1
background_color = #3a4150 100
border_color = #5a6478 100
background_color_hover = #4a5468 100
border_color_hover = #7a88a0 100
background_color_pressed = #2a3040 100
border_color_pressed = #7a88a0 100

rounded = 3
border_width = 0
background_color = #4a6fa5 100
border_color = #000000 0

panel_items = PPPPTC
panel_size = 100% 36
panel_margin = 0 0
panel_padding = 4 3 6
panel_background_id = 1
panel_position = bottom center horizontal
panel_layer = top
panel_dock = 0
panel_monitor = all
wm_menu = 1
strut_policy = follow_size
autohide = 0
mouse_effects = 1

taskbar_mode = single_desktop
taskbar_padding = 6 0 4
taskbar_background_id = 0
taskbar_active_background_id = 0
taskbar_name = 0

task_text = 1
task_icon = 1
task_centered = 0
task_maximum_size = 220 30
task_padding = 6 2 4
task_font = DejaVu Sans 10
task_font_color = #e8e8e8 100
task_background_id = 2
task_active_background_id = 3
task_active_font_color = #ffffff 100

time1_format = %H:%M
time1_font = DejaVu Sans Bold 11
clock_font_color = #ffffff 100
clock_padding = 8 0

tooltip_show_timeout = 0.5
tooltip_hide_timeout = 0.1

${buttons}
`;
}

/**
 * Firefox set up for an agent: no first-run or what's-new pages, no telemetry, studies, update
 * checks or default-browser prompts, a blank start page. Its profile lives in the computer's home,
 * so it is the computer's own and goes with it.
 */
const FIREFOX_POLICIES = {
  policies: {
    DisableAppUpdate: true,
    AppAutoUpdate: false,
    DisableTelemetry: true,
    DisableFirefoxStudies: true,
    DisablePocket: true,
    DisableProfileImport: true,
    DisableSetDesktopBackground: true,
    DisableDefaultBrowserAgent: true,
    DontCheckDefaultBrowser: true,
    NoDefaultBookmarks: true,
    OverrideFirstRunPage: '',
    OverridePostUpdatePage: '',
    CaptivePortal: false,
    NetworkPrediction: false,
    PromptForDownloadLocation: false,
    Homepage: { URL: 'about:blank', StartPage: 'homepage', Locked: false },
    FirefoxHome: { Search: true, TopSites: false, SponsoredTopSites: false, Highlights: false, Pocket: false, SponsoredPocket: false, Snippets: false },
    UserMessaging: { WhatsNew: false, ExtensionRecommendations: false, FeatureRecommendations: false, UrlbarInterventions: false, SkipOnboarding: true, MoreFromMozilla: false },
    Preferences: {
      'browser.aboutwelcome.enabled': { Value: false, Status: 'locked' },
      'browser.startup.homepage_override.mstone': { Value: 'ignore', Status: 'locked' },
      'datareporting.policy.dataSubmissionPolicyBypassNotification': { Value: true, Status: 'locked' },
      'browser.tabs.warnOnClose': { Value: false, Status: 'default' },
      'browser.sessionstore.resume_from_crash': { Value: false, Status: 'locked' },
    },
  },
};

/** Which program opens what (xdg-open, and programs that ask the desktop). */
const MIMEAPPS = `[Default Applications]
x-scheme-handler/http=firefox-esr.desktop
x-scheme-handler/https=firefox-esr.desktop
text/html=firefox-esr.desktop
application/xhtml+xml=firefox-esr.desktop
text/plain=org.xfce.mousepad.desktop
application/pdf=mupdf.desktop
image/png=mupdf.desktop
image/jpeg=mupdf.desktop
inode/directory=pcmanfm.desktop
`;

/**
 * An ordinary light desktop from Debian packages: openbox (title bars), a tint2 panel at the bottom
 * with labelled launchers (Browser, Editor, Files, Terminal), the open windows and a clock, on a
 * plain blue background; Firefox ESR, Mousepad, PCManFM, xterm, and MuPDF for PDFs and images.
 */
export class StandardDesktop extends DesktopProfile {
  readonly name = 'standard';
  readonly description = 'openbox with a panel of labelled launchers (Browser, Editor, Files, Terminal) and a task list; Firefox ESR, Mousepad, PCManFM, xterm, MuPDF';
  readonly programs = {
    openbox: 'openbox',
    xterm: 'xterm',
    tint2: 'tint2',
    'firefox-esr': 'firefox-esr',
    mousepad: 'mousepad',
    pcmanfm: 'pcmanfm',
    mupdf: 'mupdf',
    'xdg-open': 'xdg-utils',
    xsetroot: 'x11-xserver-utils',
  };
  readonly session = `xsetroot -solid '#3b6e9e'; exec openbox --sm-disable --startup 'sh -c "while :; do tint2 -c /etc/cua-desktop/tint2rc; sleep 1; done"'`;
  readonly ready: DesktopReady = { kind: 'window-class', windowClass: 'tint2' };
  override readonly etcFiles = {
    'cua-desktop/tint2rc': tint2rc(),
    'firefox/policies/policies.json': `${JSON.stringify(FIREFOX_POLICIES, null, 2)}\n`,
  };
  override readonly homeFiles = { '.config/mimeapps.list': MIMEAPPS };
}
