import { createHash, generateKeyPairSync, privateEncrypt, constants, type KeyObject } from 'node:crypto';

/**
 * BOINC's code signing (lib/crypt.cpp), which the client insists on for app-version files: a ≤1024-bit
 * RSA key printed as hex (modulus then exponent, 128 bytes each), and per file the PKCS#1 v1.5
 * private-key encryption of the file's md5 hex string.
 */
function hexLines(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 64) lines.push(hex.slice(i, i + 64));
  return `${lines.join('\n')}\n.\n`;
}

const leftPad = (bytes: Buffer, size: number) => Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);

export class CodeSigningKey {
  private readonly privateKey: KeyObject;
  /** The `<code_sign_key>` text. */
  readonly publicKeyText: string;

  constructor() {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 65537 });
    this.privateKey = privateKey;
    const jwk = privateKey.export({ format: 'jwk' });
    const n = leftPad(Buffer.from(jwk.n!, 'base64url'), 128);
    const e = leftPad(Buffer.from(jwk.e!, 'base64url'), 128);
    this.publicKeyText = `1024\n${hexLines(Buffer.concat([n, e]))}`;
  }

  /** The `<file_signature>` text for a file's bytes. */
  sign(bytes: Buffer): string {
    const md5 = createHash('md5').update(bytes).digest('hex');
    return hexLines(privateEncrypt({ key: this.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(md5, 'ascii')));
  }
}
