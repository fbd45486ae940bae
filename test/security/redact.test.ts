import { describe, expect, it } from 'vitest';
import { bodyExcerpt, REDACTED, redactSecrets, redactUrl, secretsOf, urlSecrets } from '../../lib/log/redact.ts';

/** Issue 18: the one redaction every sink, error and log line goes through, case by case. */
const HOOK = 'https://ops:pa%24%24word-123@hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?sig=abcdef0123456789';

describe('redactSecrets', () => {
  it.each([
    ['user info and query of any URL', 'POST https://u:p@host.example/x?token=abc failed', `POST https://${REDACTED}@host.example/x?${REDACTED} failed`],
    ['an S3 presigned URL', 'GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=ff00', `GET https://b.s3.amazonaws.com/k?${REDACTED}`],
    ['signature shapes outside URLs', 'X-Amz-Signature=0123abcd Signature=' + 'a'.repeat(64), `X-Amz-Signature=${REDACTED} Signature=${REDACTED}`],
    ['bearer and basic values', 'Authorization: Bearer eyJhbGciOi.x.y and Basic dXNlcjpwYXNz', `Authorization: Bearer ${REDACTED} and Basic ${REDACTED}`],
    ['connection-string keys', 'AccountName=a;AccountKey=Zm9vYmFy==;EndpointSuffix=x', `AccountName=a;AccountKey=${REDACTED};EndpointSuffix=x`],
    ['a SAS URL', 'GET https://acct.blob.core.windows.net/c/blob?sv=2024&sig=abc%2Fdef ok', `GET https://acct.blob.core.windows.net/c/blob?${REDACTED} ok`],
    ['a bare sig= in text', 'sig=abc%2Fdef&se=2024', `sig=${REDACTED}&se=2024`],
    ['plain text and object keys are left alone', 'raw/agent/dt=2024-05-01/hour=13/x.ndjson.gz at s3://bucket/raw/', 'raw/agent/dt=2024-05-01/hour=13/x.ndjson.gz at s3://bucket/raw/'],
  ])('%s', (_why, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it('replaces every known secret, a URL whole before its parts', () => {
    const secrets = urlSecrets(HOOK);
    expect(redactSecrets(`failed: ${HOOK}`, secrets)).toBe(`failed: ${REDACTED}`);
    expect(redactSecrets('body echoed XXXXXXXXXXXXXXXXXXXXXXXX and pa$$word-123', secrets)).toBe(`body echoed ${REDACTED} and ${REDACTED}`);
    // Words of the path are not secrets; tokens are.
    expect(secrets).not.toContain('services');
    expect(urlSecrets('https://h.example/alerts')).toEqual(['https://h.example/alerts']);
  });

  it('takes the secret fields of the environment, not the dates and names around them', () => {
    const secrets = secretsOf([{ type: 'webhook', url: HOOK, secret_env: 'KEY' }], {
      KEY: 'hmac-signing-key',
      AZURE_STORAGE_SAS_TOKEN: 'sv=2024-08-04&ss=b&sig=c2lnbmF0dXJl%3D',
      AZURE_STORAGE_CONNECTION_STRING: 'AccountName=acct;AccountKey=a2V5a2V5a2V5;EndpointSuffix=core.windows.net',
      AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEBaaaaaaaa',
    });
    expect(secrets).toEqual(expect.arrayContaining(['hmac-signing-key', 'c2lnbmF0dXJl%3D', 'c2lnbmF0dXJl=', 'a2V5a2V5a2V5', 'FwoGZXIvYXdzEBaaaaaaaa', 'XXXXXXXXXXXXXXXXXXXXXXXX']));
    expect(secrets).not.toContain('2024-08-04');
    expect(secrets).not.toContain('core.windows.net');
  });
});

describe('redactUrl and bodyExcerpt', () => {
  it('keeps scheme and host of a webhook, drops user info, path and query', () => {
    expect(redactUrl(HOOK, { path: true })).toBe(`https://${REDACTED}@hooks.example.com/${REDACTED}?${REDACTED}`);
    expect(redactUrl('not a url')).toBe(REDACTED);
  });

  it('cuts a body to a short, redacted, single-line prefix', () => {
    const excerpt = bodyExcerpt(`denied ${'x'.repeat(500)}\n\u001b[31m`, []);
    expect(excerpt).toHaveLength(121);
    expect(excerpt).not.toMatch(/[\u0000-\u001f]/);
    expect(bodyExcerpt('token abcdefgh refused', ['abcdefgh'])).toBe(`token ${REDACTED} refused`);
  });
});
