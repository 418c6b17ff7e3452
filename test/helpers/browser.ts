import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/test-setup.sh installs it); a browser is never downloaded. */
export const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(ROOT, 'test-results');

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface TestBrowser {
  context: BrowserContext;
  /** Content-Security-Policy violations and page errors seen so far. */
  problems: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh, throw-away profile, and the flags this machine needs
 * (no sandbox as root; no background networking, which the closed network refuses).
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'keyfob-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    viewport: { width: 1280, height: 800 },
  });
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    problems,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-results/ (ignored by git). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * Runs axe-core in the page. It is evaluated through the DevTools protocol, which the
 * page's CSP does not govern, so the CSP stays strict for the page's own scripts.
 * Returns the serious and critical violations.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const w = globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> } };
    const result = await w.axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A local "client app" callback: records every URL it is sent to. */
export async function startCallbackServer(): Promise<{ url: string; hits: URL[]; close(): Promise<void> }> {
  const hits: URL[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Client callback</title><h1>Client app callback</h1></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Pixels by which the page is wider than its viewport: 0 when nothing scrolls sideways. */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document;
    return Math.max(0, d.documentElement.scrollWidth - d.documentElement.clientWidth);
  });
}

/** The outline drawn around whatever has focus, and what that is. */
export async function focusOutline(page: Page): Promise<{ element: string; style: string; width: number; color: string }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { activeElement: { tagName: string; id: string; textContent: string | null } | null };
      getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string; outlineColor: string };
    };
    const el = g.document.activeElement;
    if (!el) return { element: '(none)', style: 'none', width: 0, color: '' };
    const s = g.getComputedStyle(el);
    const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} ${(el.textContent ?? '').trim().slice(0, 40)}`.trim();
    return { element: name, style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor };
  });
}

/**
 * What every page must pass wherever a test visits it: no serious or critical axe-core
 * violation, nothing wider than the viewport; and a screenshot under test-results/.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  const violations = await seriousA11yViolations(page);
  if (violations.length > 0) throw new Error(`${name} (${page.url()}): ${JSON.stringify(violations, null, 2)}`);
  const overflow = await horizontalOverflow(page);
  if (overflow > 0) throw new Error(`${name} (${page.url()}) scrolls sideways by ${overflow}px at ${page.viewportSize()?.width}px`);
}

/** Presses Tab until the element whose tag and text match `target` has focus (as focusOutline names it); fails if it never does. */
export async function tabTo(page: Page, target: RegExp, maxTabs = 30): Promise<void> {
  for (let i = 0; i < maxTabs; i += 1) {
    await page.keyboard.press('Tab');
    if (target.test((await focusOutline(page)).element)) return;
  }
  assert.fail(`Tab never reached ${target}`);
}

/** The focused element shows style.css's focus ring (a solid outline), not nothing. */
export async function assertVisibleFocus(page: Page): Promise<void> {
  const ring = await focusOutline(page);
  assert.equal(ring.style, 'solid', `focus on ${ring.element} is visible`);
  assert.ok(ring.width >= 2, `focus ring on ${ring.element} is ${ring.width}px wide`);
}
