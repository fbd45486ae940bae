/**
 * The one redaction every sink, error and log line goes through. Secrets never live in the
 * configuration file, but they still reach text: a webhook URL is a bearer secret (Slack, Teams
 * and most chat hooks carry the token in the path; others use user info or a signed query), an
 * HTTP error body may echo the token it refused, and an SDK error may quote a signed URL.
 */
export const REDACTED = '…redacted…';

/** Known secret values shorter than this are not searched for in text (they would match by chance). */
const MIN_SECRET_LENGTH = 6;

/** Shapes that carry a credential whatever its value: signed-request parts, bearer tokens, connection-string keys. */
const CREDENTIAL_SHAPES: readonly [RegExp, string][] = [
  [/\b(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, `$1${REDACTED}`],
  [/\b(Signature=)[0-9a-f]{32,}/gi, `$1${REDACTED}`],
  [/\b(Credential=)[A-Z0-9]{8,}[^\s,"']*/g, `$1${REDACTED}`],
  [/\b(sig=)[^&\s"']+/gi, `$1${REDACTED}`],
  [/\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+/g, `$1${REDACTED}`],
  [/\b(AccountKey=|SharedAccessSignature=)[^;\s"']+/g, `$1${REDACTED}`],
];

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * Text made safe to log, store or print: every known secret value replaced, every URL's user info
 * and query string removed, and credential shapes (signatures, bearer tokens, account keys) cut.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so that a URL is replaced whole before its parts.
  for (const secret of [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  out = out.replace(URL_IN_TEXT, (url) => redactUrl(url));
  for (const [shape, replacement] of CREDENTIAL_SHAPES) out = out.replace(shape, replacement);
  return out;
}

/**
 * A URL without what works as a credential: user info and query string always, the path too when
 * `path` is set (a webhook's). Text that is not a URL is redacted whole.
 */
export function redactUrl(text: string, options: { path?: boolean } = {}): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return REDACTED;
  }
  if (!url.host) return text.replace(/[?#].*$/, (rest) => (rest ? `?${REDACTED}` : ''));
  const credentials = url.username || url.password ? `${REDACTED}@` : '';
  const pathPart = options.path && url.pathname !== '/' ? `/${REDACTED}` : url.pathname === '/' && !text.replace(/[?#].*$/, '').endsWith('/') ? '' : url.pathname;
  const query = url.search ? `?${REDACTED}` : '';
  return `${url.protocol}//${credentials}${url.host}${pathPart}${query}`;
}

/** The parts of a URL that work as a credential, as text to search for: the URL, its user info, path, query and each query value. */
export function urlSecrets(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [text];
  }
  const parts = [text, url.username, url.password, safeDecode(url.username), safeDecode(url.password), url.search.slice(1), ...url.searchParams.values()];
  // The path whole and its segments, when long enough to be tokens rather than words (`/alerts`,
  // `services`), which would otherwise be cut out of every logged object key.
  parts.push(...[url.pathname, ...url.pathname.split('/')].filter((part) => part.length >= 12));
  return parts.filter((part) => part.length >= MIN_SECRET_LENGTH);
}

/** A response body as an error may quote it: redacted, control characters as spaces, at most `max` characters. */
export function bodyExcerpt(body: string, secrets: readonly string[] = [], max = 120): string {
  const flat = redactSecrets(body, secrets)
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Environment variables whose values are credentials of the stores (read by the SDKs' chains). */
const CREDENTIAL_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN', 'AZURE_STORAGE_CONNECTION_STRING'];
/** The fields of a SAS token or a connection string that are secrets (the others are dates, names, permissions). */
const SECRET_FIELDS = new Set(['sig', 'AccountKey', 'SharedAccessSignature']);

/**
 * Every secret value a run can hold: the store credentials in the environment (and the parts of
 * a SAS token or connection string), each webhook sink's URL parts and its signing key.
 */
export function secretsOf(sinks: readonly { type: string; url?: string; secret_env?: string | undefined }[], env: NodeJS.ProcessEnv): string[] {
  const secrets: string[] = [];
  for (const name of CREDENTIAL_ENV) {
    const value = env[name];
    if (!value) continue;
    secrets.push(value);
    for (const part of value.split(/[;&]/)) {
      const eq = part.indexOf('=');
      if (eq > 0 && SECRET_FIELDS.has(part.slice(0, eq).replace(/^\?/, ''))) secrets.push(part.slice(eq + 1), safeDecode(part.slice(eq + 1)));
    }
  }
  for (const sink of sinks) {
    if (sink.url) secrets.push(...urlSecrets(sink.url));
    const key = sink.secret_env ? env[sink.secret_env] : undefined;
    if (key) secrets.push(key);
  }
  return secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
