/** EC2 refuses user data above 16 KB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

interface BakeUserDataValues {
  bundleUrl: string;
  bundleSha256: string;
  resultUrl: string;
}

export class UserDataTooLargeError extends Error {
  override readonly name = 'UserDataTooLargeError';
}

/**
 * The builder's user data: a prelude exporting the values, then userdata/bake-ami.sh (the same shape as the
 * web instances' user data). Values are single-quoted: presigned URLs are full of `&` and `%`.
 */
export function bakeUserData(script: string, values: BakeUserDataValues): string {
  const prelude = [
    '#!/bin/bash',
    `export BUNDLE_URL=${shellQuote(values.bundleUrl)}`,
    `export BUNDLE_SHA256=${shellQuote(values.bundleSha256)}`,
    `export RESULT_URL=${shellQuote(values.resultUrl)}`,
    '',
  ].join('\n');
  const userData = prelude + script;
  const bytes = Buffer.byteLength(userData);
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new UserDataTooLargeError(
      `builder user data is ${bytes} bytes, EC2 accepts ${USER_DATA_LIMIT_BYTES}`,
    );
  }
  return userData;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}
