// The browser tests' shared set-up: where the served page, Chromium and the
// screenshots are, how Chromium is launched, polling for a condition, and
// numbered screenshots. Each *.test.mjs file imports what it needs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// URL_ is the served playground (./build.sh test-browser sets LP_URL).
export const URL_ = process.env.LP_URL;
// ART is where screenshots and measured numbers land (not committed).
export const ART = process.env.LP_ARTIFACTS || path.join(HERE, '..', '..', 'test-artifacts', 'browser');
// CHROMIUM is Debian's chromium: browsers come from apt, never a download script.
export const CHROMIUM = process.env.LP_CHROMIUM || '/usr/bin/chromium';
// CHROMIUM_ARGS keep headless Chromium quiet and offline.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// checkEnvironment fails early, with what to do, when the page or Chromium
// is missing, and makes the artifacts folder.
export function checkEnvironment() {
  assert.ok(URL_, 'set LP_URL to the served playground (./build.sh test-browser does)');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(ART, { recursive: true });
}

// launchChromium checks the environment and starts headless Chromium.
export async function launchChromium() {
  checkEnvironment();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// waitFor polls probe until check accepts its value and returns it; on
// timeout it fails with message and the last value seen, so a failure says
// what the page showed instead of just "timed out".
export async function waitFor(probe, check, { timeout = 30000, interval = 100, message }) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (check(last)) return last;
    if (Date.now() > end) assert.fail(`${message} (waited ${timeout} ms; last value: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

// screenshots returns a function that saves numbered full-page screenshots
// as ART/<prefix>NN-<name>.png and returns the file's path.
export function screenshots(prefix) {
  let shot = 0;
  return async (page, name) => {
    shot++;
    const file = path.join(ART, `${prefix}${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}
