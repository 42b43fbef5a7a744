import { existsSync } from 'node:fs';

/** Where the project finds a headless Chromium, and the one command that provides it. */
const CHROMIUM_INSTALL_HINT =
  'no headless Chromium: run `npm ci` (it installs @sparticuz/chromium, a Chromium shipped inside an npm package), ' +
  'or install a system one (`apt-get install chromium`), or set CHROMIUM_PATH';

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * A Chromium executable for the browser tests: CHROMIUM_PATH when set, else the one inside the @sparticuz/chromium
 * package (a headless build for Lambda that unpacks itself into the temp folder on first use; Linux only), else a
 * system Chromium. A machine with none fails with CHROMIUM_INSTALL_HINT: the tests that need a browser never skip.
 */
export async function headlessChromium(): Promise<string> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist; ${CHROMIUM_INSTALL_HINT}`);
    return fromEnv;
  }
  try {
    const { default: packaged } = await import('@sparticuz/chromium');
    return await packaged.executablePath();
  } catch {
    const system = SYSTEM_CHROMIUMS.find((path) => existsSync(path));
    if (system) return system;
    throw new Error(CHROMIUM_INSTALL_HINT);
  }
}
