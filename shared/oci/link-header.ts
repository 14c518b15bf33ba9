/** Extracts the target of the `rel="next"` link from an RFC 8288 `Link` header, or undefined. */
export function nextLink(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const values = Array.isArray(header) ? header : [header];
  for (const value of values) {
    // Split on commas that start a new link-value (a comma followed by optional space and '<').
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
      if (!m) continue;
      const params = m[2] ?? '';
      const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
      const relValue = rel?.[1] ?? rel?.[2];
      if (relValue?.split(/\s+/).some((r) => r.toLowerCase() === 'next')) return m[1];
    }
  }
  return undefined;
}
