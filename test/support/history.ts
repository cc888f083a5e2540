/**
 * A workflow history as searchable text: every payload decoded (the server and the SDK carry them as
 * base64 or bytes), so that a test can look for a secret in what was actually stored.
 */
export function historyText(history: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown, key = ''): void => {
    if (v === null || v === undefined) return;
    if (v instanceof Uint8Array) {
      parts.push(Buffer.from(v).toString('utf8'));
      return;
    }
    if (typeof v === 'string') {
      parts.push(v);
      if (key === 'data' || key === 'encoding') parts.push(Buffer.from(v, 'base64').toString('utf8'));
      return;
    }
    if (typeof v !== 'object') {
      parts.push(String(v));
      return;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, k);
  };
  walk(history);
  return parts.join('\n');
}
